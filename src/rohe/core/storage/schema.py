"""Schema versions with Alembic, driven from code: the migrations ship inside the package, no alembic.ini."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from rohe.core.errors import Problem, RoheError
from rohe.core.storage.engine import WRITE, safe_url
from rohe.core.storage.failures import translate

MIGRATIONS = Path(__file__).parent / "migrations"
# Arbitrary but fixed: the PostgreSQL advisory lock that serialises rohe processes migrating one database.
MIGRATION_LOCK = 0x726F6865
# Alembic runs env.py through a module-global context, so two threads of one process must never migrate at
# the same time, even on different databases.
_alembic_in_use = threading.Lock()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # only possible if the packaged migrations were deleted
        raise RoheError("rohe is installed without its database migrations", [Problem("rohe", str(MIGRATIONS))])
    return head


def upgrade(engine: Engine, target: str = "head") -> None:
    """Migrate to `target` in one transaction; rows already stored are kept (migrations must preserve them)."""
    config = alembic_config()
    try:
        with (
            _alembic_in_use,
            engine.connect() as connection,
            connection.execution_options(**{WRITE: True}).begin(),
        ):
            if connection.dialect.name == "postgresql":
                # Several services may start at once; the second waits, then finds the schema at head.
                # (SQLite needs no lock: the write transaction already excludes other writers.)
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, target)
    except SQLAlchemyError as exc:
        raise translate(exc, engine.url) from None
    except CommandError as exc:
        # Typically a database migrated by a newer rohe: its revision is unknown to this one.
        raise RoheError(
            f"cannot migrate the database at {safe_url(engine.url)}",
            [Problem("database_url", str(exc), "use a rohe at least as new as the one that last migrated it")],
        ) from None


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise translate(exc, engine.url) from None
