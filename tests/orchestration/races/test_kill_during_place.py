"""kill -9 of a `rohe orchestration place` process while it writes its round: the store keeps the state from
before the round (the round is one transaction), stays usable, and the next round places everything.

"While it writes" is observed, not guessed: on SQLite the write-ahead log starts filling (nothing else
writes), on PostgreSQL the process's backend holds a row-exclusive lock on the replicas table.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from invariants import violations
from race_cli import Cli, finish
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from factories import node, service
from rohe.core.domain import ReplicaStatus
from rohe.core.storage import Store

WRITING_ON_POSTGRES = text(
    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
    "WHERE c.relname = 'replicas' AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid() "
    # other test runs use other databases on the same server
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def _writing(store_url: str) -> bool:
    if store_url.startswith("sqlite"):
        wal = Path(str(make_url(store_url).database) + "-wal")
        return wal.exists() and wal.stat().st_size > 0
    engine = create_engine(store_url)
    try:
        with engine.connect() as connection:
            return bool(connection.execute(WRITING_ON_POSTGRES).scalar())
    finally:
        engine.dispose()


@pytest.mark.timeout(900)
def test_kill_9_while_place_writes_leaves_the_store_as_before(cli: Cli, store_url: str) -> None:
    with Store(store_url) as store:
        store.upgrade()
        store.add_nodes([node(f"n{i}", cores=32, rss=131072) for i in range(60)])
        # per-core pinned replicas: every allocation is a JSON document, so the write is long enough to catch
        store.add_services([service(f"s{i}", cpu=0, rss=64, replicas=200, processor=[50, 50]) for i in range(60)])
        if store_url.startswith("sqlite"):
            with store.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        before = store.list_replicas()
    assert not _writing(store_url)

    place = cli("place")
    deadline = time.monotonic() + 600
    while not _writing(store_url):
        assert place.poll() is None, f"place ended before it was seen writing: {place.communicate()}"
        assert time.monotonic() < deadline, "place was never seen writing"
        time.sleep(0.001 if store_url.startswith("sqlite") else 0.005)
    os.kill(place.pid, signal.SIGKILL)
    place.communicate(timeout=60)
    assert place.returncode == -signal.SIGKILL

    with Store(store_url) as store:
        # all or nothing, and here nothing: the kill landed before the commit
        assert store.list_replicas() == before
        assert violations(store) == []
    finish(cli("place"))
    with Store(store_url) as store:
        assert violations(store) == []
        assert all(r.status is ReplicaStatus.PLACED for r in store.list_replicas())
