"""The agent end to end: transports in, dedup, malformed input, restart resume, listeners, storage trouble."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from observation.agent.support import MemorySink, feedback, request
from observation.helpers import unique
from rohe.observation.agent import AgentConfig, ObservationAgent
from rohe.observation.brokers import MqttTransport
from rohe.observation.metrics import ALL_CONSUMERS, WindowMetrics
from rohe.observation.reports import Report, encode_batch
from rohe.observation.transports import InProcessTransport


def _config(**extra: object) -> AgentConfig:
    return AgentConfig.model_validate(
        {
            "app": "app",
            "run": "run",
            "windows": [{"size_s": 10}],
            "allowed_lateness_s": 0,
            "idle_close_s": None,
            **extra,
        }
    )


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_resent_reports_are_counted_once() -> None:
    sink = MemorySink()
    agent = ObservationAgent(_config(), sink)
    batch = [request(i, f"q{i}") for i in range(5)]
    agent.ingest(batch)
    agent.ingest(batch[:3])
    agent.flush()
    assert sink.for_consumer(ALL_CONSUMERS)[0].requests == 5
    stats = agent.stats
    assert (stats.received, stats.duplicates, stats.late_dropped) == (8, 3, 0)


def test_late_reports_are_dropped_and_counted_within_lateness_they_count() -> None:
    sink = MemorySink()
    agent = ObservationAgent(_config(allowed_lateness_s=3), sink)
    agent.ingest([request(1, "a"), request(12, "b")])  # watermark 9: [0, 10) still open
    agent.ingest([request(8, "in-time")])
    agent.ingest([request(14, "c")])  # watermark 11: [0, 10) closes
    agent.ingest([request(9, "too-late")])
    agent.flush()
    assert [w.requests for w in sink.for_consumer(ALL_CONSUMERS)] == [2, 2]
    assert agent.stats.late_dropped == 1


def test_listeners_get_every_window_and_a_failing_listener_is_not_fatal() -> None:
    got: list[WindowMetrics] = []

    def broken(window: WindowMetrics) -> None:
        raise ValueError("listener bug")

    agent = ObservationAgent(_config(), MemorySink(), listeners=[broken, got.append])
    agent.ingest([request(1, "a", consumer="c1"), request(2, "b", consumer="c2")])
    agent.flush()
    assert [w.consumer for w in got] == [ALL_CONSUMERS, "c1", "c2"]
    assert agent.stats.listener_errors == 3 and agent.stats.windows_emitted == 3


def test_windows_are_kept_and_saved_later_when_storage_fails() -> None:
    sink = MemorySink()
    agent = ObservationAgent(_config(), sink)
    sink.fail = True
    agent.ingest([request(1, "a"), request(11, "b")])  # closes [0, 10) while storage is down
    assert sink.windows == {} and agent.stats.sink_errors == 1
    sink.fail = False
    agent.ingest([request(21, "c")])
    assert [w.requests for w in sink.for_consumer(ALL_CONSUMERS)] == [1, 1]


def test_restart_resumes_without_emitting_stored_windows_twice() -> None:
    sink = MemorySink()
    first = [request(t, f"q{t}") for t in (1, 5, 12, 15, 22, 24)]
    agent = ObservationAgent(_config(), sink)
    agent.ingest(first)  # watermark 24: [0, 10) and [10, 20) are stored, [20, 30) is open
    assert len(sink.saves) == 4
    # The process dies here (no stop); a new agent replays everything a sender might resend.
    resumed = ObservationAgent(_config(), sink)
    resumed.ingest([*first, request(27, "new"), request(35, "later")])
    resumed.flush()
    saves = Counter(sink.saves)
    assert all(count == 1 for count in saves.values()), "no window was emitted twice"
    stats = resumed.stats
    assert (stats.late_dropped, stats.duplicates) == (4, 2)
    assert [w.requests for w in sink.for_consumer(ALL_CONSUMERS)] == [2, 2, 1, 1]
    # After a clean stop everything is flushed; a replay emits nothing.
    before = len(sink.saves)
    again = ObservationAgent(_config(), sink)
    again.ingest(first)
    again.flush()
    assert len(sink.saves) == before


def test_in_process_transport_with_malformed_messages_counted() -> None:
    transport = InProcessTransport()
    sink = MemorySink()
    agent = ObservationAgent(_config(), sink, transport=transport)
    agent.start()
    try:
        reports = [request(i * 0.01, f"q{i}") for i in range(300)]

        async def send() -> None:
            await transport.publish_raw(b"{not json")
            for i in range(0, 300, 50):
                await transport.publish(reports[i : i + 50])
            await transport.publish_raw(b'[{"app": "app"}]')

        asyncio.run(send())
        _wait(lambda: agent.stats.received == 300 and agent.stats.malformed == 2)
    finally:
        agent.stop()
    assert sink.for_consumer(ALL_CONSUMERS)[0].requests == 300


def test_user_parser_replaces_the_standard_decoder_on_the_transport_and_for_bytes() -> None:
    sink = MemorySink()
    transport = InProcessTransport()
    agent = ObservationAgent(_config(parser="observation.agent.support:csv_parser"), sink, transport=transport)
    agent.start()
    try:

        async def send() -> None:
            await transport.publish_raw(b"q1,c1,12.5\nq2,c2,30")
            await transport.publish_raw(b"garbage")

        asyncio.run(send())
        _wait(lambda: agent.stats.received == 2 and agent.stats.malformed == 1)
        agent.ingest_bytes(b"q3,c1,20")
        agent.ingest_bytes(encode_batch([request(1, "json")]))  # the standard format is not understood any more
    finally:
        agent.stop()
    [overall] = sink.for_consumer(ALL_CONSUMERS)
    assert overall.requests == 3 and overall.end_to_end is not None and overall.end_to_end.max_ms == 30.0
    assert agent.stats.malformed == 2


def test_idle_agent_closes_windows_by_wall_clock() -> None:
    sink = MemorySink()
    agent = ObservationAgent(_config(idle_close_s=0.05), sink)
    agent.ingest([request(1, "a")])  # 2026-01-01, far before now
    agent.tick()
    assert sink.windows == {}, "not idle yet"
    time.sleep(0.06)
    agent.tick()
    assert [w.requests for w in sink.for_consumer(ALL_CONSUMERS)] == [1]


@pytest.mark.timeout(60)
def test_end_to_end_over_mqtt() -> None:
    app, run = unique("agent"), unique("run")
    sink = MemorySink()
    config = AgentConfig.model_validate(
        {"app": app, "run": run, "transport": {"kind": "mqtt"}, "windows": [{"size_s": 10}], "idle_close_s": None}
    )
    agent = ObservationAgent(config, sink)
    agent.start()
    reports: list[Report] = [request(i * 0.05, f"q{i}", app=app, run=run, predicted="cat") for i in range(200)]
    labels = [feedback(11, f"q{i}", "cat" if i % 4 else "dog") for i in range(200)]
    labels = [r.model_copy(update={"app": app, "run": run}) for r in labels]
    publisher = MqttTransport(app, run)

    async def send() -> None:
        try:
            for i in range(0, 200, 50):
                await publisher.publish(reports[i : i + 50])
            await publisher.publish(labels)
            await publisher.publish(reports[:50])  # a resend
        finally:
            await publisher.close()

    try:
        asyncio.run(send())
        _wait(lambda: agent.stats.received == 450)
    finally:
        agent.stop()
    first, second = sink.for_consumer(ALL_CONSUMERS)
    assert first.requests == 200 and agent.stats.duplicates == 50
    assert second.labelled == 200 and second.accuracy == pytest.approx(0.75)


def test_open_windows_stay_within_the_memory_bound() -> None:
    sink = MemorySink()
    agent = ObservationAgent(_config(max_window_reports=50, allowed_lateness_s=1000), sink)
    for second in range(0, 100, 10):
        agent.ingest([request(second + i / 100, f"q{second}-{i}") for i in range(20)])
        assert agent.stats.open_reports <= 50
    agent.flush()
    assert [w.requests for w in sink.for_consumer(ALL_CONSUMERS)] == [20] * 10, "closed early, nothing lost"


def test_tickers_hear_the_clock_after_due_windows_and_a_failing_one_is_counted() -> None:
    sink = MemorySink()
    heard: list[tuple[datetime, int]] = []

    def broken(now: datetime) -> None:
        raise RuntimeError("boom")

    def ticker(now: datetime) -> None:
        heard.append((now, len(sink.for_consumer(ALL_CONSUMERS))))

    agent = ObservationAgent(_config(idle_close_s=0.01), sink, tickers=[broken, ticker])
    agent.ingest([request(1, "a")])
    time.sleep(0.02)
    moment = datetime.now(UTC)
    agent.tick(moment)
    # The idle window was emitted before the tickers ran, so they judge up-to-date windows.
    assert heard == [(moment, 1)]
    assert agent.stats.listener_errors == 1


def test_the_background_clock_ticks_a_started_agent() -> None:
    heard: list[datetime] = []
    agent = ObservationAgent(_config(app=unique("tick"), idle_close_s=0.05), MemorySink(), tickers=[heard.append])
    agent.start()
    try:
        _wait(lambda: len(heard) >= 2, timeout=5)
    finally:
        agent.stop()
    assert all(abs((datetime.now(UTC) - t).total_seconds()) < 5 for t in heard)
