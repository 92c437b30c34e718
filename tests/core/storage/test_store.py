"""The Store against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import pytest
from factories import node, service
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect

from rohe.core.domain import Allocation, NodeStatus, Replica, ReplicaStatus
from rohe.core.errors import Conflict, InvalidInput, NotFound, RoheError
from rohe.core.storage import Store


def test_nodes_and_services_round_trip_exactly(store: Store) -> None:
    nodes = [
        node("rpi-1", labels={"tier": "edge"}, accelerators={}, architecture="arm64"),
        node("jetson", accelerators={"gpu": 100.0}, frequency=1.43),
    ]
    store.add_nodes(nodes)
    services = [service("web", replicas=2, processor=[500, 50], ports=[80], env={"A": "1"}, spread=True)]
    store.add_services(services)

    assert store.list_nodes() == nodes
    assert store.get_node("jetson") == nodes[1]
    assert store.list_services() == services
    assert [(r.service, r.index, r.status) for r in store.list_replicas()] == [
        ("web", 0, ReplicaStatus.QUEUEING),
        ("web", 1, ReplicaStatus.QUEUEING),
    ]


def test_a_batch_with_one_duplicate_stores_nothing(store: Store) -> None:
    store.add_nodes([node("a")])
    with pytest.raises(Conflict) as excinfo:
        store.add_nodes([node("b"), node("a"), node("c"), node("c")])
    message = str(excinfo.value)
    assert "'a' already exists" in message and "nodes[3].name" in message
    assert [n.name for n in store.list_nodes()] == ["a"]

    store.add_services([service("x")])
    with pytest.raises(Conflict):
        store.add_services([service("y"), service("x")])
    assert [s.name for s in store.list_services()] == ["x"]
    assert len(store.list_replicas()) == 1


def test_unknown_names_raise_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match="node 'ghost'"):
        store.get_node("ghost")
    with pytest.raises(NotFound):
        store.remove_node("ghost", "x")
    with pytest.raises(NotFound, match="service 'ghost'"):
        store.remove_service("ghost")
    with pytest.raises(NotFound):
        store.remove_application("ghost")
    with pytest.raises(NotFound):
        store.update_replicas([Replica(service="ghost", index=0)])


def _placed(replica: Replica, node_name: str) -> Replica:
    allocation = Allocation(node=node_name, cpu=500, cores={0: 500}, rss=256, vms=256)
    return replica.model_copy(update={"status": ReplicaStatus.PLACED, "allocation": allocation, "reason": ""})


def test_removing_or_draining_a_node_requeues_its_replicas(store: Store) -> None:
    store.add_nodes([node("a"), node("b")])
    store.add_services([service("web", replicas=3)])
    r0, r1, r2 = store.list_replicas()
    store.update_replicas([_placed(r0, "a"), _placed(r1, "a"), _placed(r2, "b")])

    drained = store.set_node_status("b", NodeStatus.CORDONED, requeue_reason="drained")
    assert [r.key for r in drained] == ["web-2"]
    assert store.get_node("b").status is NodeStatus.CORDONED

    removed = store.remove_node("a", "node a was removed")
    assert [r.key for r in removed] == ["web-0", "web-1"]
    assert all(r.status is ReplicaStatus.QUEUEING and r.allocation is None for r in store.list_replicas())
    assert {r.reason for r in store.list_replicas()} == {"drained", "node a was removed"}
    assert [n.name for n in store.list_nodes()] == ["b"]


def test_removing_a_service_deletes_its_replicas(store: Store) -> None:
    store.add_services([service("x", replicas=2, application="app"), service("y", application="app"), service("z")])
    assert [r.key for r in store.remove_service("x")] == ["x-0", "x-1"]
    assert [s.name for s in store.remove_application("app")] == ["y"]
    assert [r.key for r in store.list_replicas()] == ["z-0"]


def test_state_survives_reopening(store_url: str) -> None:
    first = Store(store_url)
    first.upgrade()
    first.add_nodes([node("a")])
    first.add_services([service("web", replicas=2)])
    r0, _ = first.list_replicas()
    first.update_replicas([_placed(r0, "a")])
    first.set_state("orchestration.agent", "running")
    first.close()

    second = Store(store_url)
    second.upgrade()  # upgrading an up-to-date database changes nothing
    assert second.schema_revision() == "0001"
    assert [n.name for n in second.list_nodes()] == ["a"]
    replicas = second.list_replicas()
    assert replicas[0].allocation is not None and replicas[0].allocation.node == "a"
    assert replicas[1].status is ReplicaStatus.QUEUEING
    assert second.get_state("orchestration.agent") == "running"
    second.set_state("orchestration.agent", None)
    assert second.get_state("orchestration.agent") is None
    second.close()


def test_migrated_schema_matches_the_models(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from rohe.core.storage.tables import Base

    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    assert set(inspect(store.engine).get_table_names()) >= {"nodes", "services", "replicas", "state"}


def test_bulk_updates_handle_many_replicas(store: Store) -> None:
    store.add_nodes([node("big", cores=64)])
    store.add_services([service(f"s{i}", replicas=100) for i in range(50)])
    replicas = store.list_replicas()
    store.update_replicas([_placed(r, "big") for r in replicas])
    assert len(store.list_replicas(node="big")) == 5000


def test_bad_urls_are_clear_errors(tmp_path: object) -> None:
    with pytest.raises(InvalidInput, match="database"):
        Store("not a url")
    with pytest.raises(InvalidInput):
        Store("nosuchdb://x/y")
    broken = Store("postgresql+psycopg://postgres:secret@127.0.0.1:1/none")
    with pytest.raises(RoheError) as excinfo:
        broken.upgrade()
    assert "secret" not in str(excinfo.value) and "database_url" in str(excinfo.value)


names = st.sampled_from(["a", "b", "c", "d"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["add_node", "remove_node", "add_service", "remove_service"]), names), max_size=25))
def test_random_sequences_match_a_simple_model(store: Store, steps: list[tuple[str, str]]) -> None:
    for n in store.list_nodes():
        store.remove_node(n.name, "reset")
    for s in store.list_services():
        store.remove_service(s.name)
    nodes: set[str] = set()
    services: set[str] = set()
    for op, name in steps:
        expected = {"add_node": name not in nodes, "remove_node": name in nodes,
                    "add_service": name not in services, "remove_service": name in services}[op]
        try:
            if op == "add_node":
                store.add_nodes([node(name)])
                nodes.add(name)
            elif op == "remove_node":
                store.remove_node(name, "gone")
                nodes.discard(name)
            elif op == "add_service":
                store.add_services([service(name, replicas=2)])
                services.add(name)
            else:
                store.remove_service(name)
                services.discard(name)
            assert expected
        except (Conflict, NotFound):
            assert not expected
    assert {n.name for n in store.list_nodes()} == nodes
    assert {s.name for s in store.list_services()} == services
    assert len(store.list_replicas()) == 2 * len(services)
