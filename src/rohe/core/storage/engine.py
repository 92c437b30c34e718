"""Engines: SQLite (a file, the default) tuned for one process with several threads, or PostgreSQL by URL."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from rohe.core.errors import InvalidInput, Problem

URL_HINT = "use sqlite:///path/to/rohe.db or postgresql+psycopg://user:password@host:5432/database"
# Execution option a Store sets on connections that will write; see _begin.
WRITE = "rohe_write"
# How long a SQLite writer waits for another writer before giving up, in seconds.
SQLITE_BUSY_TIMEOUT = 30


def make_engine(url: str) -> Engine:
    """An engine for `url`; raises InvalidInput naming `database_url` when the URL is unusable."""
    parsed = _parse(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(parsed)
        return create_engine(parsed, pool_pre_ping=True)
    except (NoSuchModuleError, ArgumentError, ImportError) as exc:
        raise InvalidInput(
            "unsupported database URL",
            [Problem("database_url", f"{safe_url(parsed)}: {exc}", URL_HINT)],
        ) from None


def safe_url(url: URL) -> str:
    """The URL as it may appear in messages and logs: the password is masked."""
    return url.render_as_string(hide_password=True)


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        # The raw text may contain a password, so it is not echoed back.
        raise InvalidInput(
            "invalid database URL", [Problem("database_url", "is not a database URL", URL_HINT)]
        ) from None


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        folder = Path(url.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInput(
                f"cannot create the folder for the SQLite database {url.database}",
                [Problem("database_url", str(exc), "point it at a writable folder, or set data_dir")],
            ) from None
    engine = create_engine(
        url,
        # The orchestration agent thread and API request threads share the engine; each borrows its own
        # connection from the pool, so sharing across threads is safe.
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT},
    )
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 module would otherwise open transactions itself, lazily and always DEFERRED; _begin
    # takes that over so write transactions can take the write lock up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT * 1000}")
        # WAL lets readers proceed while the agent thread writes.
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _use_wal(cursor: Any) -> None:
    # Switching a database to WAL takes an exclusive lock, and SQLite answers "database is locked" at once,
    # without its busy handler, while another connection holds a lock: two processes opening a new database
    # together (the API and a CLI) failed about one start in six. So wait here as the busy timeout would.
    give_up = time.monotonic() + SQLITE_BUSY_TIMEOUT
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= give_up:
                raise
        time.sleep(pause)
        pause = min(2 * pause, 0.1)


def _begin(connection: Connection) -> None:
    # A DEFERRED transaction that reads and then writes cannot wait for the lock once another writer got in
    # first: SQLite fails it at once with "database is locked". IMMEDIATE takes the lock at BEGIN, where the
    # busy timeout applies, so concurrent writers queue up instead of failing.
    mode = "IMMEDIATE" if connection.get_execution_options().get(WRITE) else "DEFERRED"
    connection.exec_driver_sql(f"BEGIN {mode}")
