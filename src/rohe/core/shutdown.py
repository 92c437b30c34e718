"""Graceful stop on SIGTERM for processes that serve with uvicorn.

uvicorn catches SIGTERM, shuts its server down, then raises the signal again once it is done. With the default
handler that kills the process before anything after `run()` executes; turned into SystemExit instead, it
unwinds the caller's `with` blocks, so probes drain and agents store their last window.
"""

from __future__ import annotations

import signal


def exit_cleanly_on_sigterm() -> None:
    signal.signal(signal.SIGTERM, _raise_system_exit)


def _raise_system_exit(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)
