"""One Store shared by threads (the agent thread and API request threads), and clusters of realistic size."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from factories import node, service
from rohe.core.domain import Allocation, ReplicaStatus
from rohe.core.storage import Store, schema

WORKERS = 4
ROUNDS = 15


def test_threads_share_one_store_without_losing_writes(store: Store) -> None:
    store.add_nodes([node("a")])
    store.add_services([service("shared", replicas=WORKERS)])

    def worker(number: int) -> None:
        # Each round reads and then writes, the pattern that makes SQLite fail fast with "database is locked"
        # when a transaction has to upgrade its read lock while another thread writes.
        for round_ in range(ROUNDS):
            store.add_services([service(f"w{number}-{round_}", replicas=2)])
            mine = store.list_replicas(service="shared")[number]
            allocation = Allocation(node="a", cpu=round_, cores={0: round_})
            store.update_replicas([mine.model_copy(update={"status": ReplicaStatus.PLACED, "allocation": allocation})])
            store.set_state(f"worker.{number}", str(round_))
            store.set_state("last", str(number))

    with ThreadPoolExecutor(WORKERS) as pool:
        for finished in [pool.submit(worker, n) for n in range(WORKERS)]:
            finished.result()  # re-raises whatever a thread raised

    assert len(store.list_services()) == 1 + WORKERS * ROUNDS
    assert len(store.list_replicas()) == WORKERS + 2 * WORKERS * ROUNDS
    last = ROUNDS - 1
    assert [r.allocation.cpu if r.allocation else None for r in store.list_replicas(service="shared")] == [last] * 4
    assert [store.get_state(f"worker.{n}") for n in range(WORKERS)] == [str(last)] * WORKERS
    assert store.get_state("last") in {str(n) for n in range(WORKERS)}


def test_services_starting_together_migrate_the_database_once(store_url: str) -> None:
    stores = [Store(store_url) for _ in range(3)]
    try:
        with ThreadPoolExecutor(len(stores)) as pool:
            for finished in [pool.submit(s.upgrade) for s in stores]:
                finished.result()
        assert {s.schema_revision() for s in stores} == {schema.head_revision()}
        stores[0].add_nodes([node("a")])
        assert [n.name for n in stores[2].list_nodes()] == ["a"]
    finally:
        for s in stores:
            s.close()


def test_processes_starting_together_migrate_the_database_once(store_url: str) -> None:
    # Separate processes, as when the API server and a CLI start at the same moment: only a database-side
    # lock keeps their migrations apart.
    program = "import sys; from rohe.core.storage import Store; s = Store(sys.argv[1]); s.upgrade(); s.close()"
    starts = [
        subprocess.Popen([sys.executable, "-c", program, store_url], stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for process in starts:
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors
    with Store(store_url) as store:
        assert store.schema_revision() == schema.head_revision()


def test_a_hundred_thousand_replicas_are_listed_and_updated_in_bulk(store: Store) -> None:
    # 1,000 services also exercise the chunked IN (...) lists that stay below SQLite's parameter limit.
    store.add_nodes([node(f"n{i}") for i in range(10)])
    store.add_services([service(f"s{i}", replicas=100) for i in range(1000)])
    replicas = store.list_replicas()
    assert len(replicas) == 100_000

    placed = [
        r.model_copy(
            update={
                "status": ReplicaStatus.PLACED,
                "allocation": Allocation(node=f"n{i % 10}", cpu=100, cores={i % 4: 100}, rss=1, vms=1),
                "reason": "",
            }
        )
        for i, r in enumerate(replicas)
    ]
    store.update_replicas(placed)
    assert store.list_replicas() == placed
    assert len(store.list_replicas(node="n3")) == 10_000

    requeued = store.remove_node("n3", "gone")
    assert len(requeued) == 10_000 and len(store.list_replicas(status=ReplicaStatus.QUEUEING)) == 10_000
