"""Run-time state of the simulated instances: busy slots, FIFO queue, up/down, slowdown, service draws.

A member call is a `Job`. It goes to the model's replicas in the gateway's round-robin rotation, at most
`MAX_ATTEMPTS` of them (the live fan-out's retry rule): a refused or reset call moves on to the next replica
at once; when the attempts run out the member has failed. Work the gateway stopped waiting for (a late
member) still runs to completion, as it does in a real model service, and still holds its slot.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rohe.serving.dataplane.fanout import MAX_ATTEMPTS
from rohe.simulation.behaviour import ServiceTimeModel
from rohe.simulation.cluster import SimInstance
from rohe.simulation.cpu import NodeShare

SAMPLE_BLOCK = 1024


class Job:
    """One member call of one request phase: replica `start` of `replicas` is tried first, then the next
    ones in order; `tried` counts the replicas tried so far."""

    __slots__ = ("model", "phase", "replicas", "request", "start", "tried")

    def __init__(self, request: Any, model: str, phase: int, replicas: Sequence[InstanceState], start: int) -> None:
        self.request = request
        self.model = model
        self.phase = phase
        self.replicas = replicas
        self.start = start
        self.tried = 0


class Sampler:
    """Service-time draws from one generator into each instance's own buffer: a block at a time when the
    model allows it (`sample_many`), one by one otherwise. Either way the draws depend only on the seed and
    the order of calls."""

    def __init__(self, model: ServiceTimeModel, rng: np.random.Generator) -> None:
        self.model = model
        self.rng = rng
        self._many: Callable[[str, str, int, np.random.Generator], Any] | None = getattr(model, "sample_many", None)

    def refill(self, instance: InstanceState) -> float:
        """One draw for `instance`, refilling its buffer first when the model draws in blocks."""
        spec = instance.spec
        if self._many is None:
            return float(self.model.sample(spec.model, spec.node_type, self.rng))
        block = self._many(spec.model, spec.node_type, SAMPLE_BLOCK, self.rng)
        instance.draws = [float(x) for x in block][::-1]  # reversed: pop() hands them out in draw order
        return instance.draws.pop()


class InstanceState:
    __slots__ = ("busy", "cpu", "draws", "epoch", "index", "limit", "queue", "running", "slowdowns", "spec", "up")

    def __init__(self, index: int, spec: SimInstance, unlimited: bool) -> None:
        self.index = index
        self.spec = spec
        self.limit = float("inf") if unlimited else spec.concurrency
        self.busy = 0
        self.queue: deque[Job] = deque()
        # job -> (start time, CPU demand); insertion-ordered: a crash fails them in order
        self.running: dict[Job, tuple[float, float]] = {}
        self.up = True
        self.epoch = 0  # bumped on every crash, so completions of lost work are recognised and ignored
        self.slowdowns: list[float] = []
        self.draws: list[float] = []  # service times drawn ahead, next one last
        self.cpu: NodeShare | None = None  # the node's shared CPU; None: an independent server

    @property
    def factor(self) -> float:
        factor = 1.0
        for f in self.slowdowns:
            factor *= f
        return factor

    def lose_work(self) -> list[Job]:
        """Go down: everything in service or queued is lost, in start then queue order."""
        lost = [*self.running, *self.queue]
        self.running.clear()
        self.queue.clear()
        self.busy = 0
        self.up = False
        self.epoch += 1
        return lost


def next_replica(job: Job) -> InstanceState | None:
    """The next replica to try that is up, counting refused ones as tries; None when the tries are used up."""
    replicas = job.replicas
    count = len(replicas)
    limit = MAX_ATTEMPTS if count > MAX_ATTEMPTS else count
    while job.tried < limit:
        instance = replicas[(job.start + job.tried) % count]
        job.tried += 1
        if instance.up:
            return instance
    return None


class Rotation:
    """The gateway's round-robin over each model's replicas (dataplane.endpoints.ModelEndpoints.rotation)."""

    def __init__(self, instances: Sequence[InstanceState]) -> None:
        self._replicas: dict[str, list[InstanceState]] = {}
        for instance in instances:
            self._replicas.setdefault(instance.spec.model, []).append(instance)
        self._next = dict.fromkeys(self._replicas, 0)

    def models(self) -> list[str]:
        return list(self._replicas)

    def of(self, model: str) -> tuple[Sequence[InstanceState], int]:
        """The model's replicas and where this call's rotation starts; no replicas: an empty sequence."""
        replicas = self._replicas.get(model)
        if not replicas:
            return (), 0
        if len(replicas) == 1:
            return replicas, 0
        start = self._next[model]
        self._next[model] = (start + 1) % len(replicas)
        return replicas, start
