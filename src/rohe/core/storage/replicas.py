"""Replica rows in bulk: one statement per batch, never one round trip per replica.

The orchestration agent reads and rewrites every replica each round, so these paths must stay fast with
100,000 replicas.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from json import dumps
from typing import TypeVar, cast

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Table, Text, insert, select, update
from sqlalchemy import cast as cast_to
from sqlalchemy.orm import Session

from rohe.core.domain import Replica, ReplicaStatus
from rohe.core.errors import NotFound, Problem, RoheError
from rohe.core.storage.tables import NodeRow, ReplicaRow, ServiceRow, utcnow

WAITING = "waiting for placement"
# Names per IN (...) list: far below every backend's bound-parameter limit.
IN_CHUNK = 500
# Problems listed in one NotFound; the message carries the total.
SHOWN_PROBLEMS = 20

_replicas = cast(Table, ReplicaRow.__table__)
_COLUMNS = ("status", "node", "allocation", "reason", "updated_at")
_replica_list = TypeAdapter(list[Replica])

T = TypeVar("T")


def queue_new(session: Session, services: Iterable[tuple[int, int]]) -> None:
    """Queue replicas 0..count-1 for each (service row id, count)."""
    now = utcnow()
    rows = [
        {
            "service_id": service_id,
            "replica_index": index,
            "status": ReplicaStatus.QUEUEING.value,
            "node": None,
            "allocation": None,
            "reason": WAITING,
            "updated_at": now,
        }
        for service_id, count in services
        for index in range(count)
    ]
    if rows:
        session.execute(insert(ReplicaRow), rows)


def select_replicas(
    session: Session,
    service: str | None = None,
    node: str | None = None,
    status: ReplicaStatus | None = None,
    service_ids: Sequence[int] | None = None,
) -> list[Replica]:
    """Replicas matching every given filter, ordered by service (registration order) then index."""
    query = select(
        ServiceRow.name,
        ReplicaRow.replica_index,
        ReplicaRow.status,
        # As stored text: the rows are parsed below in one pass together with the allocations.
        cast_to(ReplicaRow.allocation, Text),
        ReplicaRow.reason,
    ).join(ServiceRow, ReplicaRow.service_id == ServiceRow.id)
    if service is not None:
        query = query.where(ServiceRow.name == service)
    if node is not None:
        query = query.where(ReplicaRow.node == node)
    if status is not None:
        query = query.where(ReplicaRow.status == status.value)
    if service_ids is not None:
        query = query.where(ReplicaRow.service_id.in_(service_ids))
    query = query.order_by(ServiceRow.id, ReplicaRow.replica_index)
    rows = session.connection().execute(query)
    # Decoding each allocation and then validating 100,000 dicts costs twice as much as letting pydantic
    # parse and validate one JSON document holding all rows.
    document = ",".join(
        f'{{"service":{dumps(name)},"index":{index},"status":{dumps(state)},'
        f'"allocation":{allocation or "null"},"reason":{dumps(reason)}}}'
        for name, index, state, allocation, reason in rows
    )
    try:
        return _replica_list.validate_json(f"[{document}]")
    except ValidationError as exc:
        raise RoheError(
            "stored replicas do not match the domain model",
            [Problem("replicas", str(exc).splitlines()[0], "the database was changed by hand or by another tool")],
        ) from None


def write_replicas(session: Session, replicas: Sequence[Replica]) -> None:
    """Overwrite stored replicas, matched by (service, index); NotFound (and nothing written) if any is missing.

    Unconditional (no version check): for placement rounds, which must not overwrite concurrent changes,
    see rohe.core.storage.placement. The nodes the replicas leave and join are marked as changed, so a
    placement computed before this write is refused.
    """
    row_ids = _row_ids(session, {r.service for r in replicas})
    missing = [r.key for r in replicas if (r.service, r.index) not in row_ids]
    if missing:
        raise NotFound(
            f"{len(missing)} replica(s) not found: {', '.join(missing[:SHOWN_PROBLEMS])}",
            [
                Problem(f"replicas[{r.key}]", "no such replica", "its service was removed or has fewer replicas")
                for r in replicas
                if (r.service, r.index) not in row_ids
            ][:SHOWN_PROBLEMS],
        )
    ids = sorted(row_ids[(r.service, r.index)] for r in replicas)
    touched = {r.node for r in replicas if r.node is not None}
    for chunk in chunks(ids):
        touched.update(n for n in session.scalars(select(ReplicaRow.node).where(ReplicaRow.id.in_(chunk))) if n)
    _bump_nodes(session, sorted(touched))
    _update(session, [(row_ids[(r.service, r.index)], None, r) for r in replicas])


def update_versioned(session: Session, changes: Sequence[tuple[int, int, Replica]]) -> int:
    """Write (row id, expected version, replica) where the row still has that version; returns rows written."""
    return _update(session, changes)


def _update(session: Session, changes: Sequence[tuple[int, int | None, Replica]]) -> int:
    # One driver-level executemany: building SQLAlchemy bind parameters and JSON per row would cost more than
    # the database work itself at 100,000 rows. Rows in id order, so concurrent writers lock them in one order.
    if not changes:
        return 0
    connection = session.connection()
    dialect = connection.dialect
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    assignments = ", ".join(f"{column} = {marker}" for column in _COLUMNS)
    versioned = changes[0][1] is not None
    condition = f"id = {marker} AND version = {marker}" if versioned else f"id = {marker}"
    statement = f"UPDATE {_replicas.name} SET {assignments}, version = version + 1 WHERE {condition}"
    stamp_type = _replicas.c.updated_at.type.dialect_impl(dialect)
    to_driver = stamp_type.bind_processor(dialect)
    now = to_driver(utcnow()) if to_driver else utcnow()
    rows = [
        (
            ReplicaStatus(r.status).value,  # tolerate replicas built with model_copy(update=...)
            r.node,
            # Same JSON the column type would write; NULL (not JSON null) when unplaced, see tables.
            r.allocation.model_dump_json() if r.allocation else None,
            r.reason,
            now,
            row_id,
            *((version,) if versioned else ()),
        )
        for row_id, version, r in sorted(changes, key=lambda change: change[0])
    ]
    written = connection.exec_driver_sql(statement, rows).rowcount
    return int(written)


def requeue_node(session: Session, node: str, reason: str) -> list[Replica]:
    """Send every replica on `node` back to the queue; returns them as they are now.

    The node row is marked changed FIRST: that takes its lock, so a placement committing onto this node
    at the same time either finished before (its replicas are requeued here too) or is refused after.
    """
    _bump_nodes(session, [node])
    moved = select_replicas(session, node=node)
    if moved:
        session.execute(
            update(ReplicaRow)
            .where(ReplicaRow.node == node)
            .values(
                status=ReplicaStatus.QUEUEING.value,
                node=None,
                allocation=None,
                reason=reason,
                updated_at=utcnow(),
                version=ReplicaRow.version + 1,
            )
        )
    return [Replica(service=r.service, index=r.index, status=ReplicaStatus.QUEUEING, reason=reason) for r in moved]


def _bump_nodes(session: Session, names: Sequence[str]) -> None:
    """Mark nodes as changed, taking their row locks in name order (the order placement commits use)."""
    for name in sorted(set(names)):
        session.execute(update(NodeRow).where(NodeRow.name == name).values(version=NodeRow.version + 1))


def _row_ids(session: Session, services: set[str]) -> dict[tuple[str, int], int]:
    ids: dict[tuple[str, int], int] = {}
    for chunk in chunks(sorted(services), IN_CHUNK):
        query = (
            select(ServiceRow.name, ReplicaRow.replica_index, ReplicaRow.id)
            .join(ServiceRow, ReplicaRow.service_id == ServiceRow.id)
            .where(ServiceRow.name.in_(chunk))
        )
        ids.update({(name, index): row_id for name, index, row_id in session.execute(query)})
    return ids


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """Slices of at most `size` items, for IN (...) lists that stay within bound-parameter limits."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
