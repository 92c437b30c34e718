"""Quality tiers in a running agent: an agent started through ObservationService with a `quality` section stores
incidents (rule alerts and anomalies among their symptoms), narrates them through a local OpenAI-compatible server
without blocking, refuses bad quality sections by field, and keeps the evaluator-only wiring without one."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request

from observation.evaluation.servers import serving
from rohe.core.contracts import ConsumerContract, parse_application_slo
from rohe.core.errors import InvalidInput
from rohe.observation.agent.config import load_agent_config
from rohe.observation.evaluation import ContractEvaluator
from rohe.observation.metrics import LatencyStats, WindowMetrics
from rohe.observation.reports import Report, ReportKind, RequestStatus
from rohe.observation.service import ObservationService
from rohe.observation.store import ObservationStore
from rohe.observation.wiring import QualityListener, default_listeners, silence_tickers
from rohe.quality import Incident

# Recent, so a retention loop would keep these windows.
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
STEP_AT_S = 16  # m2 turns slow from this second on
WINDOWS: dict[str, Any] = {"windows": [{"size_s": 1}], "allowed_lateness_s": 0, "idle_close_s": None}
ANOMALY = [{"metric": f"models.{m}.latency.p99_ms", "detector": "robust-z", "options": {"warmup": 8, "threshold": 6}}
           for m in ("m1", "m2")]
RULES = [{"name": "p99-high", "metric": "end_to_end.p99_ms", "operator": ">", "value": 400, "severity": "critical"}]


def second_of_traffic(app: str, second: int, m2_ms: float) -> list[Report]:
    """Ten requests of consumer gold, each answered by models m1 and m2 (member reports), in one second."""
    out = []
    for i in range(10):
        at = T0 + timedelta(seconds=second, milliseconds=i * 100)
        # Deterministic noise that moves each window's p99 too, so the detectors learn a real spread.
        jitter = (second * 37) % 11 + (i * 3) % 5
        m1, m2 = 40.0 + jitter, m2_ms + jitter
        rid = f"r{second}-{i}"
        out.append(Report(app=app, run="r1", kind=ReportKind.REQUEST, consumer="gold", request_id=rid,
                          status=RequestStatus.OK, end_to_end_ms=max(m1, m2) + 5, members=["m1", "m2"],
                          predicted_class="cat", confidence=0.9, timestamp=at))
        for model, ms in (("m1", m1), ("m2", m2)):
            out.append(Report(app=app, run="r1", kind=ReportKind.REQUEST, consumer="gold", request_id=rid,
                              model_id=model, status=RequestStatus.OK, end_to_end_ms=ms, predicted_class="cat",
                              confidence=0.9, timestamp=at))
    return out


def traffic(app: str, seconds: range, m2_ms: float) -> list[Report]:
    return [r for s in seconds for r in second_of_traffic(app, s, m2_ms)]


@pytest.fixture
def service(store_url: str) -> Iterator[ObservationService]:
    instance = ObservationService(ObservationStore(store_url))
    instance.register_app("shop", "r1", "alice")
    yield instance
    instance.close()
    instance.store.close()


def gold(incidents: list[Incident]) -> list[Incident]:
    return [i for i in incidents if i.consumer == "gold"]


def test_a_latency_step_becomes_a_stored_incident_blaming_the_slow_model(service: ObservationService) -> None:
    service.start_agent("shop", {**WINDOWS, "run": "r1", "quality": {"anomaly": ANOMALY, "rules": RULES}})
    agent = service.agent("shop", "r1")
    agent.ingest(traffic("shop", range(STEP_AT_S), m2_ms=60.0))
    assert service.store.list_incidents("shop") == []  # a stable stream raises nothing
    agent.ingest(traffic("shop", range(STEP_AT_S, STEP_AT_S + 3), m2_ms=600.0))
    service.stop_agent("shop", "r1")

    stored = gold(service.store.list_incidents("shop", run="r1"))
    assert stored, "the step should have produced an incident"
    first = stored[0]
    assert first.window_start == T0 + timedelta(seconds=STEP_AT_S)  # detected in the first slow window
    anomalies = [s for s in first.symptoms if s.source == "anomaly"]
    assert [s.metric for s in anomalies] == ["models.m2.latency.p99_ms"]  # m1 stayed normal
    top = first.suspected_causes[0]
    assert (top.kind.value, top.name) == ("model", "m2")
    # The threshold rule fired on the same window; a critical rule makes the incident critical.
    rules = [s for s in first.symptoms if s.source == "rule"]
    assert [s.metric for s in rules] == ["end_to_end.p99_ms"] and "p99-high" in rules[0].description
    assert first.severity.value == "critical"
    assert "m2" in first.narrative and first.narrative_source == "deterministic"
    assert service.store.list_incidents("shop", consumer="gold") == stored
    assert service.store.list_incidents("shop", run="other") == []


def test_rules_alone_store_an_incident_per_alerting_window(service: ObservationService) -> None:
    service.start_agent("shop", {**WINDOWS, "run": "r1", "quality": {"rules": RULES}})
    service.agent("shop", "r1").ingest(traffic("shop", range(3), m2_ms=60.0) +
                                       traffic("shop", range(3, 5), m2_ms=600.0))
    service.stop_agent("shop", "r1")
    stored = gold(service.store.list_incidents("shop"))
    assert [i.window_end - T0 for i in stored] == [timedelta(seconds=4), timedelta(seconds=5)]
    assert all([s.source for s in i.symptoms] == ["rule"] for i in stored)
    assert all(i.severity.value == "critical" and not i.suspected_causes for i in stored)


class FakeOpenAI:
    """An OpenAI-compatible chat endpoint that answers after `delay_s`."""

    def __init__(self, delay_s: float) -> None:
        self.calls = 0
        self.app = FastAPI()

        @self.app.post("/v1/chat/completions")
        async def complete(request: Request) -> dict[str, Any]:
            body = await request.json()
            self.calls += 1
            await asyncio.sleep(delay_s)
            return {"id": "c", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": "Model m2 slowed down; reroute."}}]}


def test_llm_narrative_lands_in_the_stored_incident_without_blocking_the_agent(
        service: ObservationService) -> None:
    fake = FakeOpenAI(delay_s=1.0)
    with serving(fake.app) as url:
        quality = {"anomaly": ANOMALY, "llm": {"base_url": f"{url}/v1", "model": "tiny", "timeout_s": 10}}
        service.start_agent("shop", {**WINDOWS, "run": "r1", "quality": quality})
        agent = service.agent("shop", "r1")
        agent.ingest(traffic("shop", range(STEP_AT_S), m2_ms=60.0))
        began = time.monotonic()
        agent.ingest(traffic("shop", range(STEP_AT_S, STEP_AT_S + 2), m2_ms=600.0))
        assert time.monotonic() - began < 0.9  # the 1 s completion is not awaited on the ingest path
        assert gold(service.store.list_incidents("shop"))[0].narrative_source == "deterministic"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            narrated = [i for i in service.store.list_incidents("shop") if i.narrative_source == "llm"]
            if narrated:
                break
            time.sleep(0.1)
        service.stop_agent("shop", "r1")
    assert narrated and narrated[0].narrative == "Model m2 slowed down; reroute."
    assert fake.calls >= 1


def test_bad_quality_sections_are_refused_naming_the_field(service: ObservationService, tmp_path: Path) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"anomaly": [{"metric": "end_to_end.p99_ms", "detector": "prophet"}]}, "quality.anomaly[0].detector"),
        ({"anomaly": [{"metric": "models.m1", "detector": "ewma"}]}, "quality.anomaly[0].metric"),
        ({"anomaly": [{"metric": "accuracy", "detector": "ewma", "options": {"alpha": 2}}]},
         "quality.anomaly[0].options"),
        ({"rules": [{"name": "x", "metric": "accuracy"}]}, "quality.rules[0]"),
        ({"llm": {"base_url": "http://127.0.0.1:1/v1"}}, "quality.llm.model"),
        ({"rules": str(tmp_path / "missing.yaml")}, "quality.rules"),
        ({"narrate": True}, "quality.narrate"),
    ]
    for quality, field in cases:
        with pytest.raises(InvalidInput) as caught:
            service.start_agent("shop", {**WINDOWS, "run": "r1", "quality": quality})
        assert caught.value.problems[0].location == field, (quality, caught.value)
    assert service.agents() == []  # nothing was recorded


def test_rules_file_resolves_next_to_the_agent_config(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text("rules:\n  - {name: slow, metric: end_to_end.p99_ms, operator: '>', "
                                         "value: 400}\n", encoding="utf-8")
    (tmp_path / "agent.yaml").write_text("app: shop\nquality:\n  rules: rules.yaml\n", encoding="utf-8")
    config = load_agent_config(tmp_path / "agent.yaml")
    assert config.quality is not None and config.quality.rules == tmp_path / "rules.yaml"


def test_without_quality_the_evaluator_alone_listens_and_ticks(store_url: str, tmp_path: Path) -> None:
    contract = tmp_path / "gold.yaml"
    contract.write_text("consumer: gold\nensemble: {max: 3}\nrequired_throughput: 5\ndeadline_ms: 250\n"
                        "objectives: [{metric: accuracy, direction: max, min: 0, max: 1}]\n", encoding="utf-8")
    store = ObservationStore(store_url)
    try:
        plain = load_agent_config_from(tmp_path, {"app": "shop", "contracts": [str(contract)]})
        listeners = default_listeners(plain, store)
        assert [type(x) for x in listeners] == [ContractEvaluator]
        assert len(silence_tickers(plain, listeners)) == 1
        with_quality = load_agent_config_from(tmp_path, {"app": "shop", "contracts": [str(contract)],
                                                         "quality": {"rules": RULES}})
        wrapped = default_listeners(with_quality, store)
        assert [type(x) for x in wrapped] == [QualityListener]
        assert len(silence_tickers(with_quality, wrapped)) == 1  # silence ticks still reach the evaluator
        assert isinstance(wrapped[0], QualityListener) and wrapped[0].watch.evaluator is not None
        wrapped[0].close(1)
    finally:
        store.close()


def test_silence_ticks_turn_a_silent_consumer_into_a_stored_incident(store_url: str, tmp_path: Path) -> None:
    contract = throughput_contract(tmp_path)
    silent_rule = {"name": "quiet", "metric": "throughput_rps", "when": "missing", "after_s": 5}
    config = load_agent_config_from(tmp_path, {"app": "shop", "run": "r1", "windows": [{"size_s": 1}],
                                               "contracts": [str(contract)], "quality": {"rules": [silent_rule]}})
    store = ObservationStore(store_url)
    try:
        listener = default_listeners(config, store)[0]
        assert isinstance(listener, QualityListener)
        ticker = silence_tickers(config, [listener])[0]
        end = T0 + timedelta(seconds=1)
        listener(WindowMetrics(app="shop", run="r1", consumer="gold", start=T0, end=end, requests=10,
                               throughput_rps=10.0, accuracy=0.9, labelled=10,
                               end_to_end=LatencyStats(count=10, mean_ms=40, p50_ms=40, p95_ms=45, p99_ms=50,
                                                       max_ms=55)))
        assert store.list_incidents("shop") == [], store.list_violations("shop")  # a healthy window
        ticker(end + timedelta(seconds=2))  # not silent for long enough yet
        assert store.list_incidents("shop") == []
        ticker(end + timedelta(seconds=30))
        ticker(end + timedelta(seconds=31))  # once per silent stretch
        stored = store.list_incidents("shop")
        assert len(stored) == 1 and stored[0].consumer == "gold"
        assert sorted(s.source for s in stored[0].symptoms) == ["rule", "violation"]
        assert [v.metric for v in store.list_violations("shop")] == ["throughput_rps"]
        listener.close(1)
    finally:
        store.close()


def throughput_contract(folder: Path) -> Path:
    """gold's contract with a throughput clause (the clause silence is judged by), written as YAML."""
    import yaml

    slo = parse_application_slo({"contract": {
        "contract_id": "c", "tenant_id": "t", "pipeline_id": "p", "effective_from": "2024-01-01",
        "performance_slo": {"response_time_p99_ms": 250, "throughput_rps": 1, "availability_percent": 50}}})
    contract = ConsumerContract(consumer="gold", ensemble={"max": 3}, required_throughput=1,
                                objectives=[{"metric": "accuracy", "direction": "max", "min": 0, "max": 1}],
                                slo=slo)
    path = folder / "gold-slo.yaml"
    path.write_text(yaml.safe_dump(contract.model_dump(mode="json", exclude_none=True)), encoding="utf-8")
    return path


def load_agent_config_from(folder: Path, document: dict[str, Any]) -> Any:
    import yaml

    path = folder / f"agent-{uuid.uuid4().hex[:8]}.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return load_agent_config(path)
