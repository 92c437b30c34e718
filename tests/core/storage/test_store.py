"""Nodes, services and replicas through the Store, against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from factories import node, service
from rohe.core.domain import Allocation, NodeStatus, Replica, ReplicaStatus, Sensitivity
from rohe.core.errors import Conflict, InvalidInput, NotFound
from rohe.core.storage import Store
from rohe.core.storage.tables import ReplicaRow


def placed(replica: Replica, node_name: str, core: int = 0) -> Replica:
    allocation = Allocation(node=node_name, cpu=500, cores={core: 500}, rss=256, vms=256, accelerators={"gpu": 12.5})
    return replica.model_copy(update={"status": ReplicaStatus.PLACED, "allocation": allocation, "reason": ""})


def test_nodes_and_services_round_trip_exactly(store: Store) -> None:
    nodes = [
        node("rpi-1", labels={"tier": "edge", "zone": "a"}, architecture="arm64", status=NodeStatus.CORDONED),
        node("jetson", accelerators={"gpu": 100.0}, frequency=1.43),
        node("aa-registered-last"),
    ]
    services = [
        service("web", replicas=2, processor=[500, 50], ports=[80], env={"A": "1"}, spread=True, application="shop"),
        service("db", command=["serve", "--port", "{port}"], sensitivity=Sensitivity.BOTH, node_selector={"a": "b"}),
    ]
    store.add_nodes(nodes)
    store.add_services(services)

    assert store.list_nodes() == nodes  # registration order, not name order
    assert store.get_node("jetson") == nodes[1]
    assert store.list_services() == services
    assert store.list_services(application="shop") == services[:1]
    assert store.list_services(application="nothing") == []
    assert store.get_service("db") == services[1]


def test_new_services_queue_their_replicas(store: Store) -> None:
    store.add_services([service("web", replicas=3), service("idle", replicas=0), service("db")])
    replicas = store.list_replicas()
    assert [r.key for r in replicas] == ["web-0", "web-1", "web-2", "db-0"]
    assert all(r.status is ReplicaStatus.QUEUEING and r.allocation is None for r in replicas)
    assert {r.reason for r in replicas} == {"waiting for placement"}


def test_replicas_round_trip_and_filter(store: Store) -> None:
    store.add_nodes([node("a"), node("b")])
    store.add_services([service("web", replicas=3), service("db", replicas=2)])
    w0, w1, w2, d0, d1 = store.list_replicas()
    running = placed(d1, "a").model_copy(update={"status": ReplicaStatus.RUNNING})
    changed = [placed(w0, "a", core=3), placed(w2, "b"), running]
    failed = w1.model_copy(update={"status": ReplicaStatus.FAILED, "reason": 'image missing: ünïcode "quoted"'})
    store.update_replicas([*changed, failed])

    assert store.list_replicas() == [changed[0], failed, changed[1], d0, changed[2]]
    assert [r.key for r in store.list_replicas(node="a")] == ["web-0", "db-1"]
    assert [r.key for r in store.list_replicas(service="web", node="a")] == ["web-0"]
    assert [r.key for r in store.list_replicas(status=ReplicaStatus.QUEUEING)] == ["db-0"]
    assert store.list_replicas(service="web", status=ReplicaStatus.RUNNING) == []
    assert store.list_replicas(service="ghost") == []


def test_a_batch_with_one_duplicate_stores_nothing(store: Store) -> None:
    store.add_nodes([node("a")])
    with pytest.raises(Conflict) as caught:
        store.add_nodes([node("b"), node("a"), node("c"), node("c")])
    assert {p.location for p in caught.value.problems} == {"nodes[1].name", "nodes[3].name"}
    assert "a, c" in caught.value.message
    assert [n.name for n in store.list_nodes()] == ["a"]

    store.add_services([service("x")])
    with pytest.raises(Conflict, match="x"):
        store.add_services([service("y", replicas=5), service("x")])
    with pytest.raises(Conflict, match="z"):
        store.add_services([service("z"), service("z")])
    assert [s.name for s in store.list_services()] == ["x"]
    assert [r.key for r in store.list_replicas()] == ["x-0"]


def test_updating_a_missing_replica_writes_nothing(store: Store) -> None:
    store.add_nodes([node("a")])
    store.add_services([service("web", replicas=2)])
    first, second = store.list_replicas()
    with pytest.raises(NotFound) as caught:
        store.update_replicas([placed(first, "a"), Replica(service="web", index=7), Replica(service="ghost", index=0)])
    assert "web-7" in caught.value.message and "ghost-0" in caught.value.message
    assert store.list_replicas() == [first, second]


def test_unknown_names_raise_not_found_with_a_hint(store: Store) -> None:
    with pytest.raises(NotFound, match="node 'ghost' not found") as caught:
        store.get_node("ghost")
    assert "get-node" in caught.value.problems[0].hint
    with pytest.raises(NotFound, match="node 'ghost'"):
        store.set_node_status("ghost", NodeStatus.DOWN)
    with pytest.raises(NotFound, match="node 'ghost'"):
        store.remove_node("ghost", "x")
    with pytest.raises(NotFound, match="service 'ghost' not found"):
        store.get_service("ghost")
    with pytest.raises(NotFound, match="service 'ghost'"):
        store.remove_service("ghost")
    with pytest.raises(NotFound, match="application 'ghost'"):
        store.remove_application("ghost")


def test_draining_a_node_requeues_its_replicas(store: Store) -> None:
    store.add_nodes([node("a"), node("b")])
    store.add_services([service("web", replicas=3)])
    r0, r1, r2 = store.list_replicas()
    store.update_replicas([placed(r0, "a"), placed(r1, "b"), placed(r2, "b")])

    assert store.set_node_status("a", NodeStatus.CORDONED) == []  # no reason: replicas stay
    assert store.get_node("a").status is NodeStatus.CORDONED
    assert store.list_replicas(node="a") == [placed(r0, "a")]

    drained = store.set_node_status("b", NodeStatus.CORDONED, requeue_reason="node b drained")
    expected = [Replica(service="web", index=i, reason="node b drained") for i in (1, 2)]
    assert drained == expected
    assert store.list_replicas() == [placed(r0, "a"), *expected]
    assert store.get_node("b").status is NodeStatus.CORDONED

    assert store.set_node_status("b", NodeStatus.READY) == []
    assert [n.status for n in store.list_nodes()] == [NodeStatus.CORDONED, NodeStatus.READY]


def test_removing_a_node_requeues_its_replicas(store: Store) -> None:
    store.add_nodes([node("a"), node("b")])
    store.add_services([service("web", replicas=2), service("db")])
    w0, w1, d0 = store.list_replicas()
    store.update_replicas([placed(w0, "a"), placed(w1, "b"), placed(d0, "a")])

    removed = store.remove_node("a", "node a was removed")
    assert [(r.key, r.status, r.allocation, r.reason) for r in removed] == [
        ("web-0", ReplicaStatus.QUEUEING, None, "node a was removed"),
        ("db-0", ReplicaStatus.QUEUEING, None, "node a was removed"),
    ]
    assert store.list_replicas() == [removed[0], placed(w1, "b"), removed[1]]
    assert [n.name for n in store.list_nodes()] == ["b"]
    assert store.remove_node("b", "gone") == [Replica(service="web", index=1, reason="gone")]
    store.add_nodes([node("a")])  # the name is free again
    assert store.list_replicas(node="a") == []


def test_removing_a_service_cascades_to_its_replicas(store: Store) -> None:
    store.add_nodes([node("a")])
    store.add_services([service("x", replicas=2, application="app"), service("y", application="app"), service("z")])
    x0, x1, *_ = store.list_replicas()
    store.update_replicas([placed(x1, "a")])

    assert store.remove_service("x") == [x0, placed(x1, "a")]
    assert [s.name for s in store.remove_application("app")] == ["y"]
    assert [r.key for r in store.list_replicas()] == ["z-0"]
    with store.engine.connect() as connection:
        # The rows are really gone (ON DELETE CASCADE, which SQLite only honours with foreign keys on).
        assert connection.scalar(select(func.count()).select_from(ReplicaRow)) == 1
    store.add_services([service("x", replicas=1)])
    assert [r.key for r in store.list_replicas(service="x")] == ["x-0"]


def test_state_keys_are_set_replaced_and_deleted(store: Store) -> None:
    assert store.get_state("orchestration.agent") is None
    store.set_state("orchestration.agent", "running")
    store.set_state("orchestration.agent", "stopped")
    store.set_state("other", "")
    assert store.get_state("orchestration.agent") == "stopped"
    assert store.get_state("other") == ""
    store.set_state("orchestration.agent", None)
    store.set_state("never-set", None)
    assert store.get_state("orchestration.agent") is None
    with pytest.raises(InvalidInput, match="key"):
        store.set_state("k" * 201, "x")


def test_empty_batches_change_nothing(store: Store) -> None:
    store.add_nodes([])
    store.add_services([])
    store.update_replicas([])
    assert store.list_nodes() == [] and store.list_services() == [] and store.list_replicas() == []
