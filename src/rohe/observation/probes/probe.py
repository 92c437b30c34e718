"""The probe: a ReportSink whose `submit` never blocks, sending batches from its own thread and event loop."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import inspect
import logging
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from rohe.core.errors import Conflict, InvalidInput, Problem
from rohe.observation.buffer import ReportBuffer
from rohe.observation.probes.reporting import feedback_report, member_report, request_report
from rohe.observation.probes.resources import ResourceSampler, resource_report
from rohe.observation.probes.scope import ReportOrigin, RequestScope, StageTimer, request_scope
from rohe.observation.reports import Report, RequestStatus
from rohe.observation.transports import _UNSAFE, Transport, channel_name, shared_in_process

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_SPILL_DIR = Path(tempfile.gettempdir()) / "rohe-probe-spill"
_spill_paths_in_use: set[Path] = set()
_spill_lock = threading.Lock()


@dataclass(frozen=True)
class ProbeStats:
    submitted: int
    sent: int
    failures: int
    backlog: int
    spilled_total: int


class Probe:
    """Collects reports for one app run and delivers them through `transport` without ever blocking the caller.

    `submit` appends to an in-memory intake; a background thread with its own asyncio loop moves reports into a
    ReportBuffer that batches, publishes, and on failure keeps the batch, backs off and resends (spilling to
    `spill_dir` beyond `max_in_memory`). Nothing is lost; consumers de-duplicate by report_id. The probe owns its
    transport and closes it; subscribe through a separate transport object (the in-process default is shared).
    """

    def __init__(self, app: str, run: str = "default", *, transport: Transport | None = None,
                 service: str | None = None, node: str | None = None, batch_size: int = 100,
                 flush_interval_s: float = 0.05, max_in_memory: int = 10_000, spill_dir: Path | None = None,
                 retry_delay_s: float = 0.2, max_retry_delay_s: float = 1.0,
                 resource_interval_s: float | None = None) -> None:
        problems = [Problem(name, "must be greater than 0", "use e.g. 0.05") for name, value in
                    (("flush_interval_s", flush_interval_s), ("retry_delay_s", retry_delay_s)) if value <= 0]
        if resource_interval_s is not None and resource_interval_s <= 0:
            problems.append(Problem("resource_interval_s", "must be greater than 0", "use e.g. 5, or leave unset"))
        channel = channel_name(app, run, ".")  # validates app and run
        if problems:
            raise InvalidInput("invalid probe settings", problems)
        self.origin = ReportOrigin(app, run, service, node)
        self.transport = transport if transport is not None else shared_in_process(channel)
        who = "-".join(_UNSAFE.sub("_", part) for part in (service or "probe", node) if part)
        self.spill_path = ((spill_dir or DEFAULT_SPILL_DIR) / f"{channel}-{who}.jsonl").resolve()
        with _spill_lock:
            if self.spill_path in _spill_paths_in_use:
                raise Conflict("spill file in use", [Problem(
                    "spill_dir", f"another probe of this process already spills to {self.spill_path}",
                    "give each probe its own service/node name or spill_dir")])
            _spill_paths_in_use.add(self.spill_path)
        try:
            self.spill_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            with _spill_lock:
                _spill_paths_in_use.discard(self.spill_path)
            where = f"{self.spill_path.parent}: {exc.strerror or exc}"
            raise InvalidInput("cannot create the probe's spill directory",
                               [Problem("spill_dir", where, "pass a writable spill_dir")]) from None
        self._interval, self._batch_size = flush_interval_s, batch_size
        self._intake: deque[Report] = deque()
        self._wake_pending = False
        self._closed = False
        self._late_lock = threading.Lock()
        self.submitted = 0
        self._loop = asyncio.new_event_loop()
        self._buffer = ReportBuffer(self.transport, self.spill_path, batch_size=batch_size,
                                    max_in_memory=max_in_memory, flush_interval=flush_interval_s,
                                    retry_delay=retry_delay_s, max_retry_delay=max_retry_delay_s)
        started = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(started,), name=f"rohe-probe-{app}", daemon=True)
        self._thread.start()
        started.wait()
        self._sampler: ResourceSampler | None = None
        if resource_interval_s is not None:
            self._sampler = ResourceSampler(self, self.origin, resource_interval_s)
            self._sampler.start()
        atexit.register(self._close_at_exit)

    # --- the ReportSink side -------------------------------------------------------------------------------------

    def submit(self, report: Report) -> None:
        """Queue one report; returns at once whatever the transport's state. After close it goes to the spill
        file, so the next probe on the same spill path resends it."""
        with self._late_lock:  # uncontended almost always; it orders submits against close's final drain
            self.submitted += 1
            if self._closed:
                self._spill([report])
                return
            self._intake.append(report)
        if len(self._intake) >= self._batch_size and not self._wake_pending:
            self._wake_pending = True
            with contextlib.suppress(RuntimeError):  # loop already stopping: the close path drains the intake
                self._loop.call_soon_threadsafe(self._flush_intake, True)

    @property
    def stats(self) -> ProbeStats:
        buffer = self._buffer
        return ProbeStats(self.submitted, buffer.sent, buffer.failures, buffer.backlog + len(self._intake),
                          buffer.spilled_total)

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued (waiting at most `timeout` s); what is still unsent is kept in the spill file."""
        if self._closed:
            return
        if self._sampler is not None:
            self._sampler.stop()
        atexit.unregister(self._close_at_exit)
        future = asyncio.run_coroutine_threadsafe(self._shutdown(timeout), self._loop)
        try:
            future.result(timeout + 10)
        except Exception as exc:  # closing must not raise into the caller's shutdown path
            log.warning("probe %s did not close cleanly: %s", self.origin.app, exc)
        with self._late_lock:
            self._closed = True
            leftover = list(self._intake)
            self._intake.clear()
            if leftover:
                self._spill(leftover)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        with _spill_lock:
            _spill_paths_in_use.discard(self.spill_path)

    def _spill(self, reports: list[Report]) -> None:
        with self.spill_path.open("a", encoding="utf-8") as spill:
            spill.writelines(report.model_dump_json(exclude_none=True) + "\n" for report in reports)

    def __enter__(self) -> Probe:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- instrumentation helpers ---------------------------------------------------------------------------------

    def scope(self, **fields: Any) -> contextlib.AbstractContextManager[RequestScope]:
        """Open a request scope: `stage` timings and `annotate` fields inside it go into `request()`'s report."""
        return request_scope(**fields)

    def stage(self, name: str) -> StageTimer:
        """`with probe.stage("preprocessing"):` times the block into the open request scope. Outside a scope the
        timing is sent at once as its own REQUEST report (attribute standalone=true)."""
        return StageTimer(name, self._standalone_stage)

    def measure(self, stage: str | None = None) -> Callable[[F], F]:
        """Decorator timing every call of a sync or async function as `stage` (default: its qualified name)."""

        def decorate(function: F) -> F:
            name = stage or function.__qualname__
            if inspect.iscoroutinefunction(function):
                @functools.wraps(function)
                async def timed_async(*args: Any, **kwargs: Any) -> Any:
                    with self.stage(name):
                        return await function(*args, **kwargs)

                return cast(F, timed_async)

            @functools.wraps(function)
            def timed(*args: Any, **kwargs: Any) -> Any:
                with self.stage(name):
                    return function(*args, **kwargs)

            return cast(F, timed)

        return decorate

    def request(self, *, request_id: str | None = None, consumer: str | None = None,
                status: RequestStatus | str | None = None, predicted_class: object | None = None,
                confidence: float | None = None, members: Iterable[str] = (), late: Iterable[str] = (),
                cost: float | None = None, end_to_end_ms: float | None = None,
                stage_latency_ms: Mapping[str, float] | None = None, attributes: Mapping[str, object] | None = None,
                model_id: str | None = None) -> Report:
        """Build and submit the aggregated REQUEST report; values not given come from the open request scope
        (its stage timings, `annotate`d fields, elapsed time as end_to_end_ms). Returns the report."""
        report = request_report(
            self.origin, request_id=request_id, consumer=consumer, status=status, predicted_class=predicted_class,
            confidence=confidence, members=members, late=late, cost=cost, end_to_end_ms=end_to_end_ms,
            stage_latency_ms=stage_latency_ms, attributes=attributes, model_id=model_id)
        self.submit(report)
        return report

    def member(self, model_id: str, *, request_id: str | None, consumer: str | None = None,
               predicted_class: object | None = None, confidence: float | None = None,
               inference_ms: float | None = None, answered: bool = True,
               attributes: Mapping[str, object] | None = None) -> Report:
        """Build and submit one ensemble member's REQUEST report (status error when it did not answer)."""
        report = member_report(self.origin, model_id, request_id=request_id, consumer=consumer,
                               predicted_class=predicted_class, confidence=confidence, inference_ms=inference_ms,
                               answered=answered, attributes=attributes)
        self.submit(report)
        return report

    def feedback(self, request_id: str, true_class: object, consumer: str | None = None) -> Report:
        """Build and submit a FEEDBACK report: the ground truth of an earlier request."""
        report = feedback_report(self.origin, request_id, true_class, consumer)
        self.submit(report)
        return report

    def resource(self, cpu: float, memory: float, gpu: float = 0.0,
                 attributes: Mapping[str, object] | None = None) -> Report:
        """Submit one RESOURCE report (the resource sampler does this periodically)."""
        report = resource_report(self.origin, cpu, memory, gpu, attributes)
        self.submit(report)
        return report

    # --- the sender thread ---------------------------------------------------------------------------------------

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(started.set)
        self._loop.call_soon(self._buffer.start)
        pump = self._loop.create_task(self._pump(), name="rohe-probe-intake")
        try:
            self._loop.run_forever()
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                self._loop.run_until_complete(pump)
            self._loop.close()

    async def _pump(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            self._flush_intake(False)

    def _flush_intake(self, urgent: bool) -> None:
        self._wake_pending = False
        intake, add = self._intake, self._buffer.add
        while intake:
            add(intake.popleft())
        if urgent:
            self._buffer.wake()

    async def _shutdown(self, timeout: float) -> None:
        self._flush_intake(True)
        await self._buffer.close(timeout)
        try:
            async with asyncio.timeout(5):
                await self.transport.close()
        except Exception as exc:  # a broker gone at shutdown leaves nothing to release
            log.debug("closing transport: %s", exc)

    def _standalone_stage(self, name: str, ms: float) -> None:
        self.request(stage_latency_ms={name: ms}, attributes={"standalone": "true"})

    def _close_at_exit(self) -> None:
        # At interpreter exit, keep unsent reports on disk rather than waiting long for a broker.
        self.close(timeout=1.0)


@contextlib.contextmanager
def probing(app: str, run: str = "default", **options: Any) -> Iterator[Probe]:
    """A probe closed (flushed) when the block ends."""
    probe = Probe(app, run, **options)
    try:
        yield probe
    finally:
        probe.close()
