"""The Store: all persistent state of a rohe installation behind one small typed API.

Every public method is one transaction, so a rejected batch leaves the database exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from rohe.core.domain import Node, NodeStatus, Replica, ReplicaStatus, Service
from rohe.core.errors import Conflict, InvalidInput, NotFound, Problem
from rohe.core.storage import placement, schema
from rohe.core.storage import replicas as replica_rows
from rohe.core.storage.engine import WRITE, make_engine
from rohe.core.storage.failures import translate
from rohe.core.storage.tables import NodeRow, ServiceRow, StateRow, utcnow

if TYPE_CHECKING:
    from rohe.core.config import Settings

STATE_KEY_LENGTH = 200


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, settings: Settings) -> Store:
        """The store of an installation, migrated to the newest schema."""
        settings.ensure_data_dir()
        store = cls(settings.resolved_database_url)
        try:
            store.upgrade()
        except BaseException:
            store.close()
            raise
        return store

    def upgrade(self) -> None:
        schema.upgrade(self.engine)

    def schema_revision(self) -> str | None:
        return schema.current_revision(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- nodes -------------------------------------------------------------------------------------
    def add_nodes(self, nodes: Sequence[Node]) -> None:
        if not nodes:
            return
        with self._session(write=True) as session:
            _refuse_duplicates(session, "node", NodeRow.name, [n.name for n in nodes])
            now = utcnow()
            session.execute(
                insert(NodeRow),
                [
                    {"name": n.name, "status": n.status.value, "spec": n.model_dump(mode="json"), "created_at": now}
                    for n in nodes
                ],
            )

    def list_nodes(self) -> list[Node]:
        with self._session() as session:
            specs = session.scalars(select(NodeRow.spec).order_by(NodeRow.id))
            return [Node.model_validate(spec) for spec in specs]

    def get_node(self, name: str) -> Node:
        with self._session() as session:
            return Node.model_validate(_node_row(session, name).spec)

    def set_node_status(self, name: str, status: NodeStatus, requeue_reason: str | None = None) -> list[Replica]:
        """Change a node's status; with `requeue_reason`, also send every replica on it back to the queue."""
        with self._session(write=True) as session:
            row = _node_row(session, name)
            spec = {**row.spec, "status": status.value}
            session.execute(
                update(NodeRow)
                .where(NodeRow.id == row.id)
                .values(status=status.value, spec=spec, version=NodeRow.version + 1)
            )
            if requeue_reason is None:
                return []
            return replica_rows.requeue_node(session, name, requeue_reason)

    def remove_node(self, name: str, requeue_reason: str) -> list[Replica]:
        """Delete a node; every replica on it goes back to the queue. Returns those replicas."""
        with self._session(write=True) as session:
            row = _node_row(session, name)
            requeued = replica_rows.requeue_node(session, name, requeue_reason)
            session.execute(delete(NodeRow).where(NodeRow.id == row.id))
            return requeued

    # -- services ----------------------------------------------------------------------------------
    def add_services(self, services: Sequence[Service]) -> None:
        """Register services and queue their replicas (index 0..replicas-1)."""
        if not services:
            return
        with self._session(write=True) as session:
            _refuse_duplicates(session, "service", ServiceRow.name, [s.name for s in services])
            now = utcnow()
            inserted = session.execute(
                insert(ServiceRow).returning(ServiceRow.name, ServiceRow.id),
                [
                    {"name": s.name, "application": s.application, "spec": s.model_dump(mode="json"), "created_at": now}
                    for s in services
                ],
            )
            ids = {name: row_id for name, row_id in inserted}
            replica_rows.queue_new(session, [(ids[s.name], s.replicas) for s in services])

    def list_services(self, application: str | None = None) -> list[Service]:
        query = select(ServiceRow.spec).order_by(ServiceRow.id)
        if application is not None:
            query = query.where(ServiceRow.application == application)
        with self._session() as session:
            return [Service.model_validate(spec) for spec in session.scalars(query)]

    def get_service(self, name: str) -> Service:
        with self._session() as session:
            return Service.model_validate(_service_row(session, name).spec)

    def remove_service(self, name: str) -> list[Replica]:
        """Delete a service and (by ON DELETE CASCADE) its replicas; returns the replicas as they were."""
        with self._session(write=True) as session:
            row = _service_row(session, name)
            removed = replica_rows.select_replicas(session, service_ids=[row.id])
            session.execute(delete(ServiceRow).where(ServiceRow.id == row.id))
            return removed

    def remove_application(self, application: str) -> list[Service]:
        """Delete every service of an application (and their replicas); returns the services."""
        with self._session(write=True) as session:
            rows = session.execute(
                select(ServiceRow.id, ServiceRow.spec)
                .where(ServiceRow.application == application)
                .order_by(ServiceRow.id)
            ).all()
            if not rows:
                raise NotFound(
                    f"application '{application}' not found",
                    [
                        Problem(
                            "application",
                            f"no service belongs to '{application}'",
                            "list services and their applications with `rohe orchestration get-service`",
                        )
                    ],
                )
            for chunk in replica_rows.chunks([row_id for row_id, _ in rows]):
                session.execute(delete(ServiceRow).where(ServiceRow.id.in_(chunk)))
            return [Service.model_validate(spec) for _, spec in rows]

    # -- replicas ----------------------------------------------------------------------------------
    def list_replicas(
        self, service: str | None = None, node: str | None = None, status: ReplicaStatus | None = None
    ) -> list[Replica]:
        """Replicas matching every filter given, ordered by service (registration order) then index."""
        with self._session() as session:
            return replica_rows.select_replicas(session, service=service, node=node, status=status)

    def update_replicas(self, replicas: Sequence[Replica]) -> None:
        """Store new status, allocation and reason for replicas, matched by (service, index). All or nothing."""
        if not replicas:
            return
        with self._session(write=True) as session:
            replica_rows.write_replicas(session, replicas)

    def placement_snapshot(self) -> placement.PlacementSnapshot:
        """Nodes, services and replicas as of one instant, with the versions `commit_placement` checks."""
        with self._session(snapshot=True) as session:
            return placement.read_snapshot(session)

    def commit_placement(self, snapshot: placement.PlacementSnapshot, changes: Sequence[Replica]) -> None:
        """Store a placement round computed from `snapshot`; StalePlacement (nothing written) if it is stale."""
        if not changes:
            return
        with self._session(write=True) as session:
            placement.commit(session, snapshot, changes)

    # -- key/value state ---------------------------------------------------------------------------
    def get_state(self, key: str) -> str | None:
        with self._session() as session:
            return session.scalar(select(StateRow.value).where(StateRow.key == key))

    def set_state(self, key: str, value: str | None) -> None:
        """Store `value` under `key`; None deletes the key."""
        if not key or len(key) > STATE_KEY_LENGTH:
            raise InvalidInput(
                "invalid state key",
                [Problem("key", f"has {len(key)} characters", f"use 1 to {STATE_KEY_LENGTH} characters")],
            )
        with self._session(write=True) as session:
            if value is None:
                session.execute(delete(StateRow).where(StateRow.key == key))
                return
            now = utcnow()
            dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
            upsert = dialect.insert(StateRow).values(key=key, value=value, updated_at=now)
            session.execute(
                upsert.on_conflict_do_update(index_elements=[StateRow.key], set_={"value": value, "updated_at": now})
            )

    # -- plumbing ----------------------------------------------------------------------------------
    def transaction(self, write: bool = False) -> AbstractContextManager[Session]:
        """One transaction for stores that share this engine (the observation store): same locking and errors."""
        return self._session(write)

    @contextmanager
    def _session(self, write: bool = False, snapshot: bool = False) -> Iterator[Session]:
        """One transaction; commits on success, rolls back on any error. RoheErrors pass through unchanged.

        `snapshot`: every statement sees the database as of the first one. SQLite's read transactions always
        do; PostgreSQL's default (READ COMMITTED) gives each statement its own view, so ask for more.
        """
        options: dict[str, Any] = {WRITE: write}
        if snapshot and self.engine.dialect.name == "postgresql":
            options["isolation_level"] = "REPEATABLE READ"
        try:
            with self._sessions.begin() as session:
                # Set before the first statement: on SQLite it decides how the transaction begins.
                session.connection(execution_options=options)
                yield session
        except SQLAlchemyError as exc:
            raise translate(exc, self.engine.url) from None


