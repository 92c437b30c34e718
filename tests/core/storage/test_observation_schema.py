"""Migration 0002 (observation tables) on SQLite and PostgreSQL: it applies on top of a used 0001 database,
keeps what was there, and its unique keys are the ones the observation store's upserts rely on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, inspect

from factories import node
from rohe.core.errors import Conflict
from rohe.core.storage import Store, schema
from rohe.core.storage.observation_tables import MetricWindowRow

OBSERVATION_TABLES = {"observed_apps", "metric_windows", "violations", "agent_state", "observation_agents"}


def test_0002_applies_on_a_used_0001_database(store_url: str) -> None:
    with Store(store_url) as old:
        schema.upgrade(old.engine, "0001")
        old.add_nodes([node("a")])
        old.set_state("orchestration.agent", "running")
        assert not OBSERVATION_TABLES & set(inspect(old.engine).get_table_names())

    with Store(store_url) as new:
        new.upgrade()
        assert new.schema_revision() == "0002" == schema.head_revision()
        assert set(inspect(new.engine).get_table_names()) >= OBSERVATION_TABLES
        assert [n.name for n in new.list_nodes()] == ["a"]
        assert new.get_state("orchestration.agent") == "running"


def test_0002_downgrades_cleanly(store_url: str) -> None:
    from alembic import command

    with Store(store_url) as store:
        store.upgrade()
        config = schema.alembic_config()
        with store.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
        assert not OBSERVATION_TABLES & set(inspect(store.engine).get_table_names())
        store.upgrade()
        assert set(inspect(store.engine).get_table_names()) >= OBSERVATION_TABLES


def test_a_window_key_is_unique_in_the_database_itself(store: Store) -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    row = {"app": "a", "run": "r", "consumer": "*", "kind": "tumbling", "window_start": moment,
           "window_end": moment, "metrics": {}, "stored_at": moment}
    with store.transaction(write=True) as session:
        session.execute(insert(MetricWindowRow).values(**row))
    # A plain second insert (not the store's upsert) must be refused by the constraint, not silently doubled.
    with pytest.raises(Conflict), store.transaction(write=True) as session:
        session.execute(insert(MetricWindowRow).values(**row))
