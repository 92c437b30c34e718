"""Migrations 0002 (observation tables) and 0003 (incidents) on SQLite and PostgreSQL: they apply on top of a
used older database, keep what was there, and their unique keys are the ones the observation store's upserts
rely on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, inspect

from factories import node
from rohe.core.errors import Conflict
from rohe.core.storage import Store, schema
from rohe.core.storage.observation_tables import IncidentRow, MetricWindowRow

OBSERVATION_TABLES = {"observed_apps", "metric_windows", "violations", "agent_state", "observation_agents"}
HEAD = "0005"


def test_0002_applies_on_a_used_0001_database(store_url: str) -> None:
    with Store(store_url) as old:
        schema.upgrade(old.engine, "0001")
        old.add_nodes([node("a")])
        old.set_state("orchestration.agent", "running")
        assert not OBSERVATION_TABLES & set(inspect(old.engine).get_table_names())

    with Store(store_url) as new:
        new.upgrade()
        assert new.schema_revision() == HEAD == schema.head_revision()
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


def test_0003_applies_on_a_used_0002_database_and_downgrades(store_url: str) -> None:
    from alembic import command

    from rohe.observation.store import ObservationStore
    from rohe.observation.violations import Violation

    moment = datetime(2026, 1, 1, tzinfo=UTC)
    kept = Violation(app="a", run="r", consumer="c", clause="throughput_rps >= 1", metric="throughput_rps",
                     operator=">=", threshold=1, observed=0, window_start=moment, window_end=moment)
    with Store(store_url) as store:
        schema.upgrade(store.engine, "0002")
        ObservationStore(store).save_violations([kept])
        assert "incidents" not in inspect(store.engine).get_table_names()
        store.upgrade()
        assert store.schema_revision() == HEAD
        assert "incidents" in inspect(store.engine).get_table_names()
        assert ObservationStore(store).list_violations("a") == [kept]
        config = schema.alembic_config()
        with store.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0002")
        assert "incidents" not in inspect(store.engine).get_table_names()


def test_an_incident_id_is_unique_in_the_database_itself(store: Store) -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    row = {"incident_id": "00000000-0000-0000-0000-000000000001", "app": "a", "run": "r", "consumer": "c",
           "detected_at": moment, "severity": "warning", "top_cause": None, "incident": {}}
    with store.transaction(write=True) as session:
        session.execute(insert(IncidentRow).values(**row))
    with pytest.raises(Conflict), store.transaction(write=True) as session:
        session.execute(insert(IncidentRow).values(**row))
