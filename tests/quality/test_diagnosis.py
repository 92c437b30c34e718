"""Tier 3: deterministic incidents, and LLM narratives from a local OpenAI-compatible server, off the hot path."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request

from observation.evaluation.builders import latency, window
from observation.evaluation.servers import free_port, serving
from rohe.core.contracts import parse_contract
from rohe.observation.evaluation import ContractEvaluator
from rohe.observation.metrics import ModelStats
from rohe.observation.violations import Violation
from rohe.quality import (
    Anomaly,
    AnomalyMonitor,
    Diagnoser,
    LLMConfig,
    QualityWatch,
    RuleEngine,
    build_incident,
    parse_rules,
)


def violations() -> tuple[list[Violation], Any]:
    contract = parse_contract({"consumer": "tenant-a", "ensemble": {"max": 3}, "required_throughput": 10,
                               "deadline_ms": 250,
                               "objectives": [{"metric": "accuracy", "direction": "max", "min": 0, "max": 1}]})
    models = {"m1": ModelStats(requests=200, latency=latency(60)), "m3": ModelStats(requests=200, latency=latency(700))}
    slow = window(0, p99=800.0, models=models)
    return ContractEvaluator([contract]).evaluate(slow), slow


def anomaly(metric: str, value: float = 700.0) -> Anomaly:
    w = window(0)
    return Anomaly(w.app, w.run, "tenant-a", metric, "robust-z", value, 12.0, w.start, w.end)


def test_incident_ranks_suspects_from_violations_and_anomalies() -> None:
    found, slow = violations()
    incident = build_incident(found, [anomaly("models.m3.latency.p99_ms")], [slow])
    assert incident is not None
    assert [s.source for s in incident.symptoms] == ["violation", "anomaly"]
    top = incident.suspected_causes[0]
    assert (top.kind.value, top.name) == ("model", "m3")
    assert any("anomaly" in e for e in top.evidence)
    assert incident.narrative_source == "deterministic"
    assert "m3" in incident.narrative and "Next step" in incident.narrative
    assert incident.evidence and "800.0 ms" in incident.evidence[0]
    again = build_incident(found, [anomaly("models.m3.latency.p99_ms")], [slow])
    assert again == incident  # deterministic, identity included


def test_nothing_to_diagnose_is_none() -> None:
    assert build_incident([], [], [window(0)]) is None


class FakeOpenAI:
    def __init__(self, delay_s: float = 0.0, fail: bool = False) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def complete(request: Request) -> dict[str, Any]:
            body = await request.json()
            self.bodies.append(body)
            self.auth.append(request.headers.get("authorization"))
            await asyncio.sleep(delay_s)
            if fail:
                return {"error": "no choices"}
            return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": "  Model m3 is slow; reroute.  "}}]}

        self.app = app


@pytest.fixture
def fake_llm() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI(delay_s=0.5)
    with serving(fake.app) as url:
        yield fake, url


def test_llm_narrative_arrives_in_the_background(fake_llm: tuple[FakeOpenAI, str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    fake, url = fake_llm
    monkeypatch.setenv("ROHE_TEST_LLM_KEY", "sk-test")
    diagnoser = Diagnoser(LLMConfig(base_url=f"{url}/v1", model="tiny", api_key_env="ROHE_TEST_LLM_KEY"))
    found, slow = violations()
    began = time.monotonic()
    incident = diagnoser.diagnose(found, windows=[slow])
    assert time.monotonic() - began < 0.3  # the 0.5 s completion is not awaited
    assert incident is not None and incident.narrative_source == "deterministic"
    narrated = diagnoser.wait(incident.incident_id, timeout=10)
    diagnoser.close()
    assert narrated is not None and narrated.narrative_source == "llm"
    assert narrated.narrative == "Model m3 is slow; reroute."
    assert fake.auth == ["Bearer sk-test"]
    assert fake.bodies[0]["model"] == "tiny"
    assert "m3" in fake.bodies[0]["messages"][1]["content"]


def test_llm_failures_keep_the_deterministic_narrative() -> None:
    broken = FakeOpenAI(fail=True)
    found, _ = violations()
    with serving(broken.app) as url:
        for base in (f"{url}/v1", f"http://127.0.0.1:{free_port()}/v1"):
            diagnoser = Diagnoser(LLMConfig(base_url=base, model="tiny", timeout_s=2))
            incident = diagnoser.diagnose(found)
            assert incident is not None
            after = diagnoser.wait(incident.incident_id, timeout=10)
            diagnoser.close()
            assert after == incident and diagnoser.failures == 1


def test_without_llm_no_thread_and_plain_text() -> None:
    diagnoser = Diagnoser()
    found, _ = violations()
    incident = diagnoser.diagnose(found)
    assert incident is not None
    assert diagnoser.wait(incident.incident_id, 1) == incident
    assert incident.narrative.startswith("Between ")


def test_quality_watch_turns_one_bad_window_into_one_incident() -> None:
    contract = parse_contract({"consumer": "tenant-a", "ensemble": {"max": 3}, "required_throughput": 10,
                               "deadline_ms": 250,
                               "objectives": [{"metric": "accuracy", "direction": "max", "min": 0, "max": 1}]})
    incidents: list[Any] = []
    watch = QualityWatch(evaluator=ContractEvaluator([contract]),
                         rules=RuleEngine(parse_rules({"rules": [{"name": "slow", "metric": "end_to_end.p99_ms",
                                                                  "operator": ">", "value": 500}]})),
                         anomalies=AnomalyMonitor(["end_to_end.p99_ms"]), on_incident=incidents.append)
    for i in range(20):
        watch(window(i, p99=100.0 + i % 3))
    assert incidents == []
    models = {"m1": ModelStats(requests=200, latency=latency(60)), "m3": ModelStats(requests=200, latency=latency(700))}
    watch(window(20, p99=800.0, models=models))
    (incident,) = incidents
    assert {s.source for s in incident.symptoms} == {"violation", "rule", "anomaly"}
    assert incident.suspected_causes[0].name in ("fanout", "m3")
    assert len(incident.evidence) == 3
