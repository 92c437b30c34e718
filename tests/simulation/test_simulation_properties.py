"""Invariants over random clusters, loads and failures, with independent or shared node CPUs: every query gets
exactly one record, no instance ever serves more than its concurrency at once, and no answer comes after
the deadline."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simulation_cases import CAT, CLASSES, NODES, instances, setup

from rohe.simulation import Failure, NodeCpu, SimInstance, SimQuery, simulate

failures = st.lists(
    st.one_of(
        st.builds(
            Failure,
            kind=st.sampled_from(["crash", "node_loss"]),
            at_s=st.floats(0, 3),
            target=st.sampled_from(NODES),
            duration_s=st.floats(0, 2),
        ),
        st.builds(
            Failure,
            kind=st.just("slowdown"),
            at_s=st.floats(0, 3),
            target=st.sampled_from(NODES),
            duration_s=st.floats(0, 2),
            factor=st.floats(0.5, 8),
        ),
    ),
    max_size=3,
)
arrival_times = st.lists(st.floats(0, 4, allow_nan=False), min_size=0, max_size=120)


def usable(spec: list[SimInstance], faults: list[Failure]) -> list[Failure]:
    """Keep only the failures whose node hosts something (the setup check refuses the others)."""
    # A crash names model@node or a model; map the sampled node to an instance on it.
    kept = []
    for f in faults:
        on_node = [x for x in spec if x.node == f.target]
        if not on_node:
            continue
        kept.append(Failure(f.kind, f.at_s, on_node[0].key, f.duration_s, f.factor) if f.kind == "crash" else f)
    return kept


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spec=instances,
    faults=failures,
    times=arrival_times,
    scheduler=st.sampled_from(["adaptive", "all-models", "dream", "random", "llf"]),
    seed=st.integers(0, 2**16),
    queueing=st.booleans(),
    cores=st.one_of(st.none(), st.sampled_from([0.5, 1.0, 2.0])),
)
def test_invariants(
    spec: list[SimInstance],
    faults: list[Failure],
    times: list[float],
    scheduler: str,
    seed: int,
    queueing: bool,
    cores: float | None,
) -> None:
    queries = [SimQuery(f"q{i}", t, CLASSES[i % len(CLASSES)]) for i, t in enumerate(times)]
    result = simulate(
        setup(
            spec,
            scheduler,
            cat=CAT,
            deadline_ms=150,
            ensemble=(1, 3),
            failures=usable(spec, faults),
            seed=seed,
            queueing=queueing,
            record_service=True,
            cpu=None if cores is None else dict.fromkeys(NODES, NodeCpu(cores)),  # shared nodes crash too
        ),
        queries,
    )
    # exactly one record per query, in query order
    assert [r.query_id for r in result.records] == [q.query_id for q in queries]
    for record in result.records:
        assert record.answered == (record.predicted_class >= 0)
        assert record.late or record.latency_s <= record.deadline_s
        if record.answered:
            assert record.latency_s <= record.deadline_s + 1e-9  # fan-out is bounded by the deadline
        assert record.members == len(record.member_models) == len(set(record.member_models))
    # never more in service at one instance than its concurrency (a sweep over span starts and ends)
    # Instances sharing a key (the same model twice on one node) are told apart by nothing: bound their sum.
    limits: dict[str, int] = {}
    for x in spec:
        limits[x.key] = limits.get(x.key, 0) + x.concurrency
    by_instance: dict[str, list[tuple[float, int]]] = {}
    for span in result.service:
        assert span.start_s <= span.end_s
        by_instance.setdefault(span.instance, []).extend([(span.start_s, 1), (span.end_s, -1)])
    for key, changes in by_instance.items():
        busy = 0
        for _, change in sorted(changes, key=lambda c: (c[0], c[1])):  # ends before starts at the same instant
            busy += change
            if queueing:
                assert busy <= limits[key]
