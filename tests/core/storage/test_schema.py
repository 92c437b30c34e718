"""Schema migrations, restarts and database failures: what happens around the data rather than to it."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from factories import node, service
from rohe.core.config import Settings
from rohe.core.domain import Allocation, ReplicaStatus
from rohe.core.errors import InvalidInput, RoheError
from rohe.core.storage import Store, schema
from rohe.core.storage.tables import Base


def test_state_survives_reopening_the_store(store_url: str) -> None:
    with Store(store_url) as first:
        first.upgrade()
        first.add_nodes([node("a", labels={"k": "v"})])
        first.add_services([service("web", replicas=2)])
        r0, _ = first.list_replicas()
        allocation = Allocation(node="a", cpu=500, cores={1: 500}, rss=256, vms=256)
        first.update_replicas([r0.model_copy(update={"status": ReplicaStatus.RUNNING, "allocation": allocation})])
        first.set_state("orchestration.agent", "running")
        before = (first.list_nodes(), first.list_services(), first.list_replicas())

    with Store(store_url) as second:
        assert (second.list_nodes(), second.list_services(), second.list_replicas()) == before
        assert second.list_replicas()[0].allocation == allocation
        assert second.get_state("orchestration.agent") == "running"


def test_upgrade_keeps_existing_data_and_reports_the_head_revision(store_url: str) -> None:
    with Store(store_url) as old:
        assert old.schema_revision() is None
        # The database as the first release left it: migrated to the initial revision only, then used.
        schema.upgrade(old.engine, "0001")
        old.add_nodes([node("a")])
        old.add_services([service("web", replicas=2)])
        old.set_state("k", "v")
        before = (old.list_nodes(), old.list_services(), old.list_replicas())

    with Store(store_url) as new:
        new.upgrade()
        new.upgrade()  # already at head: nothing to do
        assert new.schema_revision() == schema.head_revision()
        assert (new.list_nodes(), new.list_services(), new.list_replicas()) == before
        assert new.get_state("k") == "v"


def test_open_creates_the_data_dir_and_migrates(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "nested" / "state")
    with Store.open(settings) as store:
        assert store.schema_revision() == schema.head_revision()
        store.add_nodes([node("a")])
    assert (tmp_path / "nested" / "state" / "rohe.db").is_file()
    with Store.open(settings) as again:
        assert [n.name for n in again.list_nodes()] == ["a"]


def test_migrated_schema_matches_the_models(store: Store) -> None:
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    assert set(inspect(store.engine).get_table_names()) >= {"nodes", "services", "replicas", "state"}


def test_sqlite_runs_with_foreign_keys_and_wal(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'rohe.db'}") as store, store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert (connection.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) > 0


def test_a_database_from_a_newer_rohe_is_refused(store_url: str) -> None:
    with Store(store_url) as store:
        store.upgrade()
        with store.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'from-the-future'"))
        with pytest.raises(RoheError, match="cannot migrate") as caught:
            store.upgrade()
        assert "newer" in caught.value.problems[0].hint or "as new" in caught.value.problems[0].hint


def test_an_unmigrated_database_is_a_clear_error(store_url: str) -> None:
    with Store(store_url) as store, pytest.raises(RoheError, match="no rohe schema") as caught:
        store.list_nodes()
    assert "upgrade" in caught.value.problems[0].hint


def test_bad_urls_name_the_database_url_setting(tmp_path: Path) -> None:
    for url in ("not a url", "nosuchdb://x/y", "postgresql+nosuchdriver://h/db"):
        with pytest.raises(InvalidInput) as caught:
            Store(url)
        assert caught.value.problems[0].location == "database_url", url
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(InvalidInput, match="folder") as caught:
        Store(f"sqlite:///{blocker / 'sub' / 'rohe.db'}")
    assert caught.value.problems[0].location == "database_url"


def test_an_unreachable_database_is_reported_without_its_password() -> None:
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    with Store("postgresql+psycopg://rohe:s3cret-pw@127.0.0.1:1/rohe?connect_timeout=5") as store:
        for attempt in (store.upgrade, store.list_nodes, store.schema_revision):
            with pytest.raises(RoheError) as caught:
                attempt()
            assert type(caught.value) is RoheError
            assert "s3cret-pw" not in str(caught.value)
            assert "127.0.0.1:1" in caught.value.message
            assert caught.value.problems[0].location == "database_url"
