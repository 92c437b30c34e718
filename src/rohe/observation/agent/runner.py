"""The observation agent: receives reports, keeps event-time windows, emits closed windows to storage and listeners.

Threading: `start()` runs the transport subscription on a thread of its own with its own event loop; `ingest()`
may also be called from any thread (the in-process path). Window state sits behind one lock; closed windows go
to an outbox that one emitter at a time drains in order, so storage and listeners see windows oldest first.

Faults (docs/faults.md): over a durable transport the agent acknowledges a message only after a checkpoint (the
agent state, holding every report of the open windows) is stored, so a killed agent loses nothing; the next one
restores the open windows and drops the redelivered copies as duplicates. Windows are not closed by the idle
clock while the subscriber is disconnected (what the broker still holds would arrive late). Reports stamped more
than `max_future_s` ahead of the agent's clock, or for another app run, are counted and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from rohe.observation.agent.aggregate import WindowAggregator, WindowFunction
from rohe.observation.agent.config import AgentConfig
from rohe.observation.agent.decoding import Decoder, decode_json, parser_decoder
from rohe.observation.agent.feedback import PredictionMemory
from rohe.observation.agent.interfaces import AgentStats, Ticker, WindowListener, WindowSink
from rohe.observation.agent.plugins import load_parser, load_window_functions
from rohe.observation.agent.state import encode_state, restore_state
from rohe.observation.agent.windows import ClosedWindow, WindowSet, to_micros
from rohe.observation.buffer import Deduplicator
from rohe.observation.metrics import WindowMetrics
from rohe.observation.reports import DecodeStats, Report
from rohe.observation.transports import Backoff, Transport, make_transport

log = logging.getLogger(__name__)

MAX_UNSAVED_WINDOWS = 10_000  # windows kept for retry while storage is down; beyond, the oldest are dropped
# Unacknowledged messages are checkpointed and acknowledged after this long, or once the transport's `ack_batch`
# wait. A checkpoint writes every open report; with many open reports the time-driven ones are spaced so that
# checkpointing takes at most a quarter of the time.
CHECKPOINT_INTERVAL_S = 0.2


class ObservationAgent:
    def __init__(
        self,
        config: AgentConfig,
        sink: WindowSink,
        *,
        listeners: Sequence[WindowListener] = (),
        transport: Transport | None = None,
        window_functions: Mapping[str, WindowFunction] | None = None,
        tickers: Sequence[Ticker] = (),
    ) -> None:
        """`window_functions` add to those named in the config (e.g. a contract's derived metrics); `tickers` are
        called with the wall clock on every tick, after windows due by the clock were emitted."""
        self.config = config
        self._sink = sink
        self._listeners = list(listeners)
        self._tickers = list(tickers)
        self._transport = transport
        parser = load_parser(config)
        self._decode: Decoder = decode_json if parser is None else parser_decoder(parser, config.app)
        self._predictions = PredictionMemory(config.max_predictions)
        self._aggregator = WindowAggregator(
            config.app, config.run, self._predictions, {**load_window_functions(config), **(window_functions or {})}
        )
        self._dedup = Deduplicator(config.dedup_capacity)
        self._lateness = round(config.allowed_lateness_s * 1_000_000)
        self._max_future = round(config.max_future_s * 1_000_000)
        self._checkpointing = False  # set by start() over a transport whose acks can wait for a checkpoint
        self._checkpoint_lock: asyncio.Lock | None = None
        self._checkpointed_at = time.monotonic()
        self._checkpoint_gap = CHECKPOINT_INTERVAL_S
        self._lock = threading.RLock()
        self._emit_lock = threading.Lock()
        self._outbox: deque[WindowMetrics] = deque()
        self._max_seen: int | None = None
        self._windows = WindowSet(config.windows)
        self._decode_stats = DecodeStats()
        self._received = self._late = self._emitted = self._future = self._foreign = 0
        self._sink_errors = self._listener_errors = self._ticker_errors = 0
        self._last_arrival = time.monotonic()
        self._saved_ids: list[str] = []
        self._ids_saved_at = -math.inf
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._restore(sink.load_agent_state(config.app, config.run))

    # -- lifecycle -------------------------------------------------------------------------------------------

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            wanted = self.config.transport
            self._transport = make_transport(
                wanted.kind,
                self.config.app,
                self.config.run,
                url=wanted.url,
                channel=wanted.channel,
                credentials_env=wanted.credentials_env,
            )
        return self._transport

    def start(self, ready_timeout: float = 1.0) -> None:
        """Subscribe on a background thread; returns once subscribed or after `ready_timeout`, still retrying
        (see `state`): an unreachable broker must not hold up the caller."""
        if self._thread is not None:
            return
        transport = self.transport
        self._install_decoder(transport)
        if transport.can_defer_acks:
            transport.defers_acks = self._checkpointing = True
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._main()), name=f"rohe-agent-{self.config.app}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(ready_timeout):
            log.warning("agent %s: transport not subscribed after %.1f s; still trying", self.config.app, ready_timeout)

    @property
    def state(self) -> str:
        """stopped | connecting (never subscribed yet) | subscribed | reconnecting (lost its broker)."""
        if self._thread is None or not self._thread.is_alive():
            return "stopped"
        if not self._ready.is_set():
            return "connecting"
        return "subscribed" if self.transport.connected else "reconnecting"

    @property
    def detail(self) -> str | None:
        """Why the transport is not subscribed (the last connection error), if it is not."""
        if self.state in ("subscribed", "stopped"):
            return None
        return self.transport.last_error or None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop receiving, close every open window, emit it, and save the state."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is not None and loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stopping.set)
            thread.join(timeout)
        self._thread = None
        self.flush()

    def flush(self) -> None:
        with self._lock:
            self._queue(self._windows.flush())
        self._drain()
        self._save_state(force=True)

    # -- input -----------------------------------------------------------------------------------------------

    def submit(self, report: Report) -> None:
        """ReportSink: lets an in-process gateway report straight into the agent."""
        self.ingest([report])

    def ingest_bytes(self, payload: bytes) -> None:
        """Decode one wire message (with the configured parser, if any) and ingest it; bad input is counted."""
        self.ingest(self._decode(payload, self._decode_stats))

    def ingest(self, reports: Sequence[Report]) -> None:
        if not reports:
            return
        app, run = self.config.app, self.config.run
        ceiling = to_micros(datetime.now(UTC)) + self._max_future
        with self._lock:
            self._received += len(reports)
            fresh = self._dedup.fresh(list(reports))
            newest = self._max_seen
            for report in fresh:
                if report.app != app or report.run != run:
                    self._foreign += 1  # a misrouted or colliding channel must not mix app runs
                    continue
                micros = to_micros(report.timestamp)
                if micros > ceiling:
                    # Taking it would move the watermark (saved with the state) past every honest report to come.
                    self._future += 1
                    continue
                self._predictions.remember(report)
                if not self._windows.add(report, micros):
                    self._late += 1
                if newest is None or micros > newest:
                    newest = micros
            self._max_seen = newest
            self._last_arrival = time.monotonic()
            # Until a durable broker's redelivery delay has passed since the (re)subscribe, a crashed
            # predecessor's unacked reports may still come back, older than what arrives now: hold the windows.
            closed = [] if self._awaiting_redelivery() else self._advance_to(
                None if newest is None else newest - self._lateness
            )
            closed.extend(self._relieve_memory())
            self._queue(closed)
        self._drain()

    def tick(self, now: datetime | None = None) -> None:
        """Close windows by wall clock once no report arrived for `idle_close_s` (a quiet app still gets windows),
        then call the tickers. The background clock calls it about once a second; tests may call it directly."""
        moment = now or datetime.now(UTC)
        idle = self.config.idle_close_s
        quiet_since = self._last_arrival
        if self._thread is not None and self._ready.is_set():
            if not self.transport.connected:
                # Quiet because the broker is away, not because the app is: what it holds arrives after the
                # reconnect and must find its windows open. The idle time counts from the reconnect.
                quiet_since = time.monotonic()
            # After a (re)subscribe a durable broker may still be holding a crashed predecessor's unacked
            # reports until its redelivery delay ends; they belong in windows that must still be open then.
            quiet_since = max(quiet_since, self.transport.connected_since + self.transport.redelivery_delay_s)
        # With nothing held there is nothing to close, and finalising empty time would only make stragglers late.
        if idle is not None and self._windows.held > 0 and time.monotonic() - quiet_since >= idle:
            with self._lock:
                self._queue(self._advance_to(to_micros(moment) - self._lateness))
            self._drain()
        self._run_tickers(moment)

    def _run_tickers(self, now: datetime) -> None:
        # Under the emit lock: tickers usually share state with listeners (the contract evaluator's history),
        # and listeners run under it too, so the two never interleave.
        with self._emit_lock:
            for ticker in self._tickers:
                try:
                    ticker(now)
                except Exception:  # like a listener: one faulty ticker must not stop the clock
                    self._ticker_errors += 1
                    log.exception("agent %s: ticker %r failed", self.config.app, ticker)

    @property
    def stats(self) -> AgentStats:
        with self._lock:
            transport_errors = self._transport.stats.errors if self._transport is not None else 0
            transport_rejected = self._transport.stats.rejected if self._transport is not None else 0
            return AgentStats(
                received=self._received,
                malformed=self._decode_stats.errors + transport_errors,
                duplicates=self._dedup.duplicates,
                late_dropped=self._late,
                future_dropped=self._future,
                foreign_dropped=self._foreign,
                rejected=self._decode_stats.rejected + transport_rejected,
                windows_emitted=self._emitted,
                feedback_unmatched=self._aggregator.unmatched_feedback,
                plugin_errors=self._aggregator.function_errors,
                sink_errors=self._sink_errors,
                listener_errors=self._listener_errors + self._ticker_errors,
                open_reports=self._windows.held,
                unacked=len(self._transport.unacked) if self._transport is not None else 0,
            )

    # -- internals -------------------------------------------------------------------------------------------

    def _install_decoder(self, transport: Transport) -> None:
        stats, decode = transport.stats, self._decode
        # Transport.decode is the per-instance hook for the wire format; mypy forbids assigning to a method.
        setattr(transport, "decode", lambda payload: decode(payload, stats))  # noqa: B010

    def _awaiting_redelivery(self) -> bool:
        if self._thread is None or not self.transport.redelivery_delay_s:
            return False
        return time.monotonic() < self.transport.connected_since + self.transport.redelivery_delay_s

    def _advance_to(self, watermark: int | None) -> list[ClosedWindow]:
        if watermark is None:
            return []
        return self._windows.advance(watermark)

    def _relieve_memory(self) -> list[ClosedWindow]:
        closed: list[ClosedWindow] = []
        while self._windows.held > self.config.max_window_reports:
            closed += self._windows.close_oldest()
        return closed

    def _queue(self, closed: list[ClosedWindow]) -> None:
        closed.sort(key=lambda w: (w.end_us, w.kind.value, w.start_us))
        for window in closed:
            self._outbox.extend(self._aggregator.metrics(window))

    def _drain(self) -> None:
        with self._emit_lock:
            with self._lock:
                batch = list(self._outbox)
                self._outbox.clear()
            if not batch:
                return
            try:
                self._sink.save_windows(batch)
            except Exception:  # storage down: keep the windows and retry with the next ones
                self._sink_errors += 1
                log.exception("agent %s: saving %d windows failed; will retry", self.config.app, len(batch))
                with self._lock:
                    self._outbox.extendleft(reversed(batch))
                    while len(self._outbox) > MAX_UNSAVED_WINDOWS:
                        self._outbox.popleft()
                return
            self._emitted += len(batch)
            for window in batch:
                for listener in self._listeners:
                    try:
                        listener(window)
                    except Exception:  # one faulty listener must not stop the others or the agent
                        self._listener_errors += 1
                        log.exception("agent %s: window listener %r failed", self.config.app, listener)
            self._save_state()

    def _save_state(self, force: bool = False) -> bool:
        """Horizons go with every save, so stored windows and the resume point agree. When checkpointing, every
        save holds the reports of the open windows themselves (acks wait for such a save); otherwise only their
        ids, refreshed at most every `state_interval_s` and always on flush. True once stored."""
        with self._lock:
            state = self._state(force)
        try:
            self._sink.save_agent_state(self.config.app, self.config.run, state)
        except Exception:
            self._sink_errors += 1
            log.exception("agent %s: saving state failed", self.config.app)
            return False
        return True

    def _state(self, force: bool) -> dict[str, Any]:
        if self._checkpointing:
            return encode_state(self._max_seen, self._windows.horizons, open_reports=self._windows.open_reports())
        now = time.monotonic()
        if force or now - self._ids_saved_at >= self.config.state_interval_s:
            ids = [str(r.report_id) for r in self._windows.open_reports()]
            self._saved_ids = ids[-self.config.dedup_capacity :]
            self._ids_saved_at = now
        return encode_state(self._max_seen, self._windows.horizons, open_ids=self._saved_ids)

    def _checkpoint(self) -> bool:
        """Store windows due and the state with every open report; True when nothing received is only in memory."""
        self._drain()
        with self._lock:
            if self._outbox:  # storage is failing: closed windows exist only here, so nothing may be acked
                return False
        return self._save_state()

    async def _checkpoint_and_ack(self) -> None:
        transport, lock = self._transport, self._checkpoint_lock
        if transport is None or lock is None or not transport.unacked:
            return
        async with lock:
            # Every message counted here was ingested: a transport records a message just before yielding its
            # reports, and ingesting them is synchronous, so no other task ran in between.
            count = len(transport.unacked)
            started = time.monotonic()
            if count and await asyncio.to_thread(self._checkpoint):
                await transport.acknowledge(count)
            self._checkpointed_at = time.monotonic()
            self._checkpoint_gap = max(CHECKPOINT_INTERVAL_S, 3 * (self._checkpointed_at - started))
        self._checkpoint_gap = CHECKPOINT_INTERVAL_S

    def _restore(self, saved: dict[str, Any] | None) -> None:
        state = restore_state(saved, to_micros(datetime.now(UTC)), self._max_future, self._lateness)
        if state is None:
            return
        self._windows.restore(state.horizons)
        self._max_seen = state.max_seen
        # Reports already counted before the restart must not count again if a sender resends them.
        self._dedup.remember(state.report_ids)
        for report in state.open_reports:  # a checkpoint's open windows come back whole
            self._predictions.remember(report)
            self._windows.add(report, to_micros(report.timestamp))

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._checkpoint_lock = asyncio.Lock()
        consume = asyncio.create_task(self._consume())
        clock = asyncio.create_task(self._clock())
        try:
            await self._stopping.wait()
        finally:
            for task in (consume, clock):
                task.cancel()
            await asyncio.gather(consume, clock, return_exceptions=True)
            if self._checkpointing:  # what arrived is stored now, so the broker need not send it again
                with contextlib.suppress(Exception):
                    await self._checkpoint_and_ack()
            with contextlib.suppress(Exception):
                await self.transport.close()

    async def _consume(self) -> None:
        backoff = Backoff()
        while True:
            try:
                stream = await self.transport.subscribe()
            except Exception as exc:  # broker not up yet: keep trying until stopped
                log.warning("agent %s: cannot subscribe (%s); retrying", self.config.app, exc)
                await asyncio.sleep(backoff.next())
                continue
            self._ready.set()
            try:
                async for batch in stream:
                    try:
                        self.ingest(batch)
                    except Exception:  # a bug on one batch must not end the subscription
                        log.exception("agent %s: ingesting a batch of %d reports failed", self.config.app, len(batch))
                    if self._checkpointing and (
                        len(self.transport.unacked) >= self.transport.ack_batch
                        or time.monotonic() - self._checkpointed_at >= self._checkpoint_gap
                    ):
                        await self._checkpoint_and_ack()
            except Exception as exc:  # the subscription broke in a way the transport did not absorb: start over
                log.warning("agent %s: subscription ended (%r); subscribing again", self.config.app, exc)
                await asyncio.sleep(backoff.next())
                continue
            finally:
                with contextlib.suppress(Exception):
                    await stream.aclose()
            return

    async def _clock(self) -> None:
        period = min(1.0, self.config.idle_close_s or 1.0)
        next_tick = time.monotonic() + period
        while True:
            # Quick rounds while messages wait for their ack, so a quiet channel is acknowledged promptly too.
            await asyncio.sleep(CHECKPOINT_INTERVAL_S if self._checkpointing else period)
            if self._checkpointing and time.monotonic() - self._checkpointed_at >= self._checkpoint_gap:
                await self._checkpoint_and_ack()
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + period
                self.tick()
