"""Invariants of every algorithm on random clusters and random request sequences (hypothesis)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.placement.placement_helpers import over_capacity
from rohe.core.config import OrchestrationSettings
from rohe.core.domain import Allocation, Memory, Node, NodeStatus, Sensitivity, Service
from rohe.orchestration.placement import (
    ClusterState,
    FilterScoreAlgorithm,
    PlacementAlgorithm,
    ReplicaRequest,
    get_algorithm,
)

STRATEGIES = ("first-fit", "best-fit", "worst-fit", "pack")
HEURISTICS = [("rohe-scoring", s) for s in STRATEGIES] + [
    (n, "best-fit") for n in ("least-allocated", "most-allocated", "balanced")
]
ALGORITHMS = [*HEURISTICS, ("optimal", "best-fit")]
REASON = re.compile(r"^0/(\d+) nodes are available: (.+)\.$")


@st.composite
def nodes(draw: st.DrawFn) -> list[Node]:
    count = draw(st.integers(0, 6))
    return [
        Node(
            name=f"n{i}",
            cores=draw(st.lists(st.sampled_from([0, 250, 500, 1000]), min_size=1, max_size=4)),
            memory=Memory(rss=draw(st.sampled_from([0, 256, 1024, 2048])), vms=draw(st.sampled_from([0, 512, 4096]))),
            accelerators=draw(st.sampled_from([{}, {"gpu": 100.0}, {"gpu": 50.0}, {"gpu": 0.0}])),
            labels=draw(st.sampled_from([{}, {"zone": "a"}, {"zone": "b"}])),
            status=draw(st.sampled_from([NodeStatus.READY] * 4 + [NodeStatus.CORDONED, NodeStatus.DOWN])),
        )
        for i in range(count)
    ]


@st.composite
def services(draw: st.DrawFn) -> list[Service]:
    count = draw(st.integers(1, 4))
    return [
        Service(
            name=f"s{i}",
            cpu=draw(st.sampled_from([0, 100, 250, 500, 1000])),
            processor=draw(st.lists(st.sampled_from([0, 100, 300, 600]), max_size=3)),
            memory=Memory(rss=draw(st.sampled_from([0, 64, 256, 1024])), vms=draw(st.sampled_from([0, 128, 1024]))),
            accelerators=draw(st.sampled_from([{}, {}, {"gpu": 10.5}, {"gpu": 33.3}, {"gpu": 50.0}, {"tpu": 1.0}])),
            node_selector=draw(st.sampled_from([{}, {}, {"zone": "a"}])),
            spread=draw(st.booleans()),
            sensitivity=draw(st.sampled_from(list(Sensitivity))),
        )
        for i in range(count)
    ]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Node], list[tuple[str, Allocation]], list[ReplicaRequest]]:
    """Nodes, what is already held on them (placed by first-fit), and the requests still to place."""
    cluster, catalogue = draw(nodes()), draw(services())
    picks = draw(st.lists(st.integers(0, len(catalogue) - 1), max_size=12))
    index: dict[str, int] = {}
    requests = []
    for pick in picks:
        svc = catalogue[pick]
        requests.append(ReplicaRequest(svc, index.setdefault(svc.name, 0)))
        index[svc.name] += 1
    already = draw(st.integers(0, len(requests)))
    first_fit = get_algorithm("rohe-scoring", OrchestrationSettings(strategy="first-fit"))
    held_result = first_fit.place(ClusterState.build(cluster), requests[:already])
    held = [(key[0], allocation) for key, allocation in held_result.placed.items()]
    return cluster, held, requests[already:]


def algorithm(name: str, strategy: str) -> PlacementAlgorithm:
    return get_algorithm(name, OrchestrationSettings(strategy=strategy, optimal_time_limit=2))  # type: ignore[arg-type]


def snapshot(state: ClusterState) -> list[Any]:
    return [state.free_of(name) for name in state.names]


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize(("name", "strategy"), ALGORITHMS)
@FAST
@given(scenario=scenarios())
def test_every_rule_holds_and_nothing_is_lost(name: str, strategy: str, scenario: Any) -> None:
    cluster, held, requests = scenario
    state = ClusterState.build(cluster, held)

    result = algorithm(name, strategy).place(state, requests)

    # no node over any capacity, recomputed from the allocations alone
    assert over_capacity(cluster, [a for _, a in held] + result.allocations) == []
    # every request exactly once: placed, or unplaced with a scheduler-style reason
    keys = [r.key for r in requests]
    assert sorted([*result.placed, *result.unplaced]) == sorted(keys)
    assert not set(result.placed) & set(result.unplaced)
    by_name = {n.name: n for n in cluster}
    services = {r.service.name: r.service for r in requests}
    for reason in result.unplaced.values():
        match = REASON.match(reason)
        assert match, reason
        assert int(match.group(1)) == len(cluster)
        if cluster:  # each node counted exactly once
            assert sum(int(part.split(" ", 1)[0]) for part in match.group(2).split(", ")) == len(cluster)
    # the placement-independent rules
    on_node: dict[tuple[str, str], int] = {}
    for service_name, allocation in [*held, *((k[0], a) for k, a in result.placed.items())]:
        on_node[service_name, allocation.node] = on_node.get((service_name, allocation.node), 0) + 1
    for (service_name, _), allocation in result.placed.items():
        svc, target = services[service_name], by_name[allocation.node]
        assert target.schedulable
        assert all(target.labels.get(k) == v for k, v in svc.node_selector.items())
        assert not svc.spread or on_node[service_name, allocation.node] == 1
        assert sorted(allocation.cores.values(), reverse=True) == svc.core_demand
        assert allocation.cpu == svc.cpu_demand


@pytest.mark.parametrize(("name", "strategy"), ALGORITHMS)
@FAST
@given(scenario=scenarios())
def test_release_restores_the_cluster_as_it_was(name: str, strategy: str, scenario: Any) -> None:
    cluster, held, requests = scenario
    state = ClusterState.build(cluster, held)
    before = snapshot(state)

    result = algorithm(name, strategy).place(state, requests)
    after = snapshot(ClusterState.build(cluster, held + [(k[0], a) for k, a in result.placed.items()]))
    for (service_name, _), allocation in result.placed.items():
        state.release(service_name, allocation)

    assert snapshot(state) == before
    assert snapshot(ClusterState.build(cluster, held)) == before
    # and placing then re-building from all allocations gives the state the algorithm left
    assert after == snapshot(ClusterState.build(cluster, held + [(k[0], a) for k, a in result.placed.items()]))


@pytest.mark.parametrize(("name", "strategy"), HEURISTICS)
@settings(max_examples=100, deadline=None)
@given(scenario=scenarios())
def test_vectorised_path_agrees_with_the_reference_path(name: str, strategy: str, scenario: Any) -> None:
    cluster, held, requests = scenario
    fast = algorithm(name, strategy)
    assert isinstance(fast, FilterScoreAlgorithm)
    reference = type(fast)(fast.name, fast.scorer, fast.select, fast.filters, vectorised=False)

    fast_result = fast.place(ClusterState.build(cluster, held), requests)
    reference_result = reference.place(ClusterState.build(cluster, held), requests)

    assert fast_result.placed == reference_result.placed
    assert fast_result.unplaced == reference_result.unplaced
    for key, decision in fast_result.decisions.items():
        other = reference_result.decisions[key]
        assert (decision.node, decision.score, decision.feasible_nodes) == (
            other.node,
            other.score,
            other.feasible_nodes,
        )
