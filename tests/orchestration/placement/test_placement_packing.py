"""The `pack` strategy of rohe-scoring: fewest nodes, constrained and large replicas first."""

from __future__ import annotations

from placement_helpers import requests_for

from factories import node, service
from rohe.core.config import OrchestrationSettings
from rohe.orchestration.placement import ClusterState, get_algorithm

PACK = OrchestrationSettings(strategy="pack")
BEST_FIT = OrchestrationSettings(strategy="best-fit")


def nodes_used(strategy: OrchestrationSettings, nodes: list, services: list) -> int:  # type: ignore[type-arg]
    result = get_algorithm("rohe-scoring", strategy).place(ClusterState.build(nodes), requests_for(*services))
    assert not result.unplaced
    return len({a.node for a in result.placed.values()})


def test_pack_opens_the_large_node_instead_of_many_small_ones() -> None:
    nodes = [node(f"pi-{i}", cores=4, rss=4096) for i in range(4)] + [node("server", cores=32, rss=65536)]
    services = [service("web", cpu=900, rss=900, replicas=12)]
    assert nodes_used(PACK, nodes, services) == 1
    assert nodes_used(BEST_FIT, nodes, services) > 1  # the fraction score fills the small nodes first


def test_constrained_replicas_go_first_so_their_few_nodes_stay_free() -> None:
    arm = {"kubernetes.io/arch": "arm64"}
    nodes = [node("orin", cores=8, rss=8192, labels=arm), node("nuc", cores=4, rss=4096)]
    anywhere = service("anywhere", cpu=4000, rss=2000)
    arm_only = service("arm-only", cpu=7000, rss=6000, node_selector=arm)
    # queued first, "anywhere" would take the larger orin and leave arm-only with nowhere to go
    result = get_algorithm("rohe-scoring", PACK).place(ClusterState.build(nodes), requests_for(anywhere, arm_only))
    assert not result.unplaced
    assert result.placed[("arm-only", 0)].node == "orin"
    assert result.placed[("anywhere", 0)].node == "nuc"


def test_pack_fills_used_nodes_before_opening_new_ones() -> None:
    nodes = [node("a", cores=8, rss=8192), node("b", cores=8, rss=8192)]
    result = get_algorithm("rohe-scoring", PACK).place(
        ClusterState.build(nodes), requests_for(service("x", cpu=1000, rss=500, replicas=6))
    )
    assert {a.node for a in result.placed.values()} == {"a"}
