"""Score plugins by value, and each strategy choosing the node it should on hand-made clusters."""

from __future__ import annotations

import numpy as np
import pytest

from factories import node, service
from rohe.core.config import OrchestrationSettings, Weights
from rohe.core.domain import Allocation, Sensitivity
from rohe.orchestration.placement import (
    BalancedAllocation,
    ClusterState,
    LeastAllocated,
    MostAllocated,
    ReplicaRequest,
    RoheScore,
    Scorer,
    get_algorithm,
)


@pytest.fixture
def cluster() -> ClusterState:
    """a: 4000m/4096 MiB empty; b: same, half used; c: 8000m/1024 MiB empty."""
    return ClusterState.build(
        [node("a"), node("b"), node("c", cores=8, rss=1024)],
        [("o", Allocation(node="b", cpu=2000, rss=2048))],
    )


def all_scores(scorer: Scorer, state: ClusterState, svc_cpu: int, svc_rss: int, **extra: object) -> list[float]:
    demand = state.demand_of(service("x", cpu=svc_cpu, rss=svc_rss, **extra))
    one_by_one = [scorer.score(state, i, demand) for i in range(state.node_count)]
    at_once = scorer.scores(state, np.arange(state.node_count), demand)
    assert list(at_once) == one_by_one  # exactly equal, not approximately: ties must break the same way
    return one_by_one


def test_rohe_score_is_the_weighted_free_fraction_after_placement(cluster: ClusterState) -> None:
    scores = all_scores(RoheScore(OrchestrationSettings()), cluster, 1000, 1024)
    # a: (3000/4000 + 3072/4096) / 2, b: (1000/4000 + 1024/4096) / 2, c: (7000/8000 + 0/1024) / 2
    assert scores == pytest.approx([0.75, 0.25, 0.4375])


def test_rohe_score_boosts_the_sensitive_resource(cluster: ClusterState) -> None:
    settings = OrchestrationSettings(weights=Weights(cpu=1, memory=1), sensitivity_boost=1)
    scores = all_scores(RoheScore(settings), cluster, 1000, 1024, sensitivity=Sensitivity.CPU)
    # w_c = 2, w_m = 1: c = (2 * 0.875 + 0) / 3
    assert scores[2] == pytest.approx(1.75 / 3)


def test_rohe_score_with_zero_weights_is_zero(cluster: ClusterState) -> None:
    settings = OrchestrationSettings(weights=Weights(cpu=0, memory=0))
    assert all_scores(RoheScore(settings), cluster, 1000, 1024) == [0.0, 0.0, 0.0]


def test_kubernetes_scores(cluster: ClusterState) -> None:
    least = all_scores(LeastAllocated(Weights()), cluster, 1000, 1024)
    most = all_scores(MostAllocated(Weights()), cluster, 1000, 1024)
    balanced = all_scores(BalancedAllocation(), cluster, 1000, 1024)
    assert least == pytest.approx([75.0, 25.0, 43.75])
    assert most == pytest.approx([25.0, 75.0, 56.25])
    # used fractions a: (0.25, 0.25), b: (0.75, 0.75), c: (0.125, 1.0)
    assert balanced == pytest.approx([100.0, 100.0, (1 - 0.875 / 2) * 100])


@pytest.mark.parametrize(
    ("algorithm", "strategy", "expected"),
    [
        ("rohe-scoring", "first-fit", "a"),
        ("rohe-scoring", "best-fit", "b"),  # least left free afterwards
        ("rohe-scoring", "worst-fit", "a"),  # most left free afterwards
        ("least-allocated", "best-fit", "a"),
        ("most-allocated", "best-fit", "b"),
        ("balanced", "best-fit", "a"),  # a and b tie at 100: the earlier node wins
    ],
)
def test_strategy_chooses_the_expected_node(
    cluster: ClusterState, algorithm: str, strategy: str, expected: str
) -> None:
    chosen = get_algorithm(algorithm, OrchestrationSettings(strategy=strategy))  # type: ignore[arg-type]
    result = chosen.place(cluster, [ReplicaRequest(service("x", cpu=1000, rss=1024), 0)])
    assert result.placed[("x", 0)].node == expected
    decision = result.decisions[("x", 0)]
    assert decision.node == expected and decision.feasible_nodes == 3 and decision.score is not None


def test_best_fit_skips_infeasible_nodes_and_breaks_ties_to_the_earlier_node() -> None:
    state = ClusterState.build([node("full", cores=1), node("p"), node("q")])
    result = get_algorithm("rohe-scoring").place(state, [ReplicaRequest(service("x", cpu=2000, rss=100), 0)])
    assert result.placed[("x", 0)].node == "p"


def test_placements_update_the_cluster_between_requests() -> None:
    state = ClusterState.build([node("a", cores=2), node("b", cores=2)])
    svc = service("x", cpu=1500, rss=10, replicas=3)
    result = get_algorithm("rohe-scoring", OrchestrationSettings(strategy="first-fit")).place(
        state, [ReplicaRequest(svc, i) for i in range(3)]
    )
    assert [result.placed[("x", i)].node for i in range(2)] == ["a", "b"]
    assert result.unplaced[("x", 2)] == "0/2 nodes are available: 2 insufficient cpu."
    assert state.free_of("a").cpu == 500
