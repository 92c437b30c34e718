"""Which replicas a deployment backend should run: the placed ones, grouped per service and node."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rohe.core.domain import Replica, ReplicaStatus, Service
from rohe.core.errors import ProblemCollector

DEPLOYABLE = frozenset({ReplicaStatus.PLACED, ReplicaStatus.RUNNING})


@dataclass(frozen=True)
class PlacedReplica:
    service: Service
    index: int
    node: str


def placed_replicas(services: Sequence[Service], replicas: Sequence[Replica]) -> list[PlacedReplica]:
    """The replicas to run, sorted by service and index; queued or failed ones are left out.

    A replica naming a service that is not in `services` is an error rather than a silent skip: deploying
    half a pipeline because the two lists came from different snapshots would be worse than stopping.
    """
    by_name: dict[str, Service] = {}
    problems = ProblemCollector()
    for position, service in enumerate(services):
        if service.name in by_name:
            problems.add(f"services[{position}].name", f"service '{service.name}' is listed twice", "list it once")
        by_name[service.name] = service
    placed: dict[tuple[str, int], PlacedReplica] = {}
    for position, replica in enumerate(replicas):
        if replica.status not in DEPLOYABLE or replica.allocation is None:
            continue
        owner = by_name.get(replica.service)
        if owner is None:
            problems.add(
                f"replicas[{position}].service",
                f"replica {replica.key} belongs to unknown service '{replica.service}'",
                "pass the service together with its replicas",
            )
            continue
        key = (replica.service, replica.index)
        if key in placed:
            problems.add(
                f"replicas[{position}].index",
                f"replica {replica.key} appears twice",
                "give each replica of a service its own index",
            )
            continue
        placed[key] = PlacedReplica(owner, replica.index, replica.allocation.node)
    problems.raise_if_any("cannot deploy these replicas")
    return [placed[key] for key in sorted(placed)]


def replicas_per_node(placed: Sequence[PlacedReplica]) -> dict[str, dict[str, int]]:
    """service name -> node -> how many of its replicas run there."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item in placed:
        counts[item.service.name][item.node] += 1
    return {name: dict(nodes) for name, nodes in counts.items()}
