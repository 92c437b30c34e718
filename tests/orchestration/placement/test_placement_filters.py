"""Each filter on its own, in both its one-node and all-nodes forms, and the reason strings."""

from __future__ import annotations

import numpy as np
import pytest

from factories import node, service
from rohe.core.domain import Allocation, NodeStatus, Service
from rohe.orchestration.placement import ClusterState, get_algorithm
from rohe.orchestration.placement.filters import (
    Accelerators,
    Cpu,
    Filter,
    Memory,
    NodeSelector,
    PerCoreFit,
    Schedulable,
    Spread,
    VirtualMemory,
)
from rohe.orchestration.placement.result import ReplicaRequest


def verdicts(rule: Filter, state: ClusterState, svc: Service) -> list[str | None]:
    """The one-node answers, after checking the all-nodes answer agrees with them."""
    demand = state.demand_of(svc)
    one_by_one = [rule.check(state, i, demand) for i in range(state.node_count)]
    mask = rule.mask(state, demand)
    all_at_once = np.ones(state.node_count, dtype=bool) if mask is None else mask
    assert list(all_at_once) == [v is None for v in one_by_one]
    return one_by_one


def test_schedulable() -> None:
    state = ClusterState.build([node("a"), node("b", status=NodeStatus.CORDONED), node("c", status=NodeStatus.DOWN)])
    assert verdicts(Schedulable(), state, service("x")) == [None, "node not schedulable", "node not schedulable"]


def test_node_selector_needs_every_label() -> None:
    state = ClusterState.build(
        [node("a", labels={"zone": "x", "gpu": "yes"}), node("b", labels={"zone": "x"}), node("c")]
    )
    svc = service("x", node_selector={"zone": "x", "gpu": "yes"})
    miss = "node(s) didn't match node selector"
    assert verdicts(NodeSelector(), state, svc) == [None, miss, miss]
    assert verdicts(NodeSelector(), state, service("y")) == [None, None, None]


def test_spread_only_for_spread_services() -> None:
    state = ClusterState.build([node("a"), node("b")], [("web", Allocation(node="b", cpu=100))])
    assert verdicts(Spread(), state, service("web", spread=True)) == [None, "spread: already runs a replica"]
    assert verdicts(Spread(), state, service("web")) == [None, None]


@pytest.mark.parametrize(
    ("rule", "svc", "reason"),
    [
        (Cpu(), service("x", cpu=2000), "insufficient cpu"),
        (Memory(), service("x", rss=2000, vms=0), "insufficient memory"),
        (VirtualMemory(), service("x", rss=0, vms=2000), "insufficient vms"),
    ],
)
def test_resource_filters_allow_exactly_the_free_amount(rule: Filter, svc: Service, reason: str) -> None:
    # a: exactly 2000 free of each (fits: <=), b: one unit short
    state = ClusterState.build(
        [node("a", cores=2, rss=2000, vms=2000), node("b", cores=2, rss=1999, vms=1999)],
        [("o", Allocation(node="b", cpu=1))],
    )
    assert verdicts(rule, state, svc) == [None, reason]


@pytest.mark.parametrize(
    ("cores", "held", "needs", "fits"),
    [
        ([1000, 1000], {}, [1000, 1000], True),
        ([1000, 1000], {0: 1}, [1000, 1000], False),  # one core is a unit short
        ([1000, 500], {}, [400, 900], True),  # largest need matched to largest free core, in any order
        ([1000, 500], {}, [600, 600], False),  # the total fits, the cores do not
        ([1000, 1000], {}, [100, 100, 100], False),  # more needs than cores
        ([2000], {}, [0, 0, 1500], True),  # zero needs are dropped
    ],
)
def test_per_core_fit(cores: list[int], held: dict[int, int], needs: list[int], fits: bool) -> None:
    allocation = Allocation(node="a", cpu=sum(held.values()), cores=held)
    state = ClusterState.build([node("a", cores=len(cores)).model_copy(update={"cores": cores})], [("o", allocation)])
    expected = None if fits else "per-core fit failed"
    assert verdicts(PerCoreFit(), state, service("x", cpu=0, processor=needs)) == [expected]


def test_per_core_fit_on_nodes_of_different_widths() -> None:
    state = ClusterState.build([node("two", cores=2), node("eight", cores=8)])
    svc = service("x", cpu=0, processor=[500] * 4)
    assert verdicts(PerCoreFit(), state, svc) == ["per-core fit failed", None]


def test_accelerators_tell_none_from_too_little() -> None:
    state = ClusterState.build([node("a", accelerators={"gpu": 100}), node("b", accelerators={"gpu": 20}), node("c")])
    svc = service("x", accelerators={"gpu": 50})
    assert verdicts(Accelerators(), state, svc) == [None, "insufficient gpu", "no gpu"]
    assert verdicts(Accelerators(), state, service("y", accelerators={"tpu": 1})) == ["no tpu"] * 3
    assert verdicts(Accelerators(), state, service("z", accelerators={"gpu": 0})) == [None] * 3


def test_reason_counts_each_node_once_under_its_first_failure() -> None:
    nodes = [
        *(node(f"small{i}", cores=1) for i in range(7)),
        *(node(f"lowmem{i}", rss=100) for i in range(3)),
        *(node(f"plain{i}") for i in range(2)),
    ]
    svc = service("x", cpu=2000, rss=500, accelerators={"gpu": 10})
    state = ClusterState.build([n.model_copy(update={"accelerators": {"gpu": 0}}) for n in nodes])

    result = get_algorithm("rohe-scoring").place(state, [ReplicaRequest(svc, 0)])

    assert result.unplaced[("x", 0)] == "0/12 nodes are available: 7 insufficient cpu, 3 insufficient memory, 2 no gpu."


def test_reason_with_no_nodes() -> None:
    result = get_algorithm("rohe-scoring").place(ClusterState.build([]), [ReplicaRequest(service("x"), 0)])
    assert result.unplaced == {("x", 0): "0/0 nodes are available: no nodes registered."}


def test_equal_counts_are_listed_alphabetically() -> None:
    state = ClusterState.build([node("a", status=NodeStatus.CORDONED), node("b", cores=1)])
    result = get_algorithm("balanced").place(state, [ReplicaRequest(service("x", cpu=2000), 0)])
    assert result.unplaced[("x", 0)] == "0/2 nodes are available: 1 insufficient cpu, 1 node not schedulable."
