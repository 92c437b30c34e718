"""The simulated cluster: model instances on nodes, the failures injected into them, and how instances are
obtained from rohe's real placement algorithms.

An instance serves at most `concurrency` requests at once; the others wait in its FIFO queue. Failures:
- crash: one instance (target `model@node`, or a model name for all its instances) is down for duration_s;
  the requests it was serving or holding are lost (the gateway sees a reset and may retry elsewhere), and
  requests sent to it while down are refused.
- node_loss: the same for every instance on node `target`.
- slowdown: work started on `target` (a node, `model@node` or a model) while it lasts takes `factor` times
  as long.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from rohe.core.config import OrchestrationSettings
from rohe.core.domain import Memory, Node, Service
from rohe.core.errors import InvalidInput, Problem, ProblemCollector
from rohe.orchestration.placement import ClusterState, ReplicaRequest, get_algorithm

# Where a node's type is read from, first match wins; the example cluster uses rohe.io/model.
NODE_TYPE_LABELS = ("rohe.io/node-type", "rohe.io/model")
# A service's model when it differs from the service name (service names are DNS-like, model ids need not be).
MODEL_ENV = "ROHE_MODEL"

FailureKind = Literal["crash", "node_loss", "slowdown"]


@dataclass(frozen=True)
class SimInstance:
    """One replica of `model` on `node` (of profiled type `node_type`)."""

    model: str
    node: str
    node_type: str
    concurrency: int = 1

    @property
    def key(self) -> str:
        return f"{self.model}@{self.node}"


@dataclass(frozen=True)
class Failure:
    """An injected fault from `at_s` for `duration_s` seconds (see the module docstring for `target`)."""

    kind: FailureKind
    at_s: float
    target: str
    duration_s: float
    factor: float = 1.0

    def matches(self, instance: SimInstance) -> bool:
        if self.kind == "node_loss":
            return instance.node == self.target
        return self.target in (instance.key, instance.model) or (
            self.kind == "slowdown" and instance.node == self.target
        )


def check_setup(instances: Sequence[SimInstance], failures: Sequence[Failure]) -> None:
    """Every instance can serve and every failure names something that exists; errors name the field."""
    problems = ProblemCollector()
    if not instances:
        problems.add("instances", "is empty", "place at least one model instance")
    for i, instance in enumerate(instances):
        if instance.concurrency < 1:
            problems.add(f"instances[{i}].concurrency", f"got {instance.concurrency}", "use >= 1")
    for i, failure in enumerate(failures):
        where = f"failures[{i}]"
        if failure.kind not in ("crash", "node_loss", "slowdown"):
            problems.add(f"{where}.kind", f"{failure.kind!r} is not known", "use crash, node_loss or slowdown")
        if not (math.isfinite(failure.at_s) and failure.at_s >= 0):
            problems.add(f"{where}.at_s", f"{failure.at_s} is not a time >= 0", "seconds from the start of the run")
        if not (math.isfinite(failure.duration_s) and failure.duration_s >= 0):
            problems.add(f"{where}.duration_s", f"{failure.duration_s} is not a duration >= 0", "e.g. 5")
        if failure.kind == "slowdown" and not (math.isfinite(failure.factor) and failure.factor > 0):
            problems.add(f"{where}.factor", f"{failure.factor} is not a positive number", "e.g. 2 for twice as slow")
        if not any(failure.matches(x) for x in instances):
            problems.add(
                f"{where}.target", f"{failure.target!r} matches no instance", "name a node, model@node or model"
            )
    problems.raise_if_any("invalid simulation setup")


def node_type_of(node: Node) -> str:
    for label in NODE_TYPE_LABELS:
        if label in node.labels:
            return node.labels[label]
    return node.name


def model_of(service: Service) -> str:
    return service.env.get(MODEL_ENV, service.name)


def place_instances(
    nodes: Sequence[Node],
    services: Sequence[Service],
    algorithm: str,
    *,
    concurrency: int | Mapping[str, int] = 1,
    settings: OrchestrationSettings | None = None,
    allow_unplaced: bool = False,
) -> list[SimInstance]:
    """One SimInstance per replica the named placement algorithm (rohe.orchestration.placement) places.

    The model is the service's `ROHE_MODEL` env entry (else its name) and the node type is the node's
    `rohe.io/node-type` (else `rohe.io/model`) label, else its name. Replicas the algorithm cannot place are
    an InvalidInput with its reason, unless `allow_unplaced`.
    """
    placer = get_algorithm(algorithm, settings)
    cluster = ClusterState(list(nodes))
    requests = [ReplicaRequest(s, i) for s in services for i in range(s.replicas)]
    result = placer.place(cluster, requests)
    if result.unplaced and not allow_unplaced:
        raise InvalidInput(
            "replicas do not fit the cluster",
            [
                Problem(f"services.{name}[{index}]", reason, "add nodes, shrink demands or pass allow_unplaced")
                for (name, index), reason in sorted(result.unplaced.items())
            ],
        )
    by_name = {n.name: n for n in nodes}
    instances: list[SimInstance] = []
    for request in requests:
        allocation = result.placed.get(request.key)
        if allocation is None:
            continue
        model = model_of(request.service)
        limit = concurrency if isinstance(concurrency, int) else concurrency.get(model, 1)
        instances.append(SimInstance(model, allocation.node, node_type_of(by_name[allocation.node]), limit))
    return instances


@dataclass(frozen=True)
class ClusterSpec:
    """A synthetic cluster: `nodes` nodes cycling through the profiled `node_types`, all alike in size."""

    node_types: Sequence[str]
    nodes: int
    cores: int = 4
    core_millicores: int = 1000
    memory_mib: int = 8192

    def build(self) -> list[Node]:
        if not self.node_types or self.nodes < 1:
            raise InvalidInput(
                "empty synthetic cluster",
                [Problem("node_types" if not self.node_types else "nodes", "is empty", "give at least one")],
            )
        return [
            Node(
                name=f"node-{i:03d}",
                labels={NODE_TYPE_LABELS[0]: self.node_types[i % len(self.node_types)]},
                cores=[self.core_millicores] * self.cores,
                memory=Memory(rss=self.memory_mib, vms=2 * self.memory_mib),
            )
            for i in range(self.nodes)
        ]

    @staticmethod
    def services(models: Sequence[str], *, replicas: int = 1, cpu: int = 1000, memory_mib: int = 512) -> list[Service]:
        """One service per model (`replicas` each), named `model-<i>` with the model id in ROHE_MODEL."""
        return [
            Service(
                name=f"model-{i:03d}",
                replicas=replicas,
                cpu=cpu,
                memory=Memory(rss=memory_mib, vms=2 * memory_mib),
                env={MODEL_ENV: model},
            )
            for i, model in enumerate(models)
        ]
