"""Ctrl-C and SIGTERM stop everything the demo started.

Python turns SIGINT into KeyboardInterrupt, which unwinds the demo's exit stacks (gateway, supervisor, model
processes). SIGTERM's default action ends the process at once with no unwinding, which would orphan the model
processes (they run in sessions of their own, so a terminal's Ctrl-C or a kill of the demo never reaches
them); `stop_signals` makes SIGTERM take the same unwinding path. A native library (OR-Tools' CP-SAT) may
install its own SIGINT handler while it solves; `reclaim_sigint` gives SIGINT back to Python afterwards.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where KeyboardInterrupt would be so the same cleanup runs."""


def _stop(signum: int, _frame: FrameType | None) -> None:
    # A second Ctrl-C while the first one's cleanup stops the processes would abandon them half-way: the
    # first signal starts the cleanup and later ones are ignored until the block is left.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(f"signal {signal.Signals(signum).name}")


def reclaim_sigint() -> None:
    """Give SIGINT back to Python (after a native library took it), keeping the demo's handler if it set one."""
    if threading.current_thread() is not threading.main_thread():
        return
    current = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, current if callable(current) else signal.default_int_handler)


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise (a subclass of) KeyboardInterrupt; handlers restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread; a test runner's worker thread cannot
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
