"""Site events: what an edge site judged or decided on its own (contract violations with their causes,
controller decisions, gateway policy changes), as the site's outbox sends them and the central service keeps them.

The central side stores each (site, event id) once: a site sends again whatever it is not sure arrived (a lost
answer, a crash between the centre's answer and the site's note of it), and the second copy changes nothing.
So delivery is at least once and the stored result is exactly once. Payloads are shown again with their secrets
redacted, as everything the API returns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from rohe.core.redact import redact_document
from rohe.core.storage import Store
from rohe.core.storage.observation_tables import SiteEventRow
from rohe.core.storage.tables import utcnow

SiteEventKind = Literal["violation", "decision", "decision-observed", "policy"]
SITE_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
EVENT_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$"
MAX_BATCH = 500  # events per request: a long outage's backlog goes up in several requests, each bounded
MAX_PAYLOAD = 64 * 1024  # bytes of JSON per event; a violation or a decision record is a few kilobytes


class SiteEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str = Field(pattern=EVENT_ID, description="stable id: the same event sent again has the same id")
    kind: SiteEventKind
    app: str = Field(min_length=1, max_length=200)
    run: str = Field(default="default", min_length=1, max_length=200)
    occurred_at: AwareDatetime = Field(description="when the site judged or decided it (with a time zone)")
    payload: dict[str, Any] = Field(description="the violation, decision record or policy, as the site has it")

    @field_validator("payload")
    @classmethod
    def _bounded(cls, payload: dict[str, Any]) -> dict[str, Any]:
        size = len(json.dumps(payload, default=str))
        if size > MAX_PAYLOAD:
            raise ValueError(f"payload has {size} bytes of JSON; at most {MAX_PAYLOAD}")
        return payload


class SiteEventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: str = Field(pattern=SITE_NAME, description="the site's name (rohe start serving-service --site)")
    events: list[SiteEvent] = Field(min_length=1, max_length=MAX_BATCH)


class StoredSiteEvent(SiteEvent):
    site: str
    received_at: datetime


class BatchResult(BaseModel):
    stored: int = Field(description="events new to the centre")
    duplicates: int = Field(description="events it already had (a resend): ignored")


class SiteEventLog:
    """The central store of site events; shares the Store's engine and transactions."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._dialect = postgresql if store.engine.dialect.name == "postgresql" else sqlite

    def record(self, batch: SiteEventBatch) -> BatchResult:
        now = utcnow()
        stored = 0
        with self.store.transaction(write=True) as session:
            for event in batch.events:
                insert = self._dialect.insert(SiteEventRow).values(
                    site=batch.site, event_id=event.event_id, kind=event.kind, app=event.app, run=event.run,
                    payload=event.payload, occurred_at=event.occurred_at.astimezone(UTC), received_at=now,
                )
                # RETURNING, not rowcount: PostgreSQL's driver reports -1 for an INSERT ... ON CONFLICT here.
                conflict_free = insert.on_conflict_do_nothing(index_elements=["site", "event_id"])
                stored += len(session.execute(conflict_free.returning(SiteEventRow.id)).all())
        return BatchResult(stored=stored, duplicates=len(batch.events) - stored)

    def list(
        self, site: str | None = None, app: str | None = None, kind: str | None = None, limit: int | None = None
    ) -> list[StoredSiteEvent]:
        """Oldest first (by when they occurred at the site); `limit` keeps the newest N."""
        query = select(SiteEventRow)
        for column, value in ((SiteEventRow.site, site), (SiteEventRow.app, app), (SiteEventRow.kind, kind)):
            if value is not None:
                query = query.where(column == value)
        order = (SiteEventRow.occurred_at, SiteEventRow.id)
        if limit is not None:
            query = query.order_by(*(column.desc() for column in order)).limit(limit)
        else:
            query = query.order_by(*order)
        with self.store.transaction() as session:
            rows: Sequence[SiteEventRow] = list(session.scalars(query))
        events = [_stored(row) for row in rows]
        return events[::-1] if limit is not None else events


def _stored(row: SiteEventRow) -> StoredSiteEvent:
    return StoredSiteEvent(
        site=row.site, event_id=row.event_id, kind=row.kind,
        app=row.app, run=row.run, payload=redact_document(row.payload),
        occurred_at=_utc(row.occurred_at), received_at=_utc(row.received_at),
    )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
