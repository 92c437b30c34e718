"""The Orchestration Service: registers nodes and services and keeps every replica placed or queued.

One instance owns one Store. Within a process, every change that touches placements runs under one lock, so
the background agent and API requests do not overtake each other. Across processes (a CLI `place` next to
a running service, two services on one PostgreSQL) placement rounds are optimistic: computed from a
snapshot, stored only if the nodes and replicas they used are unchanged (rohe.core.storage.placement).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from rohe.core.config import OrchestrationSettings
from rohe.core.domain import Allocation, Node, NodeStatus, Replica, ReplicaStatus, Service
from rohe.core.errors import Conflict, Problem
from rohe.core.storage import Store
from rohe.core.storage.placement import PlacementSnapshot, StalePlacement
from rohe.orchestration import scaling
from rohe.orchestration.placement import (
    Bound,
    ClusterState,
    PlacementAlgorithm,
    PlacementResult,
    ReplicaRequest,
    get_algorithm,
)
from rohe.orchestration.usage import NodeUsage, node_usage

log = logging.getLogger(__name__)

REQUEUE_NODE_REMOVED = "node {node} was removed; waiting for placement"
REQUEUE_NODE_DRAINED = "node {node} was drained; waiting for placement"
# Rounds computed again when other writers overtake one; each retry starts from a fresh snapshot.
PLACEMENT_ATTEMPTS = 10


@dataclass
class PlanEntry:
    """One replica in a plan: where it would go, or why it cannot go anywhere."""

    service: str
    index: int
    node: str | None
    reason: str = ""
    currently: str | None = None
    allocation: Allocation | None = None
    score: float | None = None
    feasible_nodes: int = 0


@dataclass
class Plan:
    algorithm: str
    entries: list[PlanEntry] = field(default_factory=list)
    proven_optimal: bool | None = None
    # exact solvers: the proven bound on the best possible answer and the gap to it
    bound: Bound | None = None

    @property
    def placed(self) -> int:
        return sum(1 for e in self.entries if e.node is not None)


class OrchestrationService:
    def __init__(self, store: Store, settings: OrchestrationSettings | None = None) -> None:
        self.store = store
        self.settings = settings or OrchestrationSettings()
        self._lock = threading.RLock()
        # Resolve the configured algorithm now so a bad name fails at start, not in the agent loop.
        get_algorithm(self.settings.algorithm, self.settings)

    # -- nodes -------------------------------------------------------------------------------------
    def add_nodes(self, nodes: Sequence[Node]) -> list[Node]:
        with self._lock:
            self.store.add_nodes(nodes)
        log.info("registered %d node(s)", len(nodes))
        return list(nodes)

    def list_nodes(self) -> list[NodeUsage]:
        return node_usage(self.store.list_nodes(), self.store.list_replicas())

    def get_node(self, name: str) -> NodeUsage:
        node = self.store.get_node(name)
        return node_usage([node], self.store.list_replicas(node=name))[0]

    def remove_node(self, name: str) -> list[Replica]:
        """Delete a node; its replicas go back to the queue."""
        with self._lock:
            return self.store.remove_node(name, REQUEUE_NODE_REMOVED.format(node=name))

    def remove_all_nodes(self) -> list[Replica]:
        requeued: list[Replica] = []
        with self._lock:
            for node in self.store.list_nodes():
                requeued += self.remove_node(node.name)
        return requeued

    def drain_node(self, name: str) -> list[Replica]:
        """Cordon a node and put its replicas back in the queue for placement elsewhere."""
        with self._lock:
            return self.store.set_node_status(
                name, NodeStatus.CORDONED, requeue_reason=REQUEUE_NODE_DRAINED.format(node=name)
            )

    def set_node_status(self, name: str, status: NodeStatus) -> Node:
        with self._lock:
            self.store.set_node_status(name, status)
            return self.store.get_node(name)

    # -- services ----------------------------------------------------------------------------------
    def add_services(self, services: Sequence[Service]) -> list[Service]:
        with self._lock:
            self.store.add_services(services)
        log.info("registered %d service(s)", len(services))
        return list(services)

    def list_services(self, application: str | None = None) -> list[Service]:
        return self.store.list_services(application)

    def get_service(self, name: str) -> Service:
        return self.store.get_service(name)

    def remove_service(self, name: str) -> list[Replica]:
        """Delete a service; the capacity its replicas held is free again at once."""
        with self._lock:
            return self.store.remove_service(name)

    def remove_application(self, application: str) -> list[Service]:
        with self._lock:
            return self.store.remove_application(application)

    def replicas(
        self, service: str | None = None, node: str | None = None, status: ReplicaStatus | None = None
    ) -> list[Replica]:
        return self.store.list_replicas(service=service, node=node, status=status)

    def scale_service(self, name: str, replicas: int) -> scaling.ScaleResult:
        """Set a service's replica count (absolute, so repeating it is harmless); new replicas are queued."""
        with self._lock:
            result = scaling.scale(self.store, name, replicas)
        if result.before != result.after:
            log.info("scaled %s from %d to %d replica(s)", name, result.before, result.after)
        return result

    def move_replica(self, name: str, index: int, node_type: str) -> Replica:
        """Queue replica `index` of `name` for a node of `node_type` (see rohe.orchestration.scaling.move)."""
        with self._lock:
            return scaling.move(self.store, name, index, node_type)

    # -- placement ---------------------------------------------------------------------------------
    def plan(self, algorithm: str | None = None, replan: bool = False) -> Plan:
        """Dry run: where the queued replicas (or, with `replan`, all replicas) would go. Stores nothing."""
        with self._lock:
            result, replicas = self._compute(self.store.placement_snapshot(), algorithm, replan)
        current = {(r.service, r.index): r.node for r in replicas}
        entries = [
            PlanEntry(
                service,
                index,
                allocation.node,
                currently=current.get((service, index)),
                allocation=allocation,
                score=decision.score if (decision := result.decisions.get((service, index))) else None,
                feasible_nodes=decision.feasible_nodes if decision else 0,
            )
            for (service, index), allocation in result.placed.items()
        ] + [
            PlanEntry(service, index, None, reason, currently=current.get((service, index)))
            for (service, index), reason in result.unplaced.items()
        ]
        entries.sort(key=lambda e: (e.service, e.index))
        return Plan(result.algorithm, entries, result.proven_optimal, result.bound)

    def place_queued(self, algorithm: str | PlacementAlgorithm | None = None) -> PlacementResult:
        """One round of the agent: place what is queued, store the result, keep reasons for the rest.

        Optimistic: the round is computed from a snapshot and stored only if nothing it relied on changed
        meanwhile (another process placing, a node drained or removed, a service removed); otherwise it is
        computed again from a fresh snapshot, up to PLACEMENT_ATTEMPTS times.
        """
        with self._lock:
            for attempt in range(1, PLACEMENT_ATTEMPTS + 1):
                snapshot = self.store.placement_snapshot()
                result, pending = self._compute(snapshot, algorithm, replan=False)
                try:
                    self.store.commit_placement(snapshot, _changes(result, pending))
                except StalePlacement as exc:
                    log.info("placement round %d was stale (%s); computing again", attempt, exc.message)
                    continue
                break
            else:
                raise Conflict(
                    "placement kept clashing with concurrent changes to nodes and replicas",
                    [
                        Problem(
                            "place",
                            f"{PLACEMENT_ATTEMPTS} rounds in a row were overtaken by other writers",
                            "run it again once the nodes and services stop changing",
                        )
                    ],
                )
        if result.placed:
            log.info("placed %d replica(s), %d still queued", len(result.placed), len(result.unplaced))
        return result

    def _compute(
        self, snapshot: PlacementSnapshot, algorithm: str | PlacementAlgorithm | None, replan: bool
    ) -> tuple[PlacementResult, list[Replica]]:
        services = {s.name: s for s in snapshot.services}
        replicas = snapshot.replicas
        held: list[tuple[str, Allocation]] = []
        if replan:
            pending = replicas
        else:
            held = [(r.service, r.allocation) for r in replicas if r.allocation is not None]
            pending = [r for r in replicas if r.status is ReplicaStatus.QUEUEING]
        cluster = ClusterState.build(snapshot.nodes, held)
        requests = [ReplicaRequest(services[r.service], r.index) for r in pending]
        # An algorithm object lets a caller bring per-round data (observed load) the registry cannot know.
        chosen = (algorithm if isinstance(algorithm, PlacementAlgorithm)
                  else get_algorithm(algorithm or self.settings.algorithm, self.settings))
        return chosen.place(cluster, requests), pending


def _changes(result: PlacementResult, pending: Sequence[Replica]) -> list[Replica]:
    """The replicas a round changes: those it placed, and queued ones whose reason is new."""
    by_key = {(r.service, r.index): r for r in pending}
    changed: list[Replica] = []
    for key, allocation in result.placed.items():
        changed.append(
            by_key[key].model_copy(update={"status": ReplicaStatus.PLACED, "allocation": allocation, "reason": ""})
        )
    for key, reason in result.unplaced.items():
        replica = by_key[key]
        if replica.reason != reason:
            changed.append(replica.model_copy(update={"reason": reason}))
    return changed
