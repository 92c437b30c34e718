"""Changing a running service: set its replica count, or send one replica to another node type.

Both are absolute and idempotent, as a controller needs: `scale(service, 3)` twice leaves three replicas;
`move(service, index, node_type)` on a replica already on that type changes nothing. Scaling out queues new
replicas (the next placement round places them); scaling in removes the highest indexes first, queued ones
before placed ones of the same index range, and frees what they held at once. Each call is one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from rohe.core.domain import Node, Replica, ReplicaStatus, Service
from rohe.core.errors import InvalidInput, NotFound, Problem
from rohe.core.storage import Store
from rohe.core.storage.tables import ReplicaRow, ServiceRow, utcnow

# Where a node's type is read from, first match wins (the simulator and the example clusters use these).
NODE_TYPE_LABELS = ("rohe.io/node-type", "rohe.io/model")
MAX_REPLICAS = 1000
SCALED_OUT = "scaled out; waiting for placement"
MOVED = "moving to node type {node_type}; waiting for placement"


def node_type_of(node: Node) -> str:
    """The profiled node type of a node: its `rohe.io/node-type` label, else `rohe.io/model`, else its name."""
    for label in NODE_TYPE_LABELS:
        if label in node.labels:
            return node.labels[label]
    return node.name


@dataclass(frozen=True)
class ScaleResult:
    service: str
    before: int
    after: int
    added: tuple[int, ...] = ()
    removed: tuple[Replica, ...] = ()


def scale(store: Store, name: str, replicas: int) -> ScaleResult:
    """Set `name`'s replica count to `replicas` (0..MAX_REPLICAS)."""
    if not 0 <= replicas <= MAX_REPLICAS:
        raise InvalidInput(
            "invalid replica count",
            [Problem("replicas", f"is {replicas}", f"use a whole number from 0 to {MAX_REPLICAS}")],
        )
    with store.transaction(write=True) as session:
        row = session.scalars(select(ServiceRow).where(ServiceRow.name == name)).first()
        if row is None:
            raise NotFound(
                f"service '{name}' not found",
                [Problem("service", f"no service is named '{name}'",
                         "list services with `rohe orchestration get-service`")],
            )
        indexes = sorted(session.scalars(select(ReplicaRow.replica_index).where(ReplicaRow.service_id == row.id)))
        before = len(indexes)
        added: list[int] = []
        removed: list[Replica] = []
        if replicas > before:
            taken = set(indexes)
            candidate = 0
            while len(added) < replicas - before:
                if candidate not in taken:
                    added.append(candidate)
                candidate += 1
            now = utcnow()
            session.execute(
                insert(ReplicaRow),
                [
                    {"service_id": row.id, "replica_index": i, "status": ReplicaStatus.QUEUEING.value, "node": None,
                     "allocation": None, "reason": SCALED_OUT, "updated_at": now}
                    for i in added
                ],
            )
        elif replicas < before:
            rows = list(session.scalars(select(ReplicaRow).where(ReplicaRow.service_id == row.id)))
            # Queued replicas go first (they serve nothing), then the newest placed ones.
            rows.sort(key=lambda r: (r.status != ReplicaStatus.QUEUEING.value, -r.replica_index))
            victims = rows[: before - replicas]
            removed = [Replica(service=name, index=r.replica_index, status=ReplicaStatus(r.status),
                               allocation=r.allocation, reason=r.reason) for r in victims]
            session.execute(delete(ReplicaRow).where(ReplicaRow.id.in_([r.id for r in victims])))
        spec = Service.model_validate(row.spec).model_copy(update={"replicas": replicas})
        session.execute(update(ServiceRow).where(ServiceRow.id == row.id).values(spec=spec.model_dump(mode="json")))
    return ScaleResult(name, before, replicas, tuple(added), tuple(removed))


def move(store: Store, name: str, index: int, node_type: str) -> Replica:
    """Send replica `index` of `name` to a node of `node_type`: the service's node selector is set to that type
    (later replicas follow it too) and the replica is queued unless it already sits on such a node."""
    nodes = [n for n in store.list_nodes() if node_type_of(n) == node_type]
    if not nodes:
        known = sorted({node_type_of(n) for n in store.list_nodes()})
        raise InvalidInput(
            "unknown node type",
            [Problem("node_type", f"no registered node is of type {node_type!r}",
                     f"use one of: {', '.join(known) or 'none (register nodes first)'}")],
        )
    label = next((lab for lab in NODE_TYPE_LABELS if all(lab in n.labels for n in nodes)), None)
    if label is None:
        raise InvalidInput(
            "node type has no label to select by",
            [Problem("node_type", f"the nodes of type {node_type!r} carry none of {', '.join(NODE_TYPE_LABELS)}",
                     "label them with rohe.io/node-type")],
        )
    replica = next((r for r in store.list_replicas(service=name) if r.index == index), None)
    if replica is None:
        raise NotFound(
            f"replica {name}-{index} not found",
            [Problem("index", f"service '{name}' has no replica {index}",
                     "list them with `rohe orchestration get-placement`")],
        )
    service = store.get_service(name)
    selector = {k: v for k, v in service.node_selector.items() if k not in NODE_TYPE_LABELS}
    selector[label] = node_type
    with store.transaction(write=True) as session:
        row = session.scalars(select(ServiceRow).where(ServiceRow.name == name)).one()
        updated = service.model_copy(update={"node_selector": selector})
        session.execute(update(ServiceRow).where(ServiceRow.id == row.id).values(spec=updated.model_dump(mode="json")))
    on = {n.name for n in nodes}
    if replica.node in on:
        return replica
    moved = replica.model_copy(update={"status": ReplicaStatus.QUEUEING, "allocation": None,
                                       "reason": MOVED.format(node_type=node_type)})
    store.update_replicas([moved])
    return moved
