"""The incremental fast path: re-checks only changed nodes when every plugin is row-local, else recomputes."""

from __future__ import annotations

import numpy as np
import pytest

from factories import node, service
from orchestration.placement.placement_helpers import requests_for
from rohe.core.config import OrchestrationSettings
from rohe.orchestration.placement import ClusterState, FilterScoreAlgorithm, RoheScore, default_filters
from rohe.orchestration.placement.filters import NodeCheckFilter
from rohe.orchestration.placement.state import BoolArray, Demand


class CountingCpu(NodeCheckFilter):
    """Row-local, counting how often all nodes are evaluated at once."""

    name, reason, row_local = "counting", "counted", True

    def __init__(self) -> None:
        self.masks = 0

    def check(self, state: ClusterState, node: int, demand: Demand) -> str | None:
        return None

    def mask(self, state: ClusterState, demand: Demand) -> BoolArray | None:
        self.masks += 1
        return super().mask(state, demand)


class AtMostTwoNodesInUse(NodeCheckFilter):
    """Not row-local: whether an empty node may open depends on every other node."""

    name, reason = "two-nodes", "two nodes already in use"

    def check(self, state: ClusterState, node: int, demand: Demand) -> str | None:
        in_use = state.cpu_free < state.cpu_cap
        return self.reason if not in_use[node] and int(np.count_nonzero(in_use)) >= 2 else None


def test_built_in_plugins_evaluate_all_nodes_once_per_service_not_per_replica() -> None:
    counting = CountingCpu()
    algorithm = FilterScoreAlgorithm("t", RoheScore(OrchestrationSettings()), "min", [*default_filters(), counting])
    cluster = ClusterState.build([node(f"n{i}") for i in range(5)])

    result = algorithm.place(cluster, requests_for(service("a", replicas=6), service("b", replicas=4)))

    assert len(result.placed) == 10
    assert counting.masks == 2  # once per service; the other 8 replicas re-checked only the node that changed


@pytest.mark.parametrize("select", ["first", "min", "max"])
def test_a_filter_that_is_not_row_local_is_recomputed_for_every_replica(select: str) -> None:
    nodes = [node(f"n{i}", cores=1) for i in range(4)]
    filters = [*default_filters(), AtMostTwoNodesInUse()]
    requests = requests_for(service("a", cpu=600, replicas=4))
    fast = FilterScoreAlgorithm("t", RoheScore(OrchestrationSettings()), select, filters)  # type: ignore[arg-type]
    reference = FilterScoreAlgorithm("t", fast.scorer, fast.select, filters, vectorised=False)

    got = fast.place(ClusterState.build(nodes), requests)
    expected = reference.place(ClusterState.build(nodes), requests)

    assert got.placed == expected.placed and got.unplaced == expected.unplaced
    assert len({a.node for a in got.placed.values()}) == 2
    assert len(got.unplaced) == 2


@pytest.mark.parametrize("select", ["first", "min", "max"])
def test_a_view_many_changes_old_is_recomputed_and_agrees_with_the_reference(select: str) -> None:
    nodes = [node(f"n{i}", cores=2, rss=1024 * (1 + i % 3)) for i in range(20)]
    a, b = service("a", cpu=300, rss=200, replicas=3), service("b", cpu=700, rss=300, spread=True, replicas=12)
    # a's second and third replicas come after more changes than are worth re-checking one node at a time
    requests = [*requests_for(a)[:1], *requests_for(b), *requests_for(a)[1:]]
    fast = FilterScoreAlgorithm("t", RoheScore(OrchestrationSettings()), select)  # type: ignore[arg-type]
    reference = FilterScoreAlgorithm("t", fast.scorer, fast.select, vectorised=False)

    got = fast.place(ClusterState.build(nodes), requests)
    expected = reference.place(ClusterState.build(nodes), requests)

    assert got.placed == expected.placed
    assert [(d.node, d.score, d.feasible_nodes) for d in got.decisions.values()] == [
        (d.node, d.score, d.feasible_nodes) for d in expected.decisions.values()
    ]


def test_a_node_changed_by_another_service_keeps_failing_the_rules_placing_cannot_change() -> None:
    """zone-b nodes change (b's replicas land there) between a's replicas: a must still never go there."""
    nodes = [node("b1", labels={"zone": "b"}), node("a1", labels={"zone": "a"}, cores=1)]
    a = service("a", cpu=400, replicas=3, node_selector={"zone": "a"})
    b = service("b", cpu=100, replicas=2, node_selector={"zone": "b"})
    interleaved = [requests_for(a)[0], requests_for(b)[0], requests_for(a)[1], requests_for(b)[1], requests_for(a)[2]]
    algorithm = FilterScoreAlgorithm("t", RoheScore(OrchestrationSettings()), "max")

    result = algorithm.place(ClusterState.build(nodes), interleaved)

    assert {key: a.node for key, a in result.placed.items()} == {
        ("a", 0): "a1",
        ("a", 1): "a1",
        ("b", 0): "b1",
        ("b", 1): "b1",
    }
    assert result.unplaced[("a", 2)].startswith("0/2 nodes are available")
