"""Observation schema: registered apps, metric windows, violations, incidents, agent state and the agent registry.

Window metrics and violations are stored whole as JSON next to the columns they are looked up by: readers
always want the whole object, and the metric models grow faster than a column-per-field schema could.
Timestamps are stored in UTC (SQLite keeps no zone), so equal instants always compare equal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rohe.core.storage.tables import Base, utcnow

NAME = 200  # app, run, consumer and user names: generous, but bounded so they can be indexed everywhere


class ObservedAppRow(Base):
    __tablename__ = "observed_apps"
    __table_args__ = (UniqueConstraint("app", "run", name="uq_observed_app_run"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    app: Mapped[str] = mapped_column(String(NAME), nullable=False)
    run: Mapped[str] = mapped_column(String(NAME), nullable=False)
    user: Mapped[str] = mapped_column(String(NAME), nullable=False)
    registration: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class MetricWindowRow(Base):
    __tablename__ = "metric_windows"
    __table_args__ = (
        UniqueConstraint("app", "run", "consumer", "kind", "window_start", "window_end", name="uq_metric_window"),
        # Retention deletes by end time across all apps.
        Index("ix_metric_windows_end", "window_end"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app: Mapped[str] = mapped_column(String(NAME), nullable=False)
    run: Mapped[str] = mapped_column(String(NAME), nullable=False)
    consumer: Mapped[str] = mapped_column(String(NAME), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    window_end: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class ViolationRow(Base):
    __tablename__ = "violations"
    __table_args__ = (Index("ix_violations_app_run", "app", "run"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    violation_id: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    app: Mapped[str] = mapped_column(String(NAME), nullable=False)
    run: Mapped[str] = mapped_column(String(NAME), nullable=False)
    consumer: Mapped[str] = mapped_column(String(NAME), nullable=False)
    clause: Mapped[str] = mapped_column(String(500), nullable=False)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    violation: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class AgentStateRow(Base):
    """What an agent needs to resume after a restart (last closed window, recent report ids)."""

    __tablename__ = "agent_state"
    __table_args__ = (UniqueConstraint("app", "run", name="uq_agent_state_app_run"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app: Mapped[str] = mapped_column(String(NAME), nullable=False)
    run: Mapped[str] = mapped_column(String(NAME), nullable=False)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class AgentRegistryRow(Base):
    """Which observation agents are meant to run, with their config, so a restarted service resumes them."""

    __tablename__ = "observation_agents"
    __table_args__ = (UniqueConstraint("app", "run", name="uq_observation_agent_app_run"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app: Mapped[str] = mapped_column(String(NAME), nullable=False)
    run: Mapped[str] = mapped_column(String(NAME), nullable=False)
    desired: Mapped[str] = mapped_column(String(16), nullable=False)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class IncidentRow(Base):
    """A diagnosed incident (quality tier 3). Its rule alerts and anomalies are symptoms inside `incident`."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_app_run", "app", "run"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    app: Mapped[str] = mapped_column(String(NAME), nullable=False)
    run: Mapped[str] = mapped_column(String(NAME), nullable=False)
    # Several consumers joined by ',' when one incident spans them.
    consumer: Mapped[str] = mapped_column(String(1000), nullable=False)
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    top_cause: Mapped[str | None] = mapped_column(String(NAME + 20), nullable=True)
    incident: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class SiteEventRow(Base):
    """What an edge site judged or decided on its own (violations, decisions, policy changes), forwarded by its
    outbox. Unique by (site, event id): a site resends what it is unsure arrived, the second copy is ignored."""

    __tablename__ = "site_events"
    __table_args__ = (
        UniqueConstraint("site", "event_id", name="uq_site_event"),
        Index("ix_site_events_occurred", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(NAME), nullable=False)
    event_id: Mapped[str] = mapped_column(String(NAME), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    app: Mapped[str] = mapped_column(String(NAME), nullable=False)
    run: Mapped[str] = mapped_column(String(NAME), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
