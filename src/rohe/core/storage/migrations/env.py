"""Alembic environment: run with a connection handed over by rohe.core.storage.store.Store.upgrade."""

from __future__ import annotations

from alembic import context

from rohe.core.storage.tables import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode rebuilds tables so later revisions work there too.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
