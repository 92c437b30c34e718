"""Random sequences of Store operations agree with a plain in-memory model of what they should do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from factories import node, service
from rohe.core.domain import Allocation, NodeStatus, Replica, ReplicaStatus
from rohe.core.errors import Conflict, NotFound
from rohe.core.storage import Store

# Few names, so operations often hit what earlier ones created (duplicates, replicas on removed nodes...).
NAMES = st.sampled_from(["a", "b", "c", "d"])
APPS = st.sampled_from(["app-1", "app-2"])
OPERATIONS = ["add_nodes", "remove_node", "drain_node", "add_services", "remove_service", "remove_application"]


def mostly(existing: list[str]) -> st.SearchStrategy[str]:
    """Usually a name that exists (so operations interact), sometimes any name (so refusals are tested too)."""
    if not existing:
        return NAMES
    return st.one_of(st.sampled_from(existing), st.sampled_from(existing), NAMES)


@dataclass
class Model:
    """What the store should hold. Dicts keep insertion order, which is registration order."""

    nodes: dict[str, NodeStatus] = field(default_factory=dict)
    services: dict[str, str] = field(default_factory=dict)  # name -> application
    counts: dict[str, int] = field(default_factory=dict)  # service name -> replicas
    replicas: dict[tuple[str, int], Replica] = field(default_factory=dict)

    def requeue(self, node_name: str, reason: str) -> list[Replica]:
        moved = []
        for key, replica in self.replicas.items():
            if replica.node == node_name:
                self.replicas[key] = Replica(service=key[0], index=key[1], reason=reason)
                moved.append(self.replicas[key])
        return self.ordered(moved)

    def ordered(self, replicas: list[Replica]) -> list[Replica]:
        order = list(self.services)
        return sorted(replicas, key=lambda r: (order.index(r.service), r.index))


def apply(store: Store, model: Model, operation: str, argument: Any) -> None:
    """Run one operation on both; raise (as the store would) when the model says it must be refused."""
    if operation == "add_nodes":
        if any(n in model.nodes for n in argument) or len(set(argument)) < len(argument):
            with pytest.raises(Conflict):
                store.add_nodes([node(n) for n in argument])
            return
        store.add_nodes([node(n) for n in argument])
        model.nodes.update(dict.fromkeys(argument, NodeStatus.READY))
    elif operation in ("remove_node", "drain_node"):
        if argument not in model.nodes:
            with pytest.raises(NotFound):
                if operation == "remove_node":
                    store.remove_node(argument, "x")
                else:
                    store.set_node_status(argument, NodeStatus.CORDONED, requeue_reason="x")
            return
        reason = f"{operation} {argument}"
        if operation == "remove_node":
            moved = store.remove_node(argument, reason)
            del model.nodes[argument]
        else:
            moved = store.set_node_status(argument, NodeStatus.CORDONED, requeue_reason=reason)
            model.nodes[argument] = NodeStatus.CORDONED
        assert moved == model.requeue(argument, reason)
        event("requeued replicas" if moved else "requeued nothing")
    elif operation == "add_services":
        names = [name for name, _, _ in argument]
        batch = [service(name, application=app, replicas=count) for name, app, count in argument]
        if any(n in model.services for n in names) or len(set(names)) < len(names):
            with pytest.raises(Conflict):
                store.add_services(batch)
            return
        store.add_services(batch)
        for name, app, count in argument:
            model.services[name] = app
            model.counts[name] = count
            for index in range(count):
                model.replicas[(name, index)] = Replica(service=name, index=index, reason="waiting for placement")
    elif operation == "remove_service":
        if argument not in model.services:
            with pytest.raises(NotFound):
                store.remove_service(argument)
            return
        expected = model.ordered([r for r in model.replicas.values() if r.service == argument])
        assert store.remove_service(argument) == expected
        _forget(model, {argument})
    elif operation == "remove_application":
        members = [name for name, app in model.services.items() if app == argument]
        if not members:
            with pytest.raises(NotFound):
                store.remove_application(argument)
            return
        assert [s.name for s in store.remove_application(argument)] == members
        _forget(model, set(members))
    else:
        service_name, index, node_name = argument
        allocation = Allocation(node=node_name, cpu=100, cores={index: 100})
        replica = Replica(service=service_name, index=index, status=ReplicaStatus.PLACED, allocation=allocation)
        if (service_name, index) not in model.replicas:
            with pytest.raises(NotFound):
                store.update_replicas([replica])
            return
        store.update_replicas([replica])
        model.replicas[(service_name, index)] = replica


def _forget(model: Model, services: set[str]) -> None:
    for name in services:
        del model.services[name]
        del model.counts[name]
    model.replicas = {key: r for key, r in model.replicas.items() if key[0] not in services}


def clear(store: Store) -> None:
    for stored_node in store.list_nodes():
        store.remove_node(stored_node.name, "reset")
    for stored_service in store.list_services():
        store.remove_service(stored_service.name)


def draw_step(data: st.DataObject, model: Model) -> tuple[str, Any]:
    operation = data.draw(st.sampled_from([*OPERATIONS, "place", "place", "place"]))
    nodes, services = mostly(list(model.nodes)), mostly(list(model.services))
    if operation == "add_nodes":
        return operation, data.draw(st.lists(NAMES, min_size=1, max_size=3))
    if operation in ("remove_node", "drain_node"):
        return operation, data.draw(nodes)
    if operation == "add_services":
        return operation, data.draw(st.lists(st.tuples(NAMES, APPS, st.integers(0, 3)), min_size=1, max_size=3))
    if operation == "remove_service":
        return operation, data.draw(services)
    if operation == "remove_application":
        return operation, data.draw(APPS)
    name = data.draw(services)
    # Index may be one past the last replica, to test that a missing replica is refused.
    return operation, (name, data.draw(st.integers(0, model.counts.get(name, 0))), data.draw(nodes))


# Draws happen inside the test, between database round trips; on a busy machine that can look "too slow",
# and no check here may depend on timing.
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_operations_match_the_model(store: Store, data: st.DataObject) -> None:
    clear(store)  # the database outlives a single example
    model = Model()
    for _ in range(data.draw(st.integers(1, 30), label="steps")):
        operation, argument = draw_step(data, model)
        apply(store, model, operation, argument)
        assert [(n.name, n.status) for n in store.list_nodes()] == list(model.nodes.items())
        assert [(s.name, s.application) for s in store.list_services()] == list(model.services.items())
        assert store.list_replicas() == model.ordered(list(model.replicas.values()))
