"""Waiting for the CLI processes the race tests start."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

# Starts `rohe orchestration ARGS...` (keyword arguments: extra environment) and returns the process.
Cli = Callable[..., subprocess.Popen[str]]


def finish(process: subprocess.Popen[str], timeout: float = 600) -> str:
    """Wait for a CLI process; its output, or a failed test naming the command and its stderr."""
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"{process.args} exited {process.returncode}:\n{out}\n{err}"
    return out
