"""Scaling and moving replicas through the orchestration service, and the observed-load score."""

from __future__ import annotations

import numpy as np
import pytest

from factories import node, service
from rohe.core.domain import ReplicaStatus
from rohe.core.errors import InvalidInput, NotFound
from rohe.core.storage import Store
from rohe.orchestration.placement import ClusterState, ReplicaRequest, get_algorithm
from rohe.orchestration.placement.observed import ObservedLoad, observed_load_algorithm
from rohe.orchestration.service import OrchestrationService


@pytest.fixture
def orchestration(store: Store) -> OrchestrationService:
    o = OrchestrationService(store)
    o.add_nodes([node("a", labels={"rohe.io/node-type": "pi"}), node("b", labels={"rohe.io/node-type": "nuc"})])
    o.add_services([service("web", cpu=1000, replicas=2)])
    o.place_queued()
    return o


def test_scale_is_absolute_and_idempotent(orchestration: OrchestrationService) -> None:
    result = orchestration.scale_service("web", 4)
    assert (result.before, result.after, result.added) == (2, 4, (2, 3))
    assert orchestration.scale_service("web", 4).added == ()
    orchestration.place_queued()
    assert len([r for r in orchestration.replicas(service="web") if r.status is ReplicaStatus.PLACED]) == 4
    shrunk = orchestration.scale_service("web", 1)
    assert sorted(r.index for r in shrunk.removed) == [1, 2, 3]
    assert [r.index for r in orchestration.replicas(service="web")] == [0]
    assert orchestration.get_service("web").replicas == 1
    assert sum(u.cpu_used for u in orchestration.list_nodes()) == 1000  # capacity freed at once


def test_scale_rejects_bad_counts_and_unknown_services(orchestration: OrchestrationService) -> None:
    with pytest.raises(InvalidInput):
        orchestration.scale_service("web", -1)
    with pytest.raises(NotFound):
        orchestration.scale_service("nope", 2)


def test_move_sends_a_replica_to_the_node_type(orchestration: OrchestrationService) -> None:
    replica = next(r for r in orchestration.replicas(service="web") if r.node == "a")
    moved = orchestration.move_replica("web", replica.index, "nuc")
    assert moved.status is ReplicaStatus.QUEUEING and "nuc" in moved.reason
    orchestration.place_queued()
    nodes = {r.index: r.node for r in orchestration.replicas(service="web")}
    assert nodes[replica.index] == "b"
    assert orchestration.move_replica("web", replica.index, "nuc").status is ReplicaStatus.PLACED  # already there
    with pytest.raises(InvalidInput):
        orchestration.move_replica("web", 0, "jetson")


def test_observed_load_prefers_the_node_that_is_really_idle() -> None:
    nodes = [node("a", labels={"rohe.io/node-type": "pi"}), node("b", labels={"rohe.io/node-type": "pi"})]
    request = [ReplicaRequest(service("web", cpu=500), 0)]
    # Requested capacity alone: both empty, the first wins the tie.
    assert get_algorithm("observed-load").place(ClusterState(nodes), request).placed[("web", 0)].node == "a"
    # Observed: node a burns 3.5 of its 4 cores (replicas over their requests): b wins.
    chosen = observed_load_algorithm({"a": 3.5}).place(ClusterState(nodes), request)
    assert chosen.placed[("web", 0)].node == "b"
    # A preferred node type outranks free capacity.
    typed = [node("a", labels={"rohe.io/node-type": "nuc"}), node("b", labels={"rohe.io/node-type": "pi"})]
    preferred = observed_load_algorithm({"a": 3.5}, {"web": ("nuc",)}).place(ClusterState(typed), request)
    assert preferred.placed[("web", 0)].node == "a"


def test_observed_load_single_and_vector_forms_agree() -> None:
    nodes = [node(n) for n in "abc"]
    state = ClusterState(nodes)
    demand = state.demand_of(service("web", cpu=700))
    scorer = ObservedLoad({"a": 1.0, "c": 3.9})
    vector = scorer.scores(state, np.arange(3, dtype=np.intp), demand)
    assert list(vector) == [scorer.score(state, i, demand) for i in range(3)]
