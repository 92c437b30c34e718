"""Bad input must cost only itself: a report from 2100, a report for another app run, one bad report in a batch,
a non-finite number, and an unreachable broker at agent start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from faults.brokers import free_port
from observation.agent.support import MemorySink, request
from rohe.observation.agent import ObservationAgent
from rohe.observation.agent.config import AgentConfig
from rohe.observation.agent.windows import to_micros
from rohe.observation.reports import DecodeStats, Report, ReportKind, decode_batch, encode_batch
from rohe.observation.service import ObservationService
from rohe.observation.store import ObservationStore

CONFIG = AgentConfig(app="app", run="run", windows=[{"size_s": 10.0}], allowed_lateness_s=1.0,
                     idle_close_s=None)


def now_request(rid: str, offset_s: float = 0.0, **fields: object) -> Report:
    return request(0, rid).model_copy(update={"timestamp": datetime.now(UTC) + timedelta(seconds=offset_s),
                                              **fields})


def test_a_report_from_2100_is_rejected_and_does_not_move_the_watermark() -> None:
    sink = MemorySink()
    agent = ObservationAgent(CONFIG, sink)
    agent.ingest([now_request("honest-1"), now_request("broken-clock", offset_s=74 * 365 * 86400)])
    agent.ingest([now_request("honest-2", offset_s=0.1)])
    stats = agent.stats
    assert (stats.future_dropped, stats.late_dropped, stats.open_reports) == (1, 0, 2)
    agent.flush()
    assert sum(w.requests for w in sink.windows.values() if w.consumer == "*") == 2


def test_a_saved_watermark_in_the_future_is_bounded_on_restore() -> None:
    sink = MemorySink()
    far = to_micros(datetime(2100, 1, 1, tzinfo=UTC))
    sink.save_agent_state("app", "run", {"version": 1, "max_seen_us": far, "horizons": {"tumbling:10:10": far},
                                         "open_report_ids": []})
    agent = ObservationAgent(CONFIG, sink)
    agent.ingest([now_request("after-restart")])
    assert (agent.stats.late_dropped, agent.stats.open_reports) == (0, 1)


def test_reports_of_another_app_run_are_counted_and_dropped() -> None:
    agent = ObservationAgent(CONFIG, MemorySink())
    agent.ingest([now_request("mine"), now_request("theirs", app="shop.v1"), now_request("other-run", run="r2")])
    assert (agent.stats.foreign_dropped, agent.stats.open_reports) == (2, 1)


def test_one_bad_report_in_a_batch_costs_only_itself() -> None:
    good = [now_request(f"g{i}") for i in range(3)]
    payload = encode_batch(good).replace(b"[", b'[{"app":"app","run":"run","kind":"nonsense"},', 1)
    stats = DecodeStats()
    assert decode_batch(payload, stats) == good
    assert (stats.messages, stats.errors, stats.rejected, stats.reports) == (1, 1, 1, 3)


def test_non_finite_numbers_are_refused_at_the_edge() -> None:
    with pytest.raises(ValidationError, match="finite"):
        Report(app="a", run="r", kind=ReportKind.REQUEST, cost=float("inf"))
    with pytest.raises(ValidationError, match="finite"):
        Report(app="a", run="r", kind=ReportKind.REQUEST, stage_latency_ms={"infer": float("nan")})
    good = now_request("ok")
    payload = encode_batch([good]).replace(b"[", b'[{"app":"app","run":"run","kind":"request","cost":1e999},', 1)
    stats = DecodeStats()
    assert decode_batch(payload, stats) == [good] and stats.rejected == 1
    sink = MemorySink()
    agent = ObservationAgent(CONFIG, sink)
    agent.ingest(decode_batch(payload))
    agent.flush()
    windows = list(sink.windows.values())
    assert windows and all(w.cost_total == 1.0 for w in windows)


def test_agent_start_answers_promptly_with_the_real_state_when_the_broker_is_down(tmp_path: Path) -> None:
    store = ObservationStore(f"sqlite:///{tmp_path / 'rohe.db'}")
    service = ObservationService(store)
    dead = f"mqtt://127.0.0.1:{free_port()}"  # nothing listens there
    try:
        service.register_app("app", "run", transport="mqtt", broker_url=dead)
        status = service.start_agent("app", {"app": "app", "run": "run"})
        assert (status.running, status.state) == (False, "connecting")
        assert status.detail and "connect" in status.detail
    finally:
        service.close(timeout=5)
        store.close()
