"""ClusterState: free capacity from held allocations, allocate/release symmetry, copies, bad input."""

from __future__ import annotations

import pytest

from factories import node, service
from rohe.core.domain import Allocation
from rohe.core.errors import InvalidInput, NotFound
from rohe.orchestration.placement import ClusterState


def test_held_allocations_are_taken_from_free_capacity() -> None:
    held = Allocation(node="a", cpu=700, cores={1: 500}, rss=100, vms=200, accelerators={"gpu": 30.0})
    state = ClusterState.build([node("a", accelerators={"gpu": 100}), node("b")], [("web", held)])

    free = state.free_of("a")

    assert (free.cpu, free.cores, free.rss, free.vms) == (3300, (1000, 500, 1000, 1000), 3996, 3896)
    assert free.accelerators == {"gpu": 70.0}
    assert state.free_of("b").cpu == 4000
    assert state.held == {"web": {0: 1}}


def test_release_gives_back_exactly_what_allocate_took() -> None:
    state = ClusterState.build([node("a")])
    before = state.free_of("a")
    demand = state.demand_of(service("x", cpu=300, rss=64, processor=[600, 200]))

    allocation = state.allocate(demand, 0)
    assert allocation.cpu == 800  # a replica takes at least what its cores pin
    assert allocation.cores == {0: 600, 1: 200}
    assert state.free_of("a") != before

    state.release("x", allocation)
    assert state.free_of("a") == before
    assert state.held == {"x": {}}


def test_largest_need_goes_to_the_core_with_most_free() -> None:
    state = ClusterState.build([node("a", cores=3)], [("other", Allocation(node="a", cpu=900, cores={0: 900}))])
    demand = state.demand_of(service("x", cpu=0, processor=[100, 800]))

    allocation = state.allocate(demand, 0)

    assert allocation.cores == {1: 800, 2: 100}


def test_copy_is_independent() -> None:
    state = ClusterState.build([node("a")])
    clone = state.copy()
    clone.allocate(clone.demand_of(service("x", cpu=1000, processor=[1000])), 0)

    assert state.free_of("a").cpu == 4000 and state.free_of("a").cores == (1000,) * 4
    assert clone.free_of("a").cpu == 3000
    assert state.held == {}


def test_duplicate_node_names_are_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        ClusterState.build([node("a"), node("a")])
    assert caught.value.problems[0].location == "nodes[1].name"


def test_held_on_unknown_node_or_core_is_refused() -> None:
    with pytest.raises(NotFound):
        ClusterState.build([node("a")], [("x", Allocation(node="ghost", cpu=1))])
    with pytest.raises(InvalidInput) as caught:
        ClusterState.build([node("a", cores=2)], [("x", Allocation(node="a", cpu=1, cores={5: 1}))])
    assert "cores[5]" in caught.value.problems[0].location


def test_empty_cluster_is_valid() -> None:
    state = ClusterState.build([])
    assert state.node_count == 0


def test_allocations_built_by_placement_are_the_validated_model() -> None:
    state = ClusterState.build([node("a", accelerators={"gpu": 100})])
    demand = state.demand_of(service("x", cpu=300, rss=64, processor=[600], accelerators={"gpu": 10}))

    built = state.allocate(demand, 0)
    validated = Allocation(node="a", cpu=600, cores={0: 600}, rss=64, vms=64, accelerators={"gpu": 10.0})

    assert built == validated
    assert built.model_dump() == validated.model_dump()
    assert built.model_fields_set == validated.model_fields_set
    changed = built.model_copy(update={"cpu": 700})
    assert changed.cpu == 700 and built.cpu == 600
    assert built.model_fields_set == validated.model_fields_set  # the copy did not touch the shared set
    with pytest.raises(ValueError):
        built.cpu = 1  # type: ignore[misc]
