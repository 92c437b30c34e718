"""Alembic environment. rohe.core.storage.schema.upgrade hands over an open connection in
`config.attributes["connection"]`; without one (a developer running Alembic by hand to write a new
revision) the URL comes from the `sqlalchemy.url` option."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from rohe.core.storage import observation_tables  # noqa: F401  (registers its tables on Base.metadata)
from rohe.core.storage.engine import make_engine
from rohe.core.storage.tables import Base


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables so later revisions work there too.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as own:
            run(own)
    finally:
        engine.dispose()
