"""Starting, checking and stopping one replica process of the local backend (POSIX)."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

STOP_GRACE = 5.0
_POLL = 0.05

# Children this Python process started, by pid: polling them through Popen keeps Popen's own bookkeeping
# right (no "still running" warnings, no zombies), whichever LocalDeployer instance asks.
_children: dict[int, subprocess.Popen[bytes]] = {}
# How our children ended (Popen's convention: negative = killed by that signal), for failure reports.
_exit_codes: dict[int, int] = {}


def free_port(preferred: int | None = None) -> int:
    """A port nobody listens on right now; the replica binds it moments later (a small, accepted race).

    `preferred` (the port a replica had before) is taken when still free, so restarts keep addresses stable.
    """
    for candidate in (preferred, 0):
        if candidate is None:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As servers bind (uvicorn, http.server): a port whose last owner died and left connections in
            # TIME_WAIT is free for them, so a restarted replica can keep its address.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise OSError("no free local port")


def spawn(command: Sequence[str], env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start the command in its own session, so stopping its process group also stops its children."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"--- rohe starts {list(command)} at {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode())
        log.flush()
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
            start_new_session=True,
        )
    _children[process.pid] = process
    return process


def create_time(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def is_alive(pid: int, started: float | None) -> bool:
    """Alive and the same process rohe started: a recycled pid has a different start time."""
    if pid <= 0:
        return False
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        _children.pop(pid, None)  # pop, not del: the supervisor thread may have got here first
        _exit_codes[pid] = int(child.returncode)
        return False
    try:
        process = psutil.Process(pid)
        if started is not None and abs(process.create_time() - started) > 0.5:
            return False
        if process.status() == psutil.STATUS_ZOMBIE:
            _reap(pid)
            return False
        return True
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def exit_code(pid: int) -> int | None:
    """How a child this process started ended (negative: the signal that killed it); None if unknown."""
    return _exit_codes.get(pid)


def _reap(pid: int) -> None:
    # Only possible for our own children; for others the real parent (or init) reaps them.
    child = _children.pop(pid, None)
    if child is not None:
        # Called for a zombie or a process already gone, so waiting returns at once; unlike poll() it
        # cannot come back empty-handed when another thread happens to be polling the same child.
        with contextlib.suppress(subprocess.TimeoutExpired):
            _exit_codes[pid] = int(child.wait(timeout=1.0))
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def wait_healthy(pid: int, started: float | None, port: int, deadline: float) -> str:
    """ "running" once the port accepts connections (and /health, if HTTP, answers 2xx or 404); else
    "exited" if the process died, "unhealthy" at the deadline."""
    while True:
        if not is_alive(pid, started):
            return "exited"
        if _answers(port, max(0.2, min(2.0, deadline - time.monotonic()))):
            return "running"
        if time.monotonic() >= deadline:
            return "unhealthy"
        time.sleep(_POLL)


def _answers(port: int, timeout: float) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            pass
    except OSError:
        return False
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/health")
        status = connection.getresponse().status
    except (http.client.HTTPException, OSError):
        return True  # accepts TCP but does not speak HTTP: the port is all we can check
    finally:
        connection.close()
    return 200 <= status < 300 or status == 404


def stop(pid: int, started: float | None, grace: float = STOP_GRACE) -> None:
    """SIGTERM the process group, SIGKILL whatever is left after `grace` seconds, reap our children."""
    if not is_alive(pid, started):
        return
    try:
        leader = psutil.Process(pid)
        members = [leader, *leader.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    _signal_all(pid, members, signal.SIGTERM)
    alive = _wait_gone(members, grace)
    if alive:
        _signal_all(pid, alive, signal.SIGKILL)
        _wait_gone(alive, grace)
    _reap(pid)


def _wait_gone(members: Sequence[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until every member has exited; the ones still running at the timeout are returned.

    A zombie counts as gone: it runs nothing, and an orphan's zombie lingers until init gets round to it.
    """
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for member in members:
            try:
                if member.status() == psutil.STATUS_ZOMBIE:
                    _reap(member.pid)
                else:
                    alive.append(member)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(_POLL)


def _signal_all(group: int, members: Sequence[psutil.Process], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, sig)
    # Children that left the group (setsid of their own) still get the signal directly.
    for member in members:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            member.send_signal(sig)
