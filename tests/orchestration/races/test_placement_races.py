"""Placement rounds racing node removal, draining and each other, as real concurrent `rohe` processes on one
store (SQLite and PostgreSQL). After every race: no replica on a removed or drained node, no node over
capacity, and every replica either placed or queued (see invariants.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from invariants import violations
from race_cli import Cli, finish
from slow_placement import MARKER, RELEASE

from factories import node, service
from rohe.core.domain import ReplicaStatus
from rohe.core.storage import Store

SLOW = "slow_placement:SlowFirstFit"
# Each test starts several interpreters; on a small shared machine one cold start can take a minute.
pytestmark = pytest.mark.timeout(900)


def _seed(store_url: str, nodes: int, services: dict[str, int], cpu: int = 500) -> None:
    with Store(store_url) as store:
        store.upgrade()
        store.add_nodes([node(f"n{i}") for i in range(nodes)])
        store.add_services([service(name, cpu=cpu, replicas=count) for name, count in services.items()])


def _slow_place(cli: Cli, tmp_path: Path) -> tuple[object, Path, Path]:
    marker, release = tmp_path / "computed", tmp_path / "release"
    process = cli("place", "--algorithm", SLOW, **{MARKER: str(marker), RELEASE: str(release)})
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert process.poll() is None, f"place exited early: {process.communicate()}"
        assert time.monotonic() < deadline, "place never computed a round"
        time.sleep(0.05)
    return process, marker, release


def _rounds(marker: Path) -> int:
    return marker.read_text().count("computed")


def test_nodes_removed_while_place_computes_receive_nothing(cli: Cli, store_url: str, tmp_path: Path) -> None:
    # first-fit fills n0..n3 with 8 replicas each; n0..n2 disappear after the round read them
    _seed(store_url, nodes=6, services={f"s{i}": 8 for i in range(4)})
    place, marker, release = _slow_place(cli, tmp_path)
    finish(cli("remove-node", "--name", "n0", "--name", "n1", "--name", "n2"))
    release.touch()
    finish(place)  # type: ignore[arg-type]

    with Store(store_url) as store:
        assert violations(store) == []
        assert _rounds(marker) == 2  # the stale round was computed again from what was left
        placed = [r for r in store.list_replicas() if r.node is not None]
        assert {r.node for r in placed} == {"n3", "n4", "n5"} and len(placed) == 24


def test_nodes_drained_while_place_computes_receive_nothing(cli: Cli, store_url: str, tmp_path: Path) -> None:
    _seed(store_url, nodes=6, services={f"s{i}": 8 for i in range(4)})
    place, marker, release = _slow_place(cli, tmp_path)
    finish(cli("drain-node", "--name", "n0"))
    finish(cli("drain-node", "--name", "n1"))
    release.touch()
    finish(place)  # type: ignore[arg-type]

    with Store(store_url) as store:
        assert violations(store) == []
        assert _rounds(marker) == 2
        assert {r.node for r in store.list_replicas()} == {"n2", "n3", "n4", "n5"}


def test_two_place_runs_never_overfill_a_node(cli: Cli, store_url: str, tmp_path: Path) -> None:
    # Round A (first-fit) reads only "early" and would put all four on n0. Meanwhile "late" arrives and
    # round B (least-allocated) spreads both services over the whole cluster, filling it. If A then stored
    # its plan, n0 would hold 4 + 3 replicas of 1000m on 4000m.
    _seed(store_url, nodes=4, services={"early": 4}, cpu=1000)
    place_a, marker, release = _slow_place(cli, tmp_path)
    with Store(store_url) as store:
        store.add_services([service("late", cpu=1000, replicas=12)])
    finish(cli("place", "--algorithm", "least-allocated"))
    with Store(store_url) as store:
        stored_by_b = store.list_replicas()
    release.touch()
    finish(place_a)  # type: ignore[arg-type]

    with Store(store_url) as store:
        assert violations(store) == []
        assert _rounds(marker) == 2
        # B's placement stands: the stale round A found nothing left to place and wrote nothing
        assert store.list_replicas() == stored_by_b
        assert all(r.status is ReplicaStatus.PLACED for r in stored_by_b)


@pytest.mark.timeout(1200)  # six interpreters starting at once
def test_place_remove_and_drain_started_together_leave_a_consistent_store(cli: Cli, store_url: str) -> None:
    # No choreography: whatever order the processes run in, the invariants hold, and a final round
    # places everything the remaining nodes can take.
    _seed(store_url, nodes=12, services={f"s{i}": 10 for i in range(12)})
    processes = [
        cli("place"),
        cli("place", "--algorithm", "least-allocated"),
        cli("remove-node", "--name", "n0", "--name", "n1", "--name", "n2"),
        cli("drain-node", "--name", "n3"),
        cli("place", "--algorithm", "most-allocated"),
        cli("drain-node", "--name", "n4"),
    ]
    for process in processes:
        finish(process)
    with Store(store_url) as store:
        assert violations(store) == []
    finish(cli("place"))
    with Store(store_url) as store:
        assert violations(store) == []
        used = {r.node for r in store.list_replicas() if r.node is not None}
        assert used <= {f"n{i}" for i in range(5, 12)}
        # 120 replicas of 500m on 7 free nodes of 4000m: 56 fit
        assert sum(1 for r in store.list_replicas() if r.node is not None) == 56
