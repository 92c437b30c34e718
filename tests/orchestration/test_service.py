"""The Orchestration Service over a real store: queue, placement, removal, drain and restart."""

from __future__ import annotations

import pytest

from factories import node, service
from rohe.core.config import OrchestrationSettings
from rohe.core.domain import NodeStatus, ReplicaStatus
from rohe.core.errors import Conflict, InvalidInput, NotFound
from rohe.core.storage import Store
from rohe.orchestration.agent import OrchestrationAgent
from rohe.orchestration.service import OrchestrationService


@pytest.fixture
def orchestration(store: Store) -> OrchestrationService:
    return OrchestrationService(store, OrchestrationSettings())


def test_queued_replicas_are_placed_and_used_amounts_follow(orchestration: OrchestrationService) -> None:
    orchestration.add_nodes([node("a"), node("b")])
    orchestration.add_services([service("web", cpu=1500, rss=1000, replicas=2)])
    assert {r.status for r in orchestration.replicas()} == {ReplicaStatus.QUEUEING}

    result = orchestration.place_queued()

    assert len(result.placed) == 2 and not result.unplaced
    usage = {u.node.name: u for u in orchestration.list_nodes()}
    assert sum(u.cpu_used for u in usage.values()) == 3000
    assert sum(u.rss_used for u in usage.values()) == 2000
    assert all(r.status is ReplicaStatus.PLACED for r in orchestration.replicas())


def test_unplaceable_replica_stays_queued_with_a_reason(orchestration: OrchestrationService) -> None:
    orchestration.add_nodes([node("a", cores=2)])
    orchestration.add_services([service("big", cpu=5000)])

    orchestration.place_queued()

    (replica,) = orchestration.replicas()
    assert replica.status is ReplicaStatus.QUEUEING
    assert replica.reason.startswith("0/1 nodes")
    assert "cpu" in replica.reason


def test_removing_a_service_frees_exactly_what_it_held(orchestration: OrchestrationService) -> None:
    orchestration.add_nodes([node("a")])
    before = orchestration.get_node("a")
    orchestration.add_services([service("x", cpu=700, rss=300, processor=[500, 100]), service("y", cpu=200)])
    orchestration.place_queued()

    orchestration.remove_service("x")
    orchestration.remove_service("y")

    after = orchestration.get_node("a")
    assert (after.cpu_used, after.rss_used, after.cores_used) == (
        before.cpu_used,
        before.rss_used,
        before.cores_used,
    )
    assert orchestration.replicas() == []


def test_removing_a_node_requeues_its_replicas_and_they_move(orchestration: OrchestrationService) -> None:
    orchestration.add_nodes([node("a"), node("b")])
    orchestration.add_services([service("web", cpu=1000, replicas=2, spread=True)])
    orchestration.place_queued()

    requeued = orchestration.remove_node("a")

    assert len(requeued) == 1
    (moved,) = [r for r in orchestration.replicas() if r.status is ReplicaStatus.QUEUEING]
    assert "node a was removed" in moved.reason
    orchestration.place_queued()
    # spread: the second replica cannot join the first on b, so it waits for another node
    assert [r.status for r in orchestration.replicas()].count(ReplicaStatus.QUEUEING) == 1
    orchestration.add_nodes([node("c")])
    orchestration.place_queued()
    assert {r.node for r in orchestration.replicas()} == {"b", "c"}


def test_draining_a_node_moves_its_replicas_elsewhere(orchestration: OrchestrationService) -> None:
    orchestration.add_nodes([node("a"), node("b")])
    orchestration.add_services([service("web", cpu=500, replicas=3)])
    orchestration.place_queued()
    busiest = max(orchestration.list_nodes(), key=lambda u: len(u.replicas)).node.name

    orchestration.drain_node(busiest)
    orchestration.place_queued()

    assert orchestration.get_node(busiest).node.status is NodeStatus.CORDONED
    assert all(r.node != busiest for r in orchestration.replicas())
    assert all(r.status is ReplicaStatus.PLACED for r in orchestration.replicas())


def test_plan_is_a_dry_run(orchestration: OrchestrationService) -> None:
    orchestration.add_nodes([node("a")])
    orchestration.add_services([service("web", replicas=2), service("huge", cpu=99_000)])

    plan = orchestration.plan()

    assert plan.placed == 2 and len(plan.entries) == 3
    assert all(r.status is ReplicaStatus.QUEUEING for r in orchestration.replicas())
    huge = next(e for e in plan.entries if e.service == "huge")
    assert huge.node is None and "insufficient cpu" in huge.reason


def test_duplicates_and_unknown_names_leave_state_unchanged(orchestration: OrchestrationService) -> None:
    orchestration.add_nodes([node("a")])
    with pytest.raises(Conflict):
        orchestration.add_nodes([node("b"), node("a")])
    with pytest.raises(NotFound):
        orchestration.remove_node("nope")
    with pytest.raises(NotFound):
        orchestration.remove_service("nope")
    assert [u.node.name for u in orchestration.list_nodes()] == ["a"]


def test_unknown_algorithm_is_rejected_at_start(store: Store) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        OrchestrationService(store, OrchestrationSettings(algorithm="no-such-thing"))
    assert "orchestration.algorithm" in str(excinfo.value)


def test_agent_drains_the_queue_and_resumes_after_a_restart(store_url: str) -> None:
    store = Store(store_url)
    store.upgrade()
    service_ = OrchestrationService(store, OrchestrationSettings(interval=0.05))
    agent = OrchestrationAgent(service_)
    service_.add_nodes([node("a")])
    agent.start()
    service_.add_services([service("web", replicas=2)])
    agent.poke()
    _wait_for(lambda: all(r.status is ReplicaStatus.PLACED for r in service_.replicas()))
    agent.shutdown()  # a crash or restart, not a user's stop
    store.close()

    reopened = Store(store_url)
    restarted = OrchestrationService(reopened, OrchestrationSettings(interval=0.05))
    agent2 = OrchestrationAgent(restarted)
    assert agent2.resume() is True
    restarted.add_services([service("api")])
    agent2.poke()
    _wait_for(lambda: all(r.status is ReplicaStatus.PLACED for r in restarted.replicas()))
    assert len(restarted.replicas()) == 3
    agent2.stop()
    assert OrchestrationAgent(restarted).resume() is False
    reopened.close()


def _wait_for(condition: object, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")
