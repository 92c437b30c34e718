"""Nodes' CPUs shared by the instances placed on them: processor sharing per node.

A member call's service time from the profile is its CPU demand, in seconds of one core. A node has `cores`,
of which `background_cores` are taken by processes that are not models (e.g. the gateway and the load
generator on a single machine). While `n` calls are in service on a node with `c` free cores, each one
progresses at min(1, c / n) of a core: a call never runs faster than one core (a request is one thread),
and together they never use more than `c`, as an OS's fair scheduler shares the CPU.

Implementation: a node keeps virtual time, the CPU seconds one call in service has received, as
`V = now - lag`; `lag` grows only while the node is oversubscribed. A call that starts at V with demand d
finishes when V reaches V + d, so calls sit in a heap by that finish mark and only the first has an event
in the simulation's queue; when the number in service changes, that event is replaced (the old one is
recognised by the node's version and ignored). While a node has never been oversubscribed `lag` is exactly
0 and finish times are bit-for-bit those of an independent server (start + demand).

A node whose instances can never hold more calls at once than it has free cores cannot be oversubscribed;
`shared_nodes` leaves it out, and its instances run as independent servers, exactly and at no cost.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rohe.core.domain import Node
from rohe.core.errors import ProblemCollector
from rohe.simulation.engine import EventQueue


@dataclass(frozen=True)
class NodeCpu:
    """A node's `cores` (may be fractional) and the cores its non-model processes keep busy."""

    cores: float
    background_cores: float = 0.0

    @property
    def free(self) -> float:
        return self.cores - self.background_cores


def node_cpus(nodes: Sequence[Node], background_cores: float = 0.0) -> dict[str, NodeCpu]:
    """Every node's CPU from its inventory (the sum of its cores' millicores), with the same background."""
    return {n.name: NodeCpu(sum(n.cores) / 1000, background_cores) for n in nodes}


def check_cpus(nodes: Sequence[str], cpu: Mapping[str, NodeCpu]) -> None:
    """Every node an instance uses has a CPU, and each CPU keeps some core free for the models."""
    problems = ProblemCollector()
    for node in sorted(set(nodes) - set(cpu)):
        problems.add(f"cpu.{node}", "is missing: an instance runs there", "give every instance's node its cores")
    for name, spec in sorted(cpu.items()):
        if not (math.isfinite(spec.cores) and spec.cores > 0):
            problems.add(f"cpu.{name}.cores", f"{spec.cores} is not a positive number", "e.g. 4")
        elif not (math.isfinite(spec.background_cores) and 0 <= spec.background_cores < spec.cores):
            problems.add(
                f"cpu.{name}.background_cores",
                f"{spec.background_cores} is not in [0, cores={spec.cores})",
                "leave the models some of the node, e.g. 0.5",
            )
    problems.raise_if_any("invalid simulation setup")


def node_shares(
    instances: Sequence[tuple[str, float]], cpu: Mapping[str, NodeCpu], events: EventQueue, kind: int
) -> dict[str, NodeShare]:
    """One NodeShare per node that can be oversubscribed, from every instance's (node, concurrency): those
    whose summed concurrency exceeds the free cores. The others never make a call wait for the CPU."""
    check_cpus([node for node, _ in instances], cpu)
    limits: dict[str, float] = {}
    for node, limit in instances:
        limits[node] = limits.get(node, 0.0) + limit
    return {node: NodeShare(cpu[node], events, kind) for node in sorted(limits) if limits[node] > cpu[node].free}


class NodeShare:
    """Run-time state of one node's shared CPU (see the module docstring). Entries are
    (finish mark, sequence, instance, job); `kind` is the event kind the simulation gives completions."""

    __slots__ = ("at", "capacity", "entries", "events", "kind", "lag", "last", "sequence", "version")

    def __init__(self, cpu: NodeCpu, events: EventQueue, kind: int) -> None:
        self.capacity = cpu.free
        self.events = events
        self.kind = kind
        self.entries: list[tuple[float, int, Any, Any]] = []
        self.sequence = itertools.count()
        self.lag = 0.0
        self.last = 0.0
        self.version = 0
        self.at = math.inf  # when the scheduled completion event fires; inf: none scheduled

    def _advance(self, now: float) -> None:
        """Account for the time since the last change: only oversubscription makes virtual time lag."""
        n = len(self.entries)
        if n > self.capacity and now != self.last:
            self.lag += (now - self.last) * (1.0 - self.capacity / n)
        self.last = now

    def _reschedule(self, now: float) -> None:
        """Make the queued event match the first finish under the current speed; replace it only if it moved."""
        entries = self.entries
        if not entries:
            if self.at != math.inf:  # a crash took the last calls: the queued event must not fire
                self.version += 1
                self.at = math.inf
            return
        n = len(entries)
        mark = entries[0][0]
        # At full speed `mark + lag` is exact (start + demand while the node has never lagged); slowed down,
        # the mark is reached at the shared speed capacity / n.
        at = mark + self.lag if n <= self.capacity else now + (mark - (now - self.lag)) * n / self.capacity
        if at < now:
            at = now  # rounding: the mark is reached already
        if at != self.at:
            self.at = at
            self.version += 1
            events = self.events
            heapq.heappush(events.heap, (at, next(events.sequence), self.kind, (self, self.version)))

    def start(self, now: float, demand: float, instance: Any, job: Any) -> None:
        self._advance(now)
        heapq.heappush(self.entries, ((now - self.lag) + demand, next(self.sequence), instance, job))
        self._reschedule(now)

    def finish(self, now: float) -> list[tuple[Any, Any]]:
        """At this node's completion event: the calls that finish now (the first, and any with the same mark)."""
        self._advance(now)
        entries = self.entries
        mark, _, instance, job = heapq.heappop(entries)
        done = [(instance, job)]
        while entries and entries[0][0] == mark:
            _, _, instance, job = heapq.heappop(entries)
            done.append((instance, job))
        self.at = math.inf
        return done

    def settle(self, now: float) -> None:
        """After calls started or finished at `now`: put the next completion in the simulation's queue."""
        self._reschedule(now)

    def drop(self, now: float, instance: Any) -> None:
        """`instance` crashed: its calls leave the CPU now and the others speed up."""
        self._advance(now)
        kept = [e for e in self.entries if e[2] is not instance]
        if len(kept) != len(self.entries):
            heapq.heapify(kept)
            self.entries = kept
            self._reschedule(now)
