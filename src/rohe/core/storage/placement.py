"""Optimistic concurrency for placement: read a consistent snapshot, compute outside any transaction, then
write only if nothing the computation relied on has changed.

Every node row and replica row carries a version. Whoever changes a node's status or the replicas it holds
bumps the node's version (drain, cordon, requeue, any replica write); every replica write bumps the
replica's version; removing a node or a service deletes the rows. A placement commit then, in one write
transaction:

1. bumps the version of every node it places on, but only where the version is still the one in the
   snapshot and the node is still ready: this also takes the node rows' write locks, in name order, so two
   writers never wait on each other in a cycle, and a concurrent drain or removal either finished before
   (the version moved: the commit is refused) or waits until this commit is done (and then requeues what
   it placed there);
2. writes every changed replica, in row order, only where its version is still the one in the snapshot.

If any row did not match, the whole commit is rolled back and StalePlacement is raised; the caller reads
a new snapshot and computes again. So no placement lands on a node that was removed or cordoned after the
snapshot, no node receives replicas computed against free capacity it no longer has, and of two
concurrent rounds placing the same replica only one wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from rohe.core.domain import Node, NodeStatus, Replica, Service
from rohe.core.errors import Conflict, Problem
from rohe.core.storage import replicas as replica_rows
from rohe.core.storage.tables import NodeRow, ReplicaRow, ServiceRow

_nodes = cast(Table, NodeRow.__table__)

ReplicaKey = tuple[str, int]


class StalePlacement(Conflict):
    """What a placement round read has changed since; read again and recompute."""


@dataclass(frozen=True)
class PlacementSnapshot:
    """Nodes, services and replicas as one transaction saw them, with the row versions to check on commit."""

    nodes: list[Node]
    services: list[Service]
    replicas: list[Replica]
    node_versions: dict[str, int]
    # (service, index) -> (row id, version)
    replica_versions: dict[ReplicaKey, tuple[int, int]]


def read_snapshot(session: Session) -> PlacementSnapshot:
    nodes = session.execute(select(NodeRow.spec, NodeRow.name, NodeRow.version).order_by(NodeRow.id)).all()
    services = session.scalars(select(ServiceRow.spec).order_by(ServiceRow.id))
    versions = session.execute(
        select(ServiceRow.name, ReplicaRow.replica_index, ReplicaRow.id, ReplicaRow.version).join(
            ServiceRow, ReplicaRow.service_id == ServiceRow.id
        )
    )
    return PlacementSnapshot(
        nodes=[Node.model_validate(spec) for spec, _, _ in nodes],
        services=[Service.model_validate(spec) for spec in services],
        replicas=replica_rows.select_replicas(session),
        node_versions={name: version for _, name, version in nodes},
        replica_versions={(name, index): (row_id, version) for name, index, row_id, version in versions},
    )


def commit(session: Session, snapshot: PlacementSnapshot, changes: Sequence[Replica]) -> None:
    """Write `changes` if every row they depend on is as in `snapshot`; else StalePlacement, nothing written."""
    targets = sorted({r.allocation.node for r in changes if r.allocation is not None})
    unknown = [n for n in targets if n not in snapshot.node_versions]
    if unknown:
        # Not a race: the caller placed on a node the snapshot never had.
        raise Conflict(
            "placement names nodes that are not registered",
            [
                Problem("allocation.node", f"'{n}' is not in the snapshot", "place against the snapshot")
                for n in unknown
            ],
        )
    connection = session.connection()
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    if targets:
        locked = connection.exec_driver_sql(
            f"UPDATE {_nodes.name} SET version = version + 1 "
            f"WHERE name = {marker} AND version = {marker} AND status = {marker}",
            [(n, snapshot.node_versions[n], NodeStatus.READY.value) for n in targets],
        )
        if locked.rowcount != len(targets):
            raise StalePlacement(
                "a node this placement uses was changed, drained or removed meanwhile",
                [Problem("nodes", f"{len(targets) - locked.rowcount} of {len(targets)} changed", "place again")],
            )
    rows = []
    for replica in changes:
        known = snapshot.replica_versions.get((replica.service, replica.index))
        if known is None:
            raise Conflict(
                f"replica {replica.key} is not in the snapshot",
                [Problem(f"replicas[{replica.key}]", "not read", "place against the snapshot")],
            )
        rows.append((known[0], known[1], replica))
    rows.sort(key=lambda row: row[0])
    written = replica_rows.update_versioned(session, rows)
    if written != len(rows):
        raise StalePlacement(
            "replicas this placement changes were changed or removed meanwhile",
            [Problem("replicas", f"{len(rows) - written} of {len(rows)} changed", "place again")],
        )
