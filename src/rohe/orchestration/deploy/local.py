"""The embedded default backend: every placed replica runs as a local process (POSIX only).

State lives in `state_dir/local-processes.json` (pid, start time, port, command per replica), so a restarted
rohe finds the processes an earlier run started; the start time guards against a recycled pid being taken
for ours. `supervise()` adds a thread that restarts a replica process that died, on the same port.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rohe.core.domain import Replica, Service
from rohe.core.errors import Problem, RoheError
from rohe.orchestration.deploy import local_process
from rohe.orchestration.deploy.command import substitute
from rohe.orchestration.deploy.plan import PlacedReplica, placed_replicas

log = logging.getLogger(__name__)

STATE_FILE = "local-processes.json"
EVENTS_FILE = "supervisor-events.jsonl"
SKIPPED = "skipped: no command"
# Statuses of a process the supervisor keeps alive; "exited" at start-up means a broken command, not a crash.
SUPERVISED = frozenset({"running", "unhealthy", "restarting"})
# Without a port there is nothing to probe; a short look still catches commands that exit at once.
SETTLE_SECONDS = 0.5


@dataclass
class LocalReplicaProcess:
    service: str
    index: int
    node: str
    pid: int
    port: int | None
    status: str  # "running" | "exited" | "unhealthy" | "skipped: no command" | "failed: <why>"


@dataclass
class _Record:
    service: str
    index: int
    node: str
    pid: int
    port: int | None
    started: float | None
    fingerprint: str
    status: str
    # What it was started with, so a supervisor can start it again without the service definition.
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    restarts: int = 0

    @property
    def key(self) -> tuple[str, int]:
        return (self.service, self.index)

    def public(self, status: str | None = None) -> LocalReplicaProcess:
        return LocalReplicaProcess(self.service, self.index, self.node, self.pid, self.port, status or self.status)


@dataclass(frozen=True)
class SupervisorEvent:
    """Something the supervisor saw or did. kind: died | restarted | healthy | restart failed | gave up."""

    at: float  # Unix time
    kind: str
    service: str
    index: int
    node: str
    pid: int
    port: int | None
    exit_code: int | None = None  # negative: killed by that signal
    restarts: int = 0
    detail: str = ""


EventCallback = Callable[[SupervisorEvent], None]


def _fingerprint(service: Service) -> str:
    """What a running process was started from; a change means it must be restarted to take effect."""
    spec = {"command": service.command, "env": service.env, "ports": service.ports, "application": service.application}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def _wants_port(service: Service) -> bool:
    return bool(service.ports) or any("{port}" in argument for argument in service.command or [])


class LocalDeployer:
    def __init__(self, state_dir: Path, health_timeout: float = 10.0) -> None:
        self.state_dir = Path(state_dir)
        self.health_timeout = health_timeout
        self._supervisor: threading.Thread | None = None
        self._stop_supervisor = threading.Event()
        self._restart_due: dict[tuple[str, int], float] = {}

    @property
    def state_file(self) -> Path:
        return self.state_dir / STATE_FILE

    def log_path(self, service: str, index: int) -> Path:
        return self.state_dir / "logs" / f"{service}-{index}.log"

    def apply(self, services: Sequence[Service], replicas: Sequence[Replica]) -> list[LocalReplicaProcess]:
        """Converge the local processes on the placed replicas; calling it again with the same plan is a no-op.

        Processes whose replica is gone, moved to another node or whose service definition changed are
        stopped; placed replicas without a live process are started and health-checked. Unhealthy processes
        are left running for inspection (their log is in `state_dir/logs/`).
        """
        desired = {(item.service.name, item.index): item for item in placed_replicas(services, replicas)}
        with self._locked():
            kept: dict[tuple[str, int], _Record] = {}
            previous_ports: dict[tuple[str, int], int | None] = {}
            for record in self._load():
                want = desired.get(record.key)
                alive = local_process.is_alive(record.pid, record.started)
                if (
                    want is not None
                    and alive
                    and record.key not in kept
                    and want.node == record.node
                    and _fingerprint(want.service) == record.fingerprint
                ):
                    kept[record.key] = record
                else:
                    if alive:
                        local_process.stop(record.pid, record.started)
                    previous_ports[record.key] = record.port
            results: dict[tuple[str, int], LocalReplicaProcess] = {}
            fresh: list[_Record] = []
            for key, want in desired.items():
                if key in kept:
                    continue
                outcome = self._start(want, previous_ports.get(key))
                if isinstance(outcome, _Record):
                    fresh.append(outcome)
                else:
                    results[key] = outcome
            self._check_health(fresh)
            for record in kept.values():
                if record.status == "unhealthy" and record.port is not None:
                    record.status = self._probe(record)
            records = sorted([*kept.values(), *fresh], key=lambda r: r.key)
            self._save(records)
        for record in records:
            results[record.key] = record.public()
        return [results[key] for key in sorted(results)]

    def status(self) -> list[LocalReplicaProcess]:
        """The processes rohe started, with their current state (a dead one reads "exited")."""
        with self._locked():
            records = self._load()
        report = []
        for record in records:
            if record.status.startswith("failed"):
                report.append(record.public())  # what the supervisor concluded says more than "exited"
            elif not local_process.is_alive(record.pid, record.started):
                report.append(record.public("exited"))
            elif record.status == "unhealthy" and record.port is not None:
                report.append(record.public(self._probe(record)))
            else:
                report.append(record.public())
        return report

    def stop_all(self) -> None:
        """Stop every process rohe started (SIGTERM, then SIGKILL after a grace period) and forget them."""
        self.stop_supervising()
        with self._locked():
            for record in self._load():
                local_process.stop(record.pid, record.started)
            self._save([])

    def supervise(
        self,
        *,
        interval: float = 0.5,
        max_restarts: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        on_event: EventCallback | None = None,
    ) -> None:
        """Watch the started processes from a background thread; restart one that died on its old port.

        A death is recorded at once (time, exit code); the restart follows after `backoff` seconds,
        doubling with each restart of that replica up to `max_backoff`. After `max_restarts` restarts the
        replica is left dead with status "failed: ...". Events go to `state_dir/supervisor-events.jsonl`
        and to `on_event` (called from the supervisor thread).
        """
        if self._supervisor is not None and self._supervisor.is_alive():
            return
        self._stop_supervisor.clear()

        def loop() -> None:
            while not self._stop_supervisor.wait(interval):
                try:
                    for event in self.supervise_once(max_restarts, backoff, max_backoff):
                        if on_event is not None:
                            on_event(event)
                except Exception:  # one bad round (unreadable state, a callback's bug) must not end supervision
                    log.exception("local supervisor round failed")

        self._supervisor = threading.Thread(target=loop, name="rohe-local-supervisor", daemon=True)
        self._supervisor.start()

    def stop_supervising(self, timeout: float = 30.0) -> None:
        if self._supervisor is not None:
            self._stop_supervisor.set()
            self._supervisor.join(timeout)
            self._supervisor = None

    def events(self) -> list[SupervisorEvent]:
        """Every event the supervisors of this state directory recorded, oldest first."""
        try:
            lines = (self.state_dir / EVENTS_FILE).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [SupervisorEvent(**json.loads(line)) for line in lines if line.strip()]

    def supervise_once(
        self, max_restarts: int = 5, backoff: float = 0.5, max_backoff: float = 10.0
    ) -> list[SupervisorEvent]:
        """One supervision round (what the thread runs every interval): note deaths, restart those due."""
        events: list[SupervisorEvent] = []
        restarted: list[_Record] = []
        now = time.monotonic()
        with self._locked():
            records = self._load()
            changed = False
            for record in records:
                if record.status not in SUPERVISED or not record.command:
                    continue
                if local_process.is_alive(record.pid, record.started):
                    self._restart_due.pop(record.key, None)
                    continue
                due = self._restart_due.get(record.key)
                if due is None:
                    code = local_process.exit_code(record.pid)
                    events.append(_event("died", record, exit_code=code))
                    if record.restarts >= max_restarts:
                        record.status = f"failed: gave up after {record.restarts} restarts"
                        events.append(_event("gave up", record, detail=record.status))
                        changed = True
                    else:
                        self._restart_due[record.key] = now + min(max_backoff, backoff * 2**record.restarts)
                    continue
                if now < due:
                    continue
                del self._restart_due[record.key]
                changed = True
                record.restarts += 1
                try:
                    process = local_process.spawn(record.command, record.env, self.log_path(*record.key))
                except OSError as exc:
                    events.append(_event("restart failed", record, detail=str(exc)))
                    continue  # still "running" with a dead pid: noticed again next round, with more backoff
                record.pid, record.started = process.pid, local_process.create_time(process.pid)
                record.status = "restarting"
                events.append(_event("restarted", record))
                restarted.append(record)
            if changed:
                self._save(records)
        self._log_events(events)
        checked = [self._check_restarted(record) for record in restarted]
        self._log_events(checked)
        return events + checked

    def _check_restarted(self, record: _Record) -> SupervisorEvent:
        # Outside the lock: a model service may take seconds to load, and apply()/status() must not wait.
        deadline = time.monotonic() + self.health_timeout
        if record.port is not None:
            status = local_process.wait_healthy(record.pid, record.started, record.port, deadline)
        else:
            time.sleep(min(SETTLE_SECONDS, self.health_timeout))
            status = "running" if local_process.is_alive(record.pid, record.started) else "exited"
        with self._locked():
            records = self._load()
            for current in records:
                if current.key == record.key and current.pid == record.pid:
                    # An exited restart stays supervised: the next round notices it and backs off further.
                    current.status = "running" if status == "exited" else status
            self._save(records)
        kind = "healthy" if status == "running" else "restart failed"
        return _event(kind, record, detail=status)

    def _log_events(self, events: Sequence[SupervisorEvent]) -> None:
        if not events:
            return
        with (self.state_dir / EVENTS_FILE).open("a", encoding="utf-8") as handle:
            for event in events:
                handle.write(json.dumps(asdict(event)) + "\n")

    def _start(self, want: PlacedReplica, previous_port: int | None) -> _Record | LocalReplicaProcess:
        service = want.service
        if not service.command:
            return LocalReplicaProcess(service.name, want.index, want.node, 0, None, SKIPPED)
        port = local_process.free_port(previous_port) if _wants_port(service) else None
        values = {
            "port": str(port or ""),
            "host": "127.0.0.1",  # local replicas are reached on loopback only
            "node": want.node,
            "service": service.name,
            "replica": str(want.index),
            # the interpreter running rohe, so a service written in Python needs no `python` on PATH
            "python": sys.executable,
        }
        env = {
            **service.env,
            "ROHE_SERVICE": service.name,
            "ROHE_APPLICATION": service.application,
            "ROHE_REPLICA": str(want.index),
            "ROHE_NODE": want.node,
        }
        if port is not None:
            env["ROHE_PORT"] = str(port)
        command = substitute(service.command, values)
        try:
            process = local_process.spawn(command, env, self.log_path(service.name, want.index))
        except OSError as exc:
            reason = f"failed: cannot start {command[0]!r}: {exc.strerror or exc}"
            return LocalReplicaProcess(service.name, want.index, want.node, 0, port, reason)
        return _Record(
            service.name,
            want.index,
            want.node,
            process.pid,
            port,
            local_process.create_time(process.pid),
            _fingerprint(service),
            "running",
            command,
            env,
        )

    def _check_health(self, fresh: Sequence[_Record]) -> None:
        # One deadline for the whole batch: all processes boot in parallel, so waiting is bounded by the
        # slowest one rather than the sum.
        deadline = time.monotonic() + self.health_timeout
        for record in fresh:
            if record.port is not None:
                record.status = local_process.wait_healthy(record.pid, record.started, record.port, deadline)
        unprobed = [record for record in fresh if record.port is None]
        if unprobed:
            time.sleep(min(SETTLE_SECONDS, self.health_timeout))
            for record in unprobed:
                alive = local_process.is_alive(record.pid, record.started)
                record.status = "running" if alive else "exited"

    def _probe(self, record: _Record) -> str:
        """One quick health look, no waiting: for replicas that were unhealthy on an earlier check."""
        if record.port is None:
            return record.status
        return local_process.wait_healthy(record.pid, record.started, record.port, time.monotonic())

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # The CLI, the API server and the agent may all deploy; one at a time per state directory.
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with (self.state_dir / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _load(self) -> list[_Record]:
        try:
            document: Any = json.loads(self.state_file.read_text(encoding="utf-8"))
            return [_Record(**entry) for entry in document["processes"]]
        except FileNotFoundError:
            return []
        except (ValueError, KeyError, TypeError) as exc:
            raise RoheError(
                f"the local process state {self.state_file} is unreadable",
                [Problem(str(self.state_file), str(exc), "stop the replica processes by hand, then delete this file")],
            ) from None

    def _save(self, records: Sequence[_Record]) -> None:
        document = {"version": 1, "processes": [asdict(record) for record in records]}
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(document, indent=2), encoding="utf-8")
        os.replace(temporary, self.state_file)


def _event(kind: str, record: _Record, *, exit_code: int | None = None, detail: str = "") -> SupervisorEvent:
    return SupervisorEvent(
        time.time(),
        kind,
        record.service,
        record.index,
        record.node,
        record.pid,
        record.port,
        exit_code,
        record.restarts,
        detail,
    )
