"""Persistent state: SQLite by default, PostgreSQL by URL, schema versioned with Alembic."""

# Imported for its side effect: the observation tables join Base.metadata, which migrations compare against.
from rohe.core.storage import observation_tables as _observation_tables  # noqa: F401
from rohe.core.storage.store import Store

__all__ = ["Store"]
