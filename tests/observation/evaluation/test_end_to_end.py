"""Gateway-shaped reports -> the observation agent -> windows with CDM values -> evaluation -> stored
violations -> report. Real agent, real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from rohe.core.contracts import load_contract
from rohe.core.storage import Store
from rohe.observation.agent import ObservationAgent
from rohe.observation.agent.config import AgentConfig
from rohe.observation.evaluation import ContractEvaluator
from rohe.observation.report import build_report
from rohe.observation.reports import Report, ReportKind, RequestStatus
from rohe.observation.store import ObservationStore

from .builders import ROHE_CONTRACTS, T0

CONSUMER = "obj-class-sla-001"  # a ROHE application contract binds to its contract_id


def gateway_reports(second: int, slow: bool, top5_misses: int) -> list[Report]:
    """Twenty requests in one second, as the serving gateway reports them, with feedback for each."""
    out: list[Report] = []
    for i in range(20):
        rid = f"r{second}-{i}"
        at = T0 + timedelta(seconds=second, milliseconds=i * 40)
        wrong = i < top5_misses
        inference = 600.0 if slow else 40.0
        out.append(Report(app="vision", run="r1", kind=ReportKind.REQUEST, timestamp=at, consumer=CONSUMER,
                          request_id=rid, status=RequestStatus.OK, members=["m1", "m2"], cost=0.1,
                          end_to_end_ms=inference + 20, predicted_class="2" if wrong else "1", confidence=0.9,
                          stage_latency_ms={"scheduling": 1, "preprocessing": 5, "fanout": inference + 10,
                                            "aggregation": 1},
                          attributes={"top5_correct": "false" if wrong else "true", "ensemble_size": "2"}))
        for model, ms in (("m1", inference), ("m2", 30.0)):
            out.append(Report(app="vision", run="r1", kind=ReportKind.REQUEST, timestamp=at, consumer=CONSUMER,
                              request_id=rid, model_id=model, status=RequestStatus.OK,
                              predicted_class="2" if wrong else "1", confidence=0.9,
                              stage_latency_ms={"inference": ms}))
        out.append(Report(app="vision", run="r1", kind=ReportKind.FEEDBACK, timestamp=at, consumer=CONSUMER,
                          request_id=rid, true_class="1"))
    return out


def test_agent_windows_are_evaluated_stored_and_reported(store: Store, tmp_path: Path) -> None:
    observations = ObservationStore(store)
    contract = load_contract(Path(ROHE_CONTRACTS) / "object_classification.yaml")
    evaluator = ContractEvaluator([contract], sink=observations)
    config = AgentConfig(app="vision", run="r1", windows=[{"size_s": 1.0}], allowed_lateness_s=0, idle_close_s=None,
                         window_functions={"top5_error_rate": "observation.evaluation.plugins:top5_error_rate"})
    agent = ObservationAgent(config, observations, listeners=[evaluator])
    for second in range(6):
        agent.ingest(gateway_reports(second, slow=second == 4, top5_misses=6 if second == 5 else 0))
    agent.stop()

    windows = observations.list_windows("vision", consumer=CONSUMER)
    assert [w.requests for w in windows] == [20] * 6
    assert windows[5].custom["top5_error_rate"] == 0.3
    stored = observations.list_violations("vision")
    by_clause = {(v.clause, v.window_end) for v in stored}
    slow_end = T0 + timedelta(seconds=5)
    assert ("performance_slo.response_time_p99_ms <= 500", slow_end) in by_clause
    slow = next(v for v in stored if v.metric == "end_to_end.p99_ms")
    first_of = {c.kind.value: c.name for c in reversed(slow.causes)}
    assert (first_of["stage"], first_of["model"]) == ("fanout", "m1")
    # 6 misses in 120 requests over the 5-minute span: 5% < 10%, no violation; accuracy over the span is
    # 114/120 = 95% >= 85%; every window ran 20 req/s >= 10.
    assert not any("top5" in v.clause or "accuracy" in v.clause for v in stored)
    # Throughput needs 10 req/s, so a consumer that slows down is caught.
    agent_quiet = ObservationAgent(config.model_copy(update={"run": "r2"}), observations, listeners=[evaluator])
    agent_quiet.ingest([r.model_copy(update={"run": "r2"}) for r in gateway_reports(0, False, 0)[::16]])
    agent_quiet.stop()
    quiet = [v for v in observations.list_violations("vision", run="r2") if v.metric == "throughput_rps"]
    assert quiet and quiet[0].observed is not None and quiet[0].observed < 10

    report = build_report("vision", observations.list_windows("vision"), observations.list_violations("vision"),
                          tmp_path)
    assert report.html_path is not None and "response_time_p99_ms" in report.html_path.read_text()
