"""ObservationStore: registered apps, metric windows, violations, incidents and agent state, in the database.

It shares the engine (and so the locking and error translation) of the `Store`; it is the `WindowSink` of
observation agents and the `ViolationSink` of contract evaluation. Writes are idempotent upserts, so an
agent that re-emits a window after a restart, or an evaluator that saves a violation twice, changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from rohe.core.errors import NotFound, Problem
from rohe.core.storage import Store
from rohe.core.storage.observation_tables import (
    AgentRegistryRow,
    AgentStateRow,
    IncidentRow,
    MetricWindowRow,
    ObservedAppRow,
    ViolationRow,
)
from rohe.core.storage.tables import utcnow
from rohe.observation.metrics import WindowMetrics
from rohe.observation.registration import AppRegistration
from rohe.observation.violations import Violation
from rohe.quality.diagnosis import Incident

RUNNING = "running"
STOPPED = "stopped"


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC (what SQLite hands back); aware ones are converted."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class ObservationStore:
    def __init__(self, store: Store | str) -> None:
        # From a URL the store is ours to migrate and close; a Store passed in belongs to the caller.
        self._owned = isinstance(store, str)
        self.store = Store(store) if isinstance(store, str) else store
        if self._owned:
            self.store.upgrade()
        self._dialect = postgresql if self.store.engine.dialect.name == "postgresql" else sqlite

    def close(self) -> None:
        if self._owned:
            self.store.close()

    def _tx(self, write: bool = False) -> AbstractContextManager[Session]:
        return self.store.transaction(write)

    # -- registered apps ---------------------------------------------------------------------------
    def save_app(self, registration: AppRegistration) -> AppRegistration:
        """Insert or update (by app and run); keeps the first creation time. Returns what is stored."""
        now = utcnow()
        body = registration.model_dump(mode="json", exclude={"created_at", "updated_at"})
        values = {
            "app_id": str(registration.app_id),
            "app": registration.app,
            "run": registration.run,
            "user": registration.user,
            "registration": body,
            "created_at": now,
            "updated_at": now,
        }
        upsert = self._dialect.insert(ObservedAppRow).values(**values)
        update = {k: values[k] for k in ("app_id", "user", "registration", "updated_at")}
        with self._tx(write=True) as session:
            session.execute(upsert.on_conflict_do_update(index_elements=["app", "run"], set_=update))
            return _registration(_app_row(session, registration.app, registration.run))

    def get_app(self, app: str, run: str) -> AppRegistration:
        with self._tx() as session:
            return _registration(_app_row(session, app, run))

    def list_apps(self, app: str | None = None) -> list[AppRegistration]:
        query = select(ObservedAppRow).order_by(ObservedAppRow.app, ObservedAppRow.run)
        if app is not None:
            query = query.where(ObservedAppRow.app == app)
        with self._tx() as session:
            return [_registration(row) for row in session.scalars(query)]

    def delete_app(self, app: str, run: str | None = None, keep_metrics: bool = True) -> list[AppRegistration]:
        """Remove the registration(s), agent registry entries and agent state; windows and violations too unless
        `keep_metrics`. Returns the registrations removed; NotFound when none matched."""
        with self._tx(write=True) as session:
            query = select(ObservedAppRow).where(ObservedAppRow.app == app)
            if run is not None:
                query = query.where(ObservedAppRow.run == run)
            rows = list(session.scalars(query.order_by(ObservedAppRow.run)))
            if not rows:
                raise _unknown_app(app, run)
            removed = [_registration(row) for row in rows]
            tables: list[Any] = [ObservedAppRow, AgentRegistryRow, AgentStateRow]
            if not keep_metrics:
                tables += [MetricWindowRow, ViolationRow, IncidentRow]
            for table in tables:
                statement = delete(table).where(table.app == app)
                if run is not None:
                    statement = statement.where(table.run == run)
                session.execute(statement)
            return removed

    # -- metric windows (WindowSink) ---------------------------------------------------------------
    def save_windows(self, windows: Sequence[WindowMetrics]) -> None:
        if not windows:
            return
        with self._tx(write=True) as session:
            now = utcnow()
            for window in windows:
                values = {
                    "app": window.app,
                    "run": window.run,
                    "consumer": window.consumer,
                    "kind": window.kind.value,
                    "window_start": as_utc(window.start),
                    "window_end": as_utc(window.end),
                    "metrics": window.model_dump(mode="json"),
                    "stored_at": now,
                }
                # Re-emitting a window replaces it: a late flush may carry more requests than the first emission.
                upsert = self._dialect.insert(MetricWindowRow).values(**values)
                session.execute(
                    upsert.on_conflict_do_update(
                        index_elements=["app", "run", "consumer", "kind", "window_start", "window_end"],
                        set_={"metrics": values["metrics"], "stored_at": now},
                    )
                )

    def list_windows(
        self,
        app: str,
        run: str | None = None,
        consumer: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[WindowMetrics]:
        """Windows of an app (oldest first); `since` keeps those ending after it; `limit` keeps the newest."""
        query = select(MetricWindowRow.metrics).where(MetricWindowRow.app == app)
        if run is not None:
            query = query.where(MetricWindowRow.run == run)
        if consumer is not None:
            query = query.where(MetricWindowRow.consumer == consumer)
        if since is not None:
            query = query.where(MetricWindowRow.window_end > as_utc(since))
        order = (MetricWindowRow.window_end, MetricWindowRow.window_start, MetricWindowRow.consumer, MetricWindowRow.id)
        if limit is not None:
            query = query.order_by(*(column.desc() for column in order)).limit(limit)
        else:
            query = query.order_by(*order)
        with self._tx() as session:
            windows = [WindowMetrics.model_validate(body) for body in session.scalars(query)]
        return windows[::-1] if limit is not None else windows

    def purge_windows(self, older_than: datetime, app: str | None = None, run: str | None = None) -> int:
        """Delete windows that ended before `older_than` (of one app or app run when given); returns how many."""
        statement = delete(MetricWindowRow).where(MetricWindowRow.window_end < as_utc(older_than))
        if app is not None:
            statement = statement.where(MetricWindowRow.app == app)
        if run is not None:
            statement = statement.where(MetricWindowRow.run == run)
        with self._tx(write=True) as session:
            result = session.execute(statement)
            return int(getattr(result, "rowcount", 0) or 0)

    def window_runs(self) -> list[tuple[str, str]]:
        """Every (app, run) with stored windows."""
        with self._tx() as session:
            rows = session.execute(select(MetricWindowRow.app, MetricWindowRow.run).distinct()).all()
            return sorted((a, r) for a, r in rows)

    def has_data(self, app: str) -> bool:
        with self._tx() as session:
            for table in (MetricWindowRow, ViolationRow, IncidentRow):
                if session.scalar(select(func.count()).select_from(table).where(table.app == app)):
                    return True
            return False

    # -- violations (ViolationSink) ----------------------------------------------------------------
    def save_violations(self, violations: Sequence[Violation]) -> None:
        if not violations:
            return
        with self._tx(write=True) as session:
            for violation in violations:
                insert = self._dialect.insert(ViolationRow).values(
                    violation_id=str(violation.violation_id),
                    app=violation.app,
                    run=violation.run,
                    consumer=violation.consumer,
                    clause=violation.clause[:500],
                    window_start=as_utc(violation.window_start),
                    violation=violation.model_dump(mode="json"),
                )
                session.execute(insert.on_conflict_do_nothing(index_elements=["violation_id"]))

    def list_violations(self, app: str, run: str | None = None, consumer: str | None = None) -> list[Violation]:
        query = select(ViolationRow.violation).where(ViolationRow.app == app)
        if run is not None:
            query = query.where(ViolationRow.run == run)
        if consumer is not None:
            query = query.where(ViolationRow.consumer == consumer)
        with self._tx() as session:
            bodies = session.scalars(query.order_by(ViolationRow.window_start, ViolationRow.id))
            return [Violation.model_validate(body) for body in bodies]

    def violations_after(self, app: str, run: str, row: int = 0) -> list[tuple[int, Violation]]:
        """The app run's violations stored after storage row `row`, each with its row: a reader that polls
        (an edge site's outbox) reads only what is new."""
        query = (select(ViolationRow.id, ViolationRow.violation)
                 .where(ViolationRow.app == app, ViolationRow.run == run, ViolationRow.id > row)
                 .order_by(ViolationRow.id))
        with self._tx() as session:
            return [(number, Violation.model_validate(body)) for number, body in session.execute(query)]

    # -- incidents (quality tier 3) ------------------------------------------------------------------
    def save_incidents(self, incidents: Sequence[Incident]) -> None:
        """Insert or replace by incident id. An LLM narrative already stored is kept when the same incident comes
        again with only its deterministic one (a re-emitted window is diagnosed again, the model is not asked)."""
        if not incidents:
            return
        with self._tx(write=True) as session:
            for incident in incidents:
                key = str(incident.incident_id)
                stored = session.scalar(select(IncidentRow.incident).where(IncidentRow.incident_id == key))
                if stored is not None and stored.get("narrative_source") == "llm" \
                        and incident.narrative_source != "llm":
                    continue
                top = incident.suspected_causes[0] if incident.suspected_causes else None
                values = {
                    "incident_id": key,
                    "app": incident.app,
                    "run": incident.run,
                    "consumer": incident.consumer[:1000],
                    "detected_at": as_utc(incident.window_end),
                    "severity": incident.severity.value,
                    "top_cause": f"{top.kind.value} {top.name}"[:220] if top is not None else None,
                    "incident": incident.model_dump(mode="json"),
                }
                upsert = self._dialect.insert(IncidentRow).values(**values)
                update = {k: values[k] for k in ("severity", "top_cause", "incident")}
                session.execute(upsert.on_conflict_do_update(index_elements=["incident_id"], set_=update))

    def list_incidents(self, app: str, run: str | None = None, consumer: str | None = None) -> list[Incident]:
        """Incidents of an app, oldest first. `consumer` matches incidents that name it (alone or among others)."""
        query = select(IncidentRow.incident, IncidentRow.consumer).where(IncidentRow.app == app)
        if run is not None:
            query = query.where(IncidentRow.run == run)
        with self._tx() as session:
            rows = session.execute(query.order_by(IncidentRow.detected_at, IncidentRow.id)).all()
        return [Incident.model_validate(body) for body, names in rows
                if consumer is None or consumer in names.split(",")]

    # -- agent state (WindowSink) ------------------------------------------------------------------
    def load_agent_state(self, app: str, run: str) -> dict[str, Any] | None:
        with self._tx() as session:
            return session.scalar(select(AgentStateRow.state).where(AgentStateRow.app == app, AgentStateRow.run == run))

    def save_agent_state(self, app: str, run: str, state: dict[str, Any]) -> None:
        now = utcnow()
        upsert = self._dialect.insert(AgentStateRow).values(app=app, run=run, state=state, updated_at=now)
        with self._tx(write=True) as session:
            session.execute(
                upsert.on_conflict_do_update(index_elements=["app", "run"], set_={"state": state, "updated_at": now})
            )

    # -- agent registry: which agents should run ---------------------------------------------------
    def set_agent(self, app: str, run: str, desired: str, config: dict[str, Any] | None = None) -> None:
        """Record that the agent of (app, run) should be `desired` (running/stopped); a given config replaces."""
        now = utcnow()
        upsert = self._dialect.insert(AgentRegistryRow).values(
            app=app, run=run, desired=desired, config=config or {}, updated_at=now
        )
        update: dict[str, Any] = {"desired": desired, "updated_at": now}
        if config is not None:
            update["config"] = config
        with self._tx(write=True) as session:
            session.execute(upsert.on_conflict_do_update(index_elements=["app", "run"], set_=update))

    def list_agents(self, desired: str | None = None) -> list[tuple[str, str, str, dict[str, Any]]]:
        """(app, run, desired, config) of every recorded agent."""
        query = select(AgentRegistryRow.app, AgentRegistryRow.run, AgentRegistryRow.desired, AgentRegistryRow.config)
        if desired is not None:
            query = query.where(AgentRegistryRow.desired == desired)
        with self._tx() as session:
            rows = session.execute(query.order_by(AgentRegistryRow.app, AgentRegistryRow.run)).all()
            return [(a, r, d, c) for a, r, d, c in rows]


def _app_row(session: Session, app: str, run: str) -> ObservedAppRow:
    row = session.scalars(select(ObservedAppRow).where(ObservedAppRow.app == app, ObservedAppRow.run == run)).first()
    if row is None:
        raise _unknown_app(app, run)
    return row


def _registration(row: ObservedAppRow) -> AppRegistration:
    return AppRegistration.model_validate(
        {**row.registration, "created_at": as_utc(row.created_at), "updated_at": as_utc(row.updated_at)}
    )


def _unknown_app(app: str, run: str | None) -> NotFound:
    what = f"app '{app}'" + (f" run '{run}'" if run is not None else "")
    return NotFound(
        f"{what} is not registered",
        [Problem("app", f"no registration for {what}", "register it with `rohe observation register-app`")],
    )
