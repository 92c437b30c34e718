"""Fixtures shared by the whole suite: a real, empty database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from rohe.core.storage import Store

# CI starts PostgreSQL here; override to test against another server.
POSTGRES_ADMIN_URL = os.environ.get("ROHE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, empty database. On PostgreSQL each test gets its own database, so parallel runs never
    collide. An unreachable PostgreSQL fails the test instead of skipping it: CI must not go green untested."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'rohe.db'}"
        return
    name = f"rohe_test_{uuid.uuid4().hex}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        where = make_url(POSTGRES_ADMIN_URL).render_as_string(hide_password=True)
        pytest.fail(f"PostgreSQL at {where} is unreachable ({exc.orig}); start it or set ROHE_TEST_POSTGRES_URL")
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            # FORCE: a test that failed midway may still hold connections.
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A Store on a fresh database, migrated to the newest schema."""
    instance = Store(store_url)
    instance.upgrade()
    yield instance
    instance.close()
