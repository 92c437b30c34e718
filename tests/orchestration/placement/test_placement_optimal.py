"""The exact CP-SAT solver: fewer nodes than first-fit, proven optimal, and every rule respected."""

from __future__ import annotations

from factories import node, service
from orchestration.placement.placement_helpers import over_capacity, requests_for
from rohe.core.config import OrchestrationSettings
from rohe.core.domain import Allocation
from rohe.orchestration.placement import ClusterState, ReplicaRequest, get_algorithm
from rohe.orchestration.placement.optimal import _checked_cores
from rohe.orchestration.usage import utilisation

SETTINGS = OrchestrationSettings(optimal_time_limit=10, strategy="first-fit")


def nodes_used(result_allocations: list[Allocation]) -> int:
    return len({a.node for a in result_allocations})


def test_optimal_packs_tighter_than_first_fit_and_proves_it() -> None:
    # items 300, 300, 700, 700 in bins of 1000: first-fit opens three nodes, pairing 300+700 needs two
    nodes = [node(f"n{i}", cores=1, rss=1000) for i in range(4)]
    small, large = service("small", cpu=300, rss=10, replicas=2), service("large", cpu=700, rss=10, replicas=2)
    requests = requests_for(small, large)

    first_fit = get_algorithm("rohe-scoring", SETTINGS).place(ClusterState.build(nodes), requests)
    optimal = get_algorithm("optimal", SETTINGS).place(ClusterState.build(nodes), requests)

    assert nodes_used(first_fit.allocations) == 3
    assert nodes_used(optimal.allocations) == 2
    assert optimal.proven_optimal is True
    assert not optimal.unplaced
    assert utilisation(nodes, optimal.allocations).mean_cpu_utilisation == 1.0


def test_optimal_places_more_before_it_saves_nodes() -> None:
    # 600 + 600 cannot share a 1000m node, so placing both needs both nodes
    nodes = [node("a", cores=1), node("b", cores=1)]
    result = get_algorithm("optimal", SETTINGS).place(
        ClusterState.build(nodes), requests_for(service("x", cpu=600, replicas=2))
    )
    assert len(result.placed) == 2 and result.proven_optimal


def test_optimal_respects_per_core_fit_and_what_is_held() -> None:
    nodes = [node("a", cores=2), node("b", cores=2)]
    # held records less node CPU than it pins, so node a fails on its cores, not on total CPU
    held = [("old", Allocation(node="a", cpu=100, cores={0: 900}))]
    state = ClusterState.build(nodes, held)
    pinned = service("pinned", cpu=0, processor=[600, 600], replicas=2)

    result = get_algorithm("optimal", SETTINGS).place(state, requests_for(pinned))

    # a has one core with 100m free left, so only b can take a [600, 600] replica, and only one
    assert [a.node for a in result.allocations] == ["b"]
    assert result.placed[("pinned", 0)].cores == {0: 600, 1: 600}
    assert result.unplaced[("pinned", 1)] == "0/2 nodes are available: 1 insufficient cpu, 1 per-core fit failed."
    assert over_capacity(nodes, [a for _, a in held] + result.allocations) == []
    assert state.free_of("b").cores == (400, 400)


def test_optimal_respects_spread_selector_and_accelerators() -> None:
    nodes = [
        node("cpu-only"),
        node("gpu1", accelerators={"gpu": 100}, labels={"tier": "edge"}),
        node("gpu2", accelerators={"gpu": 100}, labels={"tier": "edge"}),
        node("gpu3", accelerators={"gpu": 100}),
    ]
    svc = service("infer", cpu=100, accelerators={"gpu": 30}, node_selector={"tier": "edge"}, spread=True, replicas=3)

    result = get_algorithm("optimal", SETTINGS).place(ClusterState.build(nodes), requests_for(svc))

    assert sorted(a.node for a in result.allocations) == ["gpu1", "gpu2"]
    assert result.unplaced[("infer", 2)].startswith("0/4 nodes are available: 2 node(s) didn't match node selector")


def test_optimal_with_nothing_to_place() -> None:
    result = get_algorithm("optimal").place(ClusterState.build([node("a")]), [])
    assert result.placed == {} and result.unplaced == {} and result.proven_optimal is True


def test_optimal_reports_no_nodes() -> None:
    result = get_algorithm("optimal").place(ClusterState.build([]), [ReplicaRequest(service("x"), 0)])
    assert result.unplaced == {("x", 0): "0/0 nodes are available: no nodes registered."}


def test_solver_cores_are_used_only_while_they_still_have_room() -> None:
    state = ClusterState.build([node("a", cores=3)], [("old", Allocation(node="a", cpu=900, cores={0: 900}))])
    demand = state.demand_of(service("pinned", cpu=0, processor=[500, 200]))

    assert _checked_cores(state, 0, [1, 2], demand) == [1, 2]
    assert _checked_cores(state, 0, [0, 2], demand) is None  # core 0 has only 100m left
    assert _checked_cores(state, 0, [1, 1], demand) is None  # two needs on one core
    assert _checked_cores(state, 0, [1], demand) is None  # a need without a core
