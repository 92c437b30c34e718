"""Actions reach a real HTTP server: webhook alerts, gateway policy changes, cooldown, and failures contained."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException, Request

from rohe.core.contracts import parse_contract
from rohe.observation.evaluation import ActionDispatcher, ContractEvaluator
from rohe.observation.violations import Action, Violation

from .builders import T0, window
from .servers import free_port, serving


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], str | None]] = []
        self.fail = False
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> dict[str, str]:
            self.calls.append(("/hook", await request.json(), request.headers.get("authorization")))
            return {"status": "ok"}

        @app.post("/consumers/{consumer}/policy")
        async def policy(consumer: str, request: Request) -> dict[str, str]:
            if self.fail:
                raise HTTPException(status_code=500, detail="boom")
            self.calls.append((f"/consumers/{consumer}/policy", await request.json(),
                               request.headers.get("authorization")))
            return {"status": "ok"}

        self.app = app


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, str]]:
    rec = Recorder()
    with serving(rec.app) as url:
        yield rec, url


def violation(action: Action, metric: str = "accuracy", clause: str = "c1") -> Violation:
    return Violation(app="vision", run="r1", consumer="tenant-a", clause=clause, metric=metric, operator=">=",
                     threshold=0.9, observed=0.5, window_start=T0, window_end=T0, action=action)


def test_each_action_reaches_its_endpoint(recorder: tuple[Recorder, str], caplog: pytest.LogCaptureFixture) -> None:
    rec, url = recorder
    dispatcher = ActionDispatcher(webhook_url=f"{url}/hook", gateway_url=url, token="s3cret")
    with caplog.at_level(logging.WARNING, logger="rohe.observation.violations"):
        for v in (violation(Action.ALERT), violation(Action.DEGRADE),
                  violation(Action.REROUTE, clause="c2"), violation(Action.REROUTE, "end_to_end.p99_ms", "c3")):
            dispatcher.dispatch(v)
        assert dispatcher.flush(10)
    dispatcher.close()
    paths = [(path, body.get("algorithm"), body.get("degrade")) for path, body, _ in rec.calls]
    assert paths == [("/hook", None, None), ("/consumers/tenant-a/policy", None, True),
                     ("/consumers/tenant-a/policy", "all-models", False),
                     ("/consumers/tenant-a/policy", "single-best", False)]
    assert rec.calls[0][1]["clause"] == "c1"
    assert [auth for _, _, auth in rec.calls] == [None] + ["Bearer s3cret"] * 3  # the token is the gateway's
    assert sum("contract_violation" in r.getMessage() for r in caplog.records) == 4


def test_cooldown_suppresses_repeats(recorder: tuple[Recorder, str]) -> None:
    rec, url = recorder
    now = [0.0]
    dispatcher = ActionDispatcher(gateway_url=url, cooldown_s=30, clock=lambda: now[0])
    dispatcher.dispatch(violation(Action.DEGRADE))
    dispatcher.dispatch(violation(Action.DEGRADE))
    assert dispatcher.flush(10)
    now[0] = 31.0
    dispatcher.dispatch(violation(Action.DEGRADE))
    assert dispatcher.flush(10)
    dispatcher.close()
    assert len(rec.calls) == 2
    assert [o.status for o in dispatcher.outcomes if o.target != "log"] == ["sent", "suppressed", "sent"]


def test_failures_are_recorded_never_raised(recorder: tuple[Recorder, str]) -> None:
    rec, url = recorder
    rec.fail = True
    unreachable = f"http://127.0.0.1:{free_port()}"
    dispatcher = ActionDispatcher(webhook_url=f"{unreachable}/hook", gateway_url=url, timeout_s=1)
    dispatcher.dispatch(violation(Action.ALERT))
    dispatcher.dispatch(violation(Action.DEGRADE))
    assert dispatcher.flush(10)
    dispatcher.close()
    statuses = [(o.action, o.status, o.detail[:8]) for o in dispatcher.outcomes if o.target != "log"]
    assert statuses[0][:2] == (Action.ALERT, "failed")
    assert statuses[1] == (Action.DEGRADE, "failed", "HTTP 500")


def test_missing_targets_are_skipped() -> None:
    dispatcher = ActionDispatcher()
    dispatcher.dispatch(violation(Action.ALERT))
    dispatcher.dispatch(violation(Action.REROUTE))
    assert dispatcher.flush(10)
    dispatcher.close()
    assert [o.status for o in dispatcher.outcomes if o.target != "log"] == ["skipped", "skipped"]


class BrokenSink:
    def save_violations(self, violations: Any) -> None:
        raise RuntimeError("database down")


def test_evaluator_as_listener_saves_and_acts_without_raising(recorder: tuple[Recorder, str]) -> None:
    rec, url = recorder
    contract = parse_contract({"consumer": "tenant-a", "ensemble": {"max": 2}, "required_throughput": 10,
                               "deadline_ms": 200,
                               "objectives": [{"metric": "accuracy", "direction": "max", "min": 0, "max": 1}]})
    dispatcher = ActionDispatcher(webhook_url=f"{url}/hook")
    listener = ContractEvaluator([contract], sink=BrokenSink(), actions=dispatcher)
    listener(window(0, p99=900.0))  # must not raise although the sink does
    assert dispatcher.flush(10)
    dispatcher.close()
    assert [body["metric"] for _, body, _ in rec.calls] == ["end_to_end.p99_ms"]
    assert len(listener.recent) == 1
