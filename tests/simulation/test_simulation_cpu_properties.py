"""Properties of shared node CPUs over random clusters, loads and slowdowns: no call finishes before its CPU
demand, no node does more work than its free cores allow, nothing is lost, and a node that never holds two
calls at once behaves exactly as independent servers."""

from __future__ import annotations

import pickle

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simulation_cases import CAT, CLASSES, MODELS, NODES, Constant, instances, setup

from rohe.simulation import Failure, NodeCpu, ServiceSpan, SimInstance, SimQuery, simulate

EPS = 1e-9

cpus = st.builds(NodeCpu, cores=st.sampled_from([0.5, 1.0, 1.5, 2.0, 4.0]), background_cores=st.just(0.0)).flatmap(
    lambda c: st.builds(NodeCpu, cores=st.just(c.cores), background_cores=st.floats(0, c.cores * 0.9))
)
slowdowns = st.lists(
    st.builds(
        Failure,
        kind=st.just("slowdown"),
        at_s=st.floats(0, 3),
        target=st.sampled_from(NODES),
        duration_s=st.floats(0, 2),
        factor=st.floats(0.5, 8),
    ),
    max_size=2,
)
SCHEDULERS = st.sampled_from(["adaptive", "all-models", "dream", "random", "llf"])


def work_bound_holds(spans: list[ServiceSpan], free: float) -> bool:
    """Calls that start at or after t0 run only in [t0, their last end]: their demands fit in free x that."""
    ordered = sorted(spans, key=lambda s: s.start_s)
    for i, first in enumerate(ordered):
        later = ordered[i:]
        if sum(s.demand_s for s in later) > free * (max(s.end_s for s in later) - first.start_s) + 1e-6:
            return False
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spec=instances,
    node_cpu=st.fixed_dictionaries({n: cpus for n in NODES}),
    faults=slowdowns,
    times=st.lists(st.floats(0, 4, allow_nan=False), max_size=100),
    scheduler=SCHEDULERS,
    seed=st.integers(0, 2**16),
    queueing=st.booleans(),
)
def test_shared_cpu_invariants(
    spec: list[SimInstance],
    node_cpu: dict[str, NodeCpu],
    faults: list[Failure],
    times: list[float],
    scheduler: str,
    seed: int,
    queueing: bool,
) -> None:
    hosting = {x.node for x in spec}
    queries = [SimQuery(f"q{i}", t, CLASSES[i % len(CLASSES)]) for i, t in enumerate(times)]
    result = simulate(
        setup(
            spec,
            scheduler,
            cat=CAT,
            deadline_ms=150,
            ensemble=(1, 3),
            failures=[f for f in faults if f.target in hosting],
            seed=seed,
            queueing=queueing,
            record_service=True,
            cpu=node_cpu,
        ),
        queries,
    )
    # Nothing lost: one record per query, and every member call sent (no crash here) ran to its end.
    assert [r.query_id for r in result.records] == [q.query_id for q in queries]
    served = {x.model for x in spec}  # a member of a model without replicas fails at once, without a call
    assert len(result.service) == sum(m in served for r in result.records for m in r.member_models)
    by_node: dict[str, list[ServiceSpan]] = {}
    for span in result.service:
        # never faster than one core: a call takes at least its CPU demand
        assert span.end_s - span.start_s >= span.demand_s - EPS
        by_node.setdefault(span.instance.split("@", 1)[1], []).append(span)
    for node, spans in by_node.items():
        assert work_bound_holds(spans, node_cpu[node].free), node


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    gaps=st.lists(st.floats(0.25, 2.0), min_size=1, max_size=40),
    scheduler=SCHEDULERS,
    seed=st.integers(0, 2**16),
    node_cpu=st.sampled_from([1.0, 1.5, 2.0]).flatmap(
        lambda c: st.builds(NodeCpu, cores=st.just(c), background_cores=st.floats(0, c - 1))
    ),
)
def test_one_call_per_node_at_a_time_equals_independent_servers(
    gaps: list[float], scheduler: str, seed: int, node_cpu: NodeCpu
) -> None:
    # One model per node, each instance allowed 3 calls, so every node can be oversubscribed and the shared
    # path runs; but requests come further apart than a request's calls last (phase 0 + phase 1 <= 0.2 s),
    # so a node never holds two calls and has at least one free core for the one it holds.
    spec = [SimInstance(m, n, "edge", 3) for m, n in zip(MODELS, NODES, strict=True)]
    times = [sum(gaps[: i + 1]) for i in range(len(gaps))]
    queries = [SimQuery(f"q{i}", t, CLASSES[i % len(CLASSES)]) for i, t in enumerate(times)]

    def run(cpu: dict[str, NodeCpu] | None) -> bytes:
        chosen = setup(
            spec, scheduler, cat=CAT, deadline_ms=5000, ensemble=(1, 3), service_time=Constant(0.1), seed=seed, cpu=cpu
        )
        return pickle.dumps(simulate(chosen, queries).records)

    assert run(None) == run(dict.fromkeys(NODES, node_cpu))
