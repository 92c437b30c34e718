"""The load generator against a stub gateway over real HTTP: accounting, accuracy from labels, open loop."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from loadgen_stub import STUB_DELAY_S, STUB_SLOW_S, WRONG_CLASS, serve_stub

from rohe.serving.loadgen import (
    LabelledSamples,
    RequestOutcome,
    TimedAction,
    parse_workload_profile,
    run_workload,
)


@pytest.fixture(scope="module")
def stub() -> Iterator[tuple[str, dict[str, Any]]]:
    with serve_stub() as served:
        yield served


def samples() -> LabelledSamples:
    # The stub reads the label from the first number, so the expected accuracy follows from the labels.
    labels = list(range(10))
    return LabelledSamples(tuple((float(label), 0.5) for label in labels), tuple(labels))


def phases(*items: dict[str, Any], **top: Any) -> Any:
    return parse_workload_profile({"phases": list(items), **top})


def test_every_request_is_accounted_for_and_judged_against_ground_truth(stub: tuple[str, dict[str, Any]]) -> None:
    url, seen = stub
    profile = phases(
        {
            "name": "one",
            "duration_s": 1.0,
            "rate": 40,
            "arrival": "constant",
            "mix": {"alpha": 1, "beta": 1},
            "algorithms": ["adaptive", "all-models"],
        },
        feedback=True,
    )
    before = len(seen["feedback"])
    run = run_workload(url, profile, samples())
    assert len(run.results) == 40
    assert [r.index for r in run.results] == list(range(40))
    assert all(r.status is RequestOutcome.OK for r in run.results)
    for result in run.results:
        assert result.correct == (result.true_class != WRONG_CLASS)
        # measured from the intended time, so never below what the stub waits
        assert result.latency_ms is not None and result.latency_ms >= STUB_DELAY_S * 1000 * 0.9
    rows = {(r.consumer, r.algorithm): r for r in run.summary()}
    assert set(rows) == {(c, a) for c in ("alpha", "beta") for a in ("adaptive", "all-models")}
    for (consumer, algorithm), row in rows.items():
        mine = [r for r in run.results if r.consumer == consumer and r.algorithm == algorithm]
        assert row.requests == len(mine) == 10
        assert row.accuracy == pytest.approx(sum(r.true_class != WRONG_CLASS for r in mine) / len(mine))
        assert row.ensemble_size_mean == (2 if algorithm == "all-models" else 1)
        assert row.offered_rps == pytest.approx(10.0)
        assert row.deadline_miss_ratio == 0
    assert run.feedback_sent == 40 and run.feedback_failed == 0
    labels = {f["request_id"]: f["true_class"] for f in seen["feedback"][before:]}
    assert labels == {r.request_id: r.true_class for r in run.results}


def test_ground_truth_goes_to_the_oracle_only(stub: tuple[str, dict[str, Any]]) -> None:
    url, seen = stub
    before = len(seen["infer"])
    run_workload(
        url,
        phases(
            {
                "name": "o",
                "duration_s": 0.2,
                "rate": 20,
                "mix": {"alpha": 1},
                "algorithms": ["oracle", "adaptive"],
                "arrival": "constant",
            }
        ),
        samples(),
    )
    sent = seen["infer"][before:]
    assert {b["algorithm"] for b in sent} == {"oracle", "adaptive"}
    for body in sent:
        assert (body["ground_truth"] is not None) == (body["algorithm"] == "oracle")


def test_cap_drops_at_the_intended_time_instead_of_delaying(stub: tuple[str, dict[str, Any]]) -> None:
    url, _ = stub
    profile = phases(
        {
            "name": "flood",
            "duration_s": 0.5,
            "rate": 40,
            "arrival": "constant",
            "mix": {"slow": 1},
            "max_concurrency": 3,
        }
    )
    run = run_workload(url, profile, samples())
    dropped = [r for r in run.results if r.status is RequestOutcome.DROPPED]
    sent = [r for r in run.results if r.status is not RequestOutcome.DROPPED]
    assert len(run.results) == 20
    # 3 slots, each busy STUB_SLOW_S: about 3 per 0.3 s can go out over 0.5 s
    assert 3 <= len(sent) <= 9 and len(dropped) == 20 - len(sent)
    for result in sent:
        # never held back until a slot frees (that would take STUB_SLOW_S); a loaded machine adds some lag
        assert result.sent_s is not None and result.sent_s - result.intended_s < STUB_SLOW_S / 2
        assert result.latency_ms is not None and result.latency_ms >= STUB_SLOW_S * 1000 * 0.9
    assert all(r.sent_s is None and r.deadline_missed for r in dropped)
    (row,) = run.summary()
    assert row.dropped == len(dropped) and row.deadline_miss_ratio >= len(dropped) / 20


def test_errors_and_rejections_are_recorded_with_their_reason(stub: tuple[str, dict[str, Any]]) -> None:
    url, _ = stub
    profile = phases(
        {"name": "bad", "duration_s": 0.2, "rate": 20, "arrival": "constant", "mix": {"broken": 1, "nobody": 1}}
    )
    run = run_workload(url, profile, samples())
    assert len(run.results) == 4
    broken = [r for r in run.results if r.consumer == "broken"]
    nobody = [r for r in run.results if r.consumer == "nobody"]
    assert all(r.status is RequestOutcome.ERROR and r.http_status == 503 for r in broken)
    assert all("no member answered" in (r.error or "") for r in broken)
    assert all(r.status is RequestOutcome.ERROR and r.http_status == 422 for r in nobody)
    assert all(r.correct is None and r.deadline_missed for r in run.results)
    assert {row.errors for row in run.summary()} == {2}


def test_a_dead_gateway_is_an_error_per_request_not_a_crash() -> None:
    profile = phases(
        {"name": "x", "duration_s": 0.1, "rate": 30, "arrival": "constant", "mix": {"alpha": 1}}, timeout_s=2
    )
    run = run_workload("http://127.0.0.1:9", profile, samples())
    assert len(run.results) == 3
    assert all(r.status is RequestOutcome.ERROR and "Connect" in (r.error or "") for r in run.results)


def test_timed_actions_run_mid_run_and_become_events(stub: tuple[str, dict[str, Any]]) -> None:
    url, _ = stub
    marks: list[float] = []

    def mark() -> dict[str, object]:
        marks.append(time.monotonic())
        return {"service": "m1"}

    def boom() -> None:
        raise RuntimeError("nope")

    profile = phases({"name": "x", "duration_s": 0.6, "rate": 10, "arrival": "constant", "mix": {"alpha": 1}})
    run = run_workload(url, profile, samples(), actions=[TimedAction(0.3, "kill", mark), TimedAction(0.1, "b", boom)])
    events = {e["event"]: e for e in run.events}
    assert events["kill"]["service"] == "m1" and 0.25 <= float(events["kill"]["at_s"]) < 0.5  # type: ignore[arg-type]
    assert "RuntimeError" in str(events["b"]["error"])
    assert len(marks) == 1
