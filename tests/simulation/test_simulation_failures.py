"""Failures act on instances as they do on the live stack: a crashed or lost instance refuses and drops its
work, the gateway retries on the next replica (at most MAX_ATTEMPTS replicas, like the fan-out), and a
request no replica could serve is counted unanswered; a slowdown stretches the work started during it."""

from __future__ import annotations

import numpy as np
from simulation_cases import catalog, queries, setup

from rohe.simulation import Failure, SimInstance, arrivals, simulate

ONE_MODEL = catalog(("fast",))
STEADY = arrivals("steady", rate=20, duration_s=10, seed=0)  # one request every 50 ms


def inside(t: float, start: float, end: float) -> bool:
    return start <= t < end


def test_a_crashed_replica_sends_its_requests_to_the_other_one() -> None:
    replicas = [SimInstance("fast", "n1", "edge"), SimInstance("fast", "n2", "edge")]
    crash = Failure("crash", at_s=2.0, target="fast@n1", duration_s=3.0)
    result = simulate(setup(replicas, cat=ONE_MODEL, failures=[crash], record_service=True), queries(STEADY))
    assert all(r.answered for r in result.records)
    on_n1 = [s for s in result.service if s.instance == "fast@n1"]
    assert not [s for s in on_n1 if inside(s.start_s, 2.0, 5.0)]  # nothing starts on it while it is down
    assert [s for s in on_n1 if s.start_s >= 5.0]  # and it serves again after the restart
    during = [s for s in result.service if inside(s.start_s, 2.0, 5.0)]
    assert during and all(s.instance == "fast@n2" for s in during)


def test_work_in_service_at_the_crash_is_retried_elsewhere() -> None:
    # Two long requests at once, one per replica (round robin); n1 crashes while serving its request.
    cat = catalog(("fast",), p50_ms=100, p99_ms=100)
    replicas = [SimInstance("fast", "n1", "edge"), SimInstance("fast", "n2", "edge")]
    crash = Failure("crash", at_s=0.05, target="fast@n1", duration_s=10.0)
    result = simulate(setup(replicas, cat=cat, failures=[crash], record_service=True), queries([0.0, 0.0]))
    assert all(r.answered for r in result.records)
    cut = [s for s in result.service if s.instance == "fast@n1"]
    assert [(s.query_id, s.end_s) for s in cut] == [("q0", 0.05)]  # cut short by the crash
    retried = [s for s in result.service if s.query_id == "q0" and s.instance == "fast@n2"]
    assert retried and retried[0].start_s >= 0.05
    assert result.records[0].latency_s > result.records[1].latency_s  # the retry waited behind q1


def test_without_another_replica_requests_during_a_crash_are_unanswered() -> None:
    crash = Failure("crash", at_s=2.0, target="fast", duration_s=3.0)
    result = simulate(setup([SimInstance("fast", "n1", "edge")], cat=ONE_MODEL, failures=[crash]), queries(STEADY))
    for record in result.records:
        down = inside(record.arrival_s, 2.0, 5.0)
        assert record.answered is not down, record
        if down:
            assert record.late and np.isnan(record.latency_s) and record.predicted_class == -1
            assert not record.correct and record.members == 1  # it was sent, and it cost
            assert record.cost == 1.0


def test_node_loss_takes_every_instance_on_the_node_down() -> None:
    cat = catalog(("fast", "slow"))
    instances = [
        SimInstance("fast", "n1", "edge"),
        SimInstance("slow", "n1", "edge"),
        SimInstance("slow", "n2", "edge"),
    ]
    loss = Failure("node_loss", at_s=2.0, target="n1", duration_s=3.0)
    result = simulate(setup(instances, "all-models", cat=cat, failures=[loss], record_service=True), queries(STEADY))
    during = [s for s in result.service if inside(s.start_s, 2.0, 5.0)]
    assert during and {s.instance for s in during} == {"slow@n2"}
    # All-models asks both models; during the loss only `slow` on n2 can answer, so requests still get an answer.
    assert all(r.answered for r in result.records)


def test_retries_stop_after_two_replicas_like_the_live_fan_out() -> None:
    replicas = [SimInstance("fast", f"n{i}", "edge") for i in (1, 2, 3)]
    down = [Failure("crash", 0.0, "fast@n1", 100.0), Failure("crash", 0.0, "fast@n2", 100.0)]
    result = simulate(setup(replicas, cat=ONE_MODEL, failures=down), queries(STEADY[:30]))
    answered = [r.answered for r in result.records]
    # Round robin starts at n1, n2, n3 in turn: from n1 the retry goes to n2 (also down) and the member fails.
    assert answered == [False, True, True] * 10


def test_a_slowdown_stretches_work_started_during_it() -> None:
    cat = catalog(("fast",), p50_ms=10, p99_ms=10)  # constant 10 ms of work
    slow = Failure("slowdown", at_s=2.0, target="n1", duration_s=3.0, factor=3.0)
    result = simulate(setup([SimInstance("fast", "n1", "edge")], cat=cat, failures=[slow]), queries(STEADY))
    for record in result.records:
        expected = 0.03 if inside(record.arrival_s, 2.0, 5.0) else 0.01
        assert abs(record.latency_s - expected) < 1e-9, record