def _node_row(session: Session, name: str) -> NodeRow:
    row = session.scalars(select(NodeRow).where(NodeRow.name == name)).first()
    if row is None:
        raise NotFound(
            f"node '{name}' not found",
            [Problem("node", f"no node is named '{name}'", "list nodes with `rohe orchestration get-node`")],
        )
    return row


def _service_row(session: Session, name: str) -> ServiceRow:
    row = session.scalars(select(ServiceRow).where(ServiceRow.name == name)).first()
    if row is None:
        raise NotFound(
            f"service '{name}' not found",
            [
                Problem(
                    "service", f"no service is named '{name}'", "list services with `rohe orchestration get-service`"
                )
            ],
        )
    return row


def _refuse_duplicates(session: Session, kind: str, column: InstrumentedAttribute[Any], names: list[str]) -> None:
    """Conflict naming every name that is already stored or repeats an earlier one in the same batch."""
    taken: set[str] = set()
    for chunk in replica_rows.chunks(sorted(set(names))):
        taken.update(session.scalars(select(column).where(column.in_(chunk))))
    problems: list[Problem] = []
    first_seen: dict[str, int] = {}
    for position, name in enumerate(names):
        if name in taken:
            problems.append(
                Problem(f"{kind}s[{position}].name", f"{kind} '{name}' already exists", f"remove the {kind} first")
            )
        elif name in first_seen:
            problems.append(
                Problem(
                    f"{kind}s[{position}].name",
                    f"'{name}' repeats {kind}s[{first_seen[name]}].name",
                    f"give each {kind} a unique name",
                )
            )
        first_seen.setdefault(name, position)
    if problems:
        duplicated = sorted({n for n in names if n in taken} | {n for i, n in enumerate(names) if first_seen[n] != i})
        raise Conflict(f"duplicate {kind} name(s): {', '.join(duplicated)}", problems)
