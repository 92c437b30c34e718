"""Persistent state: SQLite by default, PostgreSQL by URL, schema versioned with Alembic."""

from rohe.core.storage.store import Store

__all__ = ["Store"]
