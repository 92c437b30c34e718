"""Relational schema. Node and service specs are stored whole as JSON next to indexed name columns:
the domain model evolves faster than a column-per-field schema could, and specs are read whole."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class NodeRow(Base):
    __tablename__ = "nodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(253), unique=True, nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    # Bumped whenever the node's status or the set of replicas it holds changes (optimistic concurrency).
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")


class ServiceRow(Base):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(63), unique=True, nullable=False)
    application: Mapped[str] = mapped_column(String(63), index=True, nullable=False)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class ReplicaRow(Base):
    __tablename__ = "replicas"
    __table_args__ = (UniqueConstraint("service_id", "replica_index", name="uq_replica_service_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), nullable=False)
    replica_index: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(32), index=True, nullable=False)
    node: Mapped[str | None] = mapped_column(String(253), index=True, nullable=True)
    # none_as_null: an unplaced replica has SQL NULL here, not the JSON text 'null'.
    allocation: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="", nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    # Bumped on every write of the row (optimistic concurrency).
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")


class StateRow(Base):
    __tablename__ = "state"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
