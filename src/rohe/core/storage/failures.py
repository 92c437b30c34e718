"""Database failures turned into RoheErrors, so no caller ever sees a raw SQLAlchemy exception."""

from __future__ import annotations

from sqlalchemy.engine import URL
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError

from rohe.core.errors import Conflict, InvalidInput, Problem, RoheError
from rohe.core.storage.engine import safe_url

# PostgreSQL's SQLSTATE for "relation does not exist".
UNDEFINED_TABLE = "42P01"


def translate(exc: SQLAlchemyError, url: URL) -> RoheError:
    where = safe_url(url)
    detail = _driver_message(exc)
    if isinstance(exc, IntegrityError):
        # Pre-checks catch duplicates; this is another client storing the same name between check and insert.
        return Conflict(
            "the change clashes with what another client stored at the same time",
            [Problem("database", detail, "read the current state and retry")],
        )
    if isinstance(exc, DataError):
        return InvalidInput("the database rejected a value", [Problem("database", detail, "check the input")])
    if _is_missing_table(exc, detail):
        return RoheError(
            f"the database at {where} has no rohe schema",
            [Problem("database_url", detail, "migrate it first: Store.upgrade() (rohe does this at start)")],
        )
    if isinstance(exc, DBAPIError) and (exc.connection_invalidated or isinstance(exc, OperationalError)):
        return RoheError(
            f"cannot use the database at {where}",
            [Problem("database_url", detail, "check that the database server runs and the URL is right")],
        )
    return RoheError(f"database error at {where}", [Problem("database", detail, "see the database logs")])


def _is_missing_table(exc: SQLAlchemyError, detail: str) -> bool:
    if not isinstance(exc, OperationalError | ProgrammingError):
        return False
    return detail.startswith("no such table") or getattr(exc.orig, "sqlstate", None) == UNDEFINED_TABLE


def _driver_message(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__
