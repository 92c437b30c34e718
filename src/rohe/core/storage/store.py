"""The Store: every service's persistent state behind one small typed API.

Each public method is one transaction, so a failed batch leaves the database as it was.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from rohe.core.domain import Allocation, Node, NodeStatus, Replica, ReplicaStatus, Service
from rohe.core.errors import Conflict, NotFound, Problem
from rohe.core.storage import engine as engines
from rohe.core.storage.tables import NodeRow, ReplicaRow, ServiceRow, StateRow, utcnow

if TYPE_CHECKING:
    from rohe.core.config import Settings

WAITING = "waiting for placement"


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = engines.make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, settings: Settings) -> Store:
        settings.ensure_data_dir()
        store = cls(settings.resolved_database_url)
        try:
            store.upgrade()
        except Exception:
            store.close()
            raise
        return store

    def upgrade(self) -> None:
        engines.upgrade(self.engine)

    def schema_revision(self) -> str | None:
        return engines.current_revision(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with self._sessions.begin() as session:
                yield session
        except OperationalError as exc:
            raise engines.unreachable(self.engine, exc) from None
        except IntegrityError as exc:
            # Another process registered the same name between our check and our insert.
            raise Conflict("the change clashes with what another client stored just now", [
                Problem("name", str(exc.orig).strip().splitlines()[0], "read the current state and retry")
            ]) from None

    # -- nodes -------------------------------------------------------------------------------------
    def add_nodes(self, nodes: Sequence[Node]) -> None:
        names = [n.name for n in nodes]
        with self._session() as session:
            taken = set(session.scalars(select(NodeRow.name).where(NodeRow.name.in_(names))))
            _refuse_duplicates("node", names, taken)
            session.add_all(
                NodeRow(name=n.name, status=n.status.value, spec=n.model_dump(mode="json")) for n in nodes
            )

    def list_nodes(self) -> list[Node]:
        with self._session() as session:
            return [_node(row) for row in session.scalars(select(NodeRow).order_by(NodeRow.id))]

    def get_node(self, name: str) -> Node:
        with self._session() as session:
            return _node(self._node_row(session, name))

    def set_node_status(
        self, name: str, status: NodeStatus, requeue_reason: str | None = None
    ) -> list[Replica]:
        with self._session() as session:
            row = self._node_row(session, name)
            row.status = status.value
            row.spec = {**row.spec, "status": status.value}
            return self._requeue_node(session, name, requeue_reason) if requeue_reason else []

    def remove_node(self, name: str, requeue_reason: str) -> list[Replica]:
        with self._session() as session:
            row = self._node_row(session, name)
            requeued = self._requeue_node(session, name, requeue_reason)
            session.delete(row)
            return requeued

    # -- services ----------------------------------------------------------------------------------
    def add_services(self, services: Sequence[Service]) -> None:
        names = [s.name for s in services]
        with self._session() as session:
            taken = set(session.scalars(select(ServiceRow.name).where(ServiceRow.name.in_(names))))
            _refuse_duplicates("service", names, taken)
            rows = [
                ServiceRow(name=s.name, application=s.application, spec=s.model_dump(mode="json"))
                for s in services
            ]
            session.add_all(rows)
            session.flush()
            now = utcnow()
            replicas = [
                {
                    "service_id": row.id,
                    "replica_index": index,
                    "status": ReplicaStatus.QUEUEING.value,
                    "reason": WAITING,
                    "updated_at": now,
                }
                for row, service in zip(rows, services, strict=True)
                for index in range(service.replicas)
            ]
            if replicas:
                session.execute(ReplicaRow.__table__.insert(), replicas)

    def list_services(self, application: str | None = None) -> list[Service]:
        query = select(ServiceRow).order_by(ServiceRow.id)
        if application is not None:
            query = query.where(ServiceRow.application == application)
        with self._session() as session:
            return [Service.model_validate(row.spec) for row in session.scalars(query)]

    def get_service(self, name: str) -> Service:
        with self._session() as session:
            return Service.model_validate(self._service_row(session, name).spec)

    def remove_service(self, name: str) -> list[Replica]:
        with self._session() as session:
            row = self._service_row(session, name)
            replicas = self._replicas(session, service_ids=[row.id])
            session.execute(delete(ReplicaRow).where(ReplicaRow.service_id == row.id))
            session.delete(row)
            return replicas

    def remove_application(self, application: str) -> list[Service]:
        with self._session() as session:
            rows = list(session.scalars(select(ServiceRow).where(ServiceRow.application == application)))
            if not rows:
                raise NotFound(
                    f"application '{application}' has no services",
                    [Problem("application", f"no service belongs to '{application}'", "check `get-service`")],
                )
            ids = [row.id for row in rows]
            session.execute(delete(ReplicaRow).where(ReplicaRow.service_id.in_(ids)))
            session.execute(delete(ServiceRow).where(ServiceRow.id.in_(ids)))
            return [Service.model_validate(row.spec) for row in rows]

    # -- replicas ----------------------------------------------------------------------------------
    def list_replicas(
        self, service: str | None = None, node: str | None = None, status: ReplicaStatus | None = None
    ) -> list[Replica]:
        with self._session() as session:
            return self._replicas(session, service=service, node=node, status=status)

    def update_replicas(self, replicas: Sequence[Replica]) -> None:
        if not replicas:
            return
        with self._session() as session:
            ids = {
                (name, index): row_id
                for row_id, name, index in session.execute(
                    select(ReplicaRow.id, ServiceRow.name, ReplicaRow.replica_index).join(ServiceRow)
                )
            }
            missing = [r.key for r in replicas if (r.service, r.index) not in ids]
            if missing:
                raise NotFound(
                    f"{len(missing)} replica(s) not found",
                    [Problem("replica", f"{key} does not exist", "its service may have been removed") for key in missing[:10]],
                )
            now = utcnow()
            session.execute(
                update(ReplicaRow),
                [
                    {
                        "id": ids[(r.service, r.index)],
                        "status": r.status.value,
                        "node": r.node,
                        "allocation": r.allocation.model_dump(mode="json") if r.allocation else None,
                        "reason": r.reason,
                        "updated_at": now,
                    }
                    for r in replicas
                ],
            )

    # -- key/value state ---------------------------------------------------------------------------
    def get_state(self, key: str) -> str | None:
        with self._session() as session:
            row = session.get(StateRow, key)
            return row.value if row else None

    def set_state(self, key: str, value: str | None) -> None:
        with self._session() as session:
            row = session.get(StateRow, key)
            if value is None:
                if row is not None:
                    session.delete(row)
            elif row is None:
                session.add(StateRow(key=key, value=value))
            else:
                row.value, row.updated_at = value, utcnow()

    # -- helpers -----------------------------------------------------------------------------------
    @staticmethod
    def _node_row(session: Session, name: str) -> NodeRow:
        row = session.scalars(select(NodeRow).where(NodeRow.name == name)).first()
        if row is None:
            raise NotFound(f"node '{name}' not found", [Problem("node", name, "list nodes with `get-node`")])
        return row

    @staticmethod
    def _service_row(session: Session, name: str) -> ServiceRow:
        row = session.scalars(select(ServiceRow).where(ServiceRow.name == name)).first()
        if row is None:
            raise NotFound(
                f"service '{name}' not found", [Problem("service", name, "list services with `get-service`")]
            )
        return row

    def _requeue_node(self, session: Session, node: str, reason: str) -> list[Replica]:
        moved = self._replicas(session, node=node)
        session.execute(
            update(ReplicaRow)
            .where(ReplicaRow.node == node)
            .values(status=ReplicaStatus.QUEUEING.value, node=None, allocation=None, reason=reason, updated_at=utcnow())
        )
        return [r.model_copy(update={"status": ReplicaStatus.QUEUEING, "allocation": None, "reason": reason}) for r in moved]

    @staticmethod
    def _replicas(
        session: Session,
        service: str | None = None,
        node: str | None = None,
        status: ReplicaStatus | None = None,
        service_ids: list[int] | None = None,
    ) -> list[Replica]:
        query: Any = select(
            ServiceRow.name, ReplicaRow.replica_index, ReplicaRow.status, ReplicaRow.allocation, ReplicaRow.reason
        ).join(ServiceRow)
        if service is not None:
            query = query.where(ServiceRow.name == service)
        if node is not None:
            query = query.where(ReplicaRow.node == node)
        if status is not None:
            query = query.where(ReplicaRow.status == status.value)
        if service_ids is not None:
            query = query.where(ReplicaRow.service_id.in_(service_ids))
        query = query.order_by(ServiceRow.id, ReplicaRow.replica_index)
        return [
            Replica.model_construct(
                service=name,
                index=index,
                status=ReplicaStatus(state),
                allocation=Allocation.model_validate(allocation) if allocation else None,
                reason=reason,
            )
            for name, index, state, allocation, reason in session.execute(query)
        ]


def _node(row: NodeRow) -> Node:
    return Node.model_validate(row.spec)


def _refuse_duplicates(kind: str, names: list[str], taken: set[str]) -> None:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for position, name in enumerate(names):
        if name in taken:
            problems.append(Problem(f"{kind}s[{position}].name", f"{kind} '{name}' already exists", "remove it first or rename"))
        elif name in seen:
            problems.append(
                Problem(f"{kind}s[{position}].name", f"'{name}' repeats {kind}s[{seen[name]}]", "give each a unique name")
            )
        seen.setdefault(name, position)
    if problems:
        duplicated = sorted({p.message.split("'")[1] for p in problems})
        raise Conflict(f"duplicate {kind} name(s): {', '.join(duplicated)}", problems)

