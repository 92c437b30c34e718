"""Invariants of the Orchestration Service under any sequence of operations, on a real SQLite store.

After every step: no node is over any capacity (recomputed from the stored allocations), every replica is
placed on an existing schedulable-at-placement node or queued with a reason, and reopening the store
(a restart) shows exactly the same state.
"""

from __future__ import annotations

import tempfile
from contextlib import suppress
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from rohe.core.config import OrchestrationSettings
from rohe.core.domain import Memory, Node, ReplicaStatus, Service
from rohe.core.errors import RoheError
from rohe.core.storage import Store
from rohe.orchestration.service import OrchestrationService

NODE_NAMES = [f"n{i}" for i in range(6)]
SERVICE_NAMES = [f"s{i}" for i in range(8)]

nodes = st.builds(
    lambda name, cores, core_m, rss, gpu: Node(
        name=name,
        cores=[core_m] * cores,
        memory=Memory(rss=rss, vms=rss * 2),
        accelerators={"gpu": 100} if gpu else {},
        labels={"tier": "edge" if cores <= 4 else "fog"},
    ),
    st.sampled_from(NODE_NAMES),
    st.integers(1, 8),
    st.sampled_from([500, 1000, 2000]),
    st.integers(256, 8192),
    st.booleans(),
)
services = st.builds(
    lambda name, cpu, processor, rss, replicas, gpu, spread, selector: Service(
        name=name,
        cpu=cpu,
        processor=processor,
        memory=Memory(rss=rss, vms=rss),
        replicas=replicas,
        accelerators={"gpu": gpu} if gpu else {},
        spread=spread,
        node_selector={"tier": "fog"} if selector else {},
    ),
    st.sampled_from(SERVICE_NAMES),
    st.integers(0, 3000),
    st.lists(st.integers(0, 1000), max_size=4),
    st.integers(0, 3000),
    st.integers(0, 4),
    st.sampled_from([0, 0, 30, 100]),
    st.booleans(),
    st.booleans(),
)


class OrchestrationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.url = f"sqlite:///{Path(self.folder.name) / 'rohe.db'}"
        self.store = Store(self.url)
        self.store.upgrade()
        self.service = OrchestrationService(self.store, OrchestrationSettings())
        self.algorithm = "rohe-scoring"

    def teardown(self) -> None:
        self.store.close()
        self.folder.cleanup()

    @rule(node=nodes)
    def add_node(self, node: Node) -> None:
        with suppress(RoheError):
            self.service.add_nodes([node])

    @rule(service=services)
    def add_service(self, service: Service) -> None:
        with suppress(RoheError):
            self.service.add_services([service])

    @rule(name=st.sampled_from(NODE_NAMES))
    def remove_node(self, name: str) -> None:
        with suppress(RoheError):
            self.service.remove_node(name)

    @rule(name=st.sampled_from(NODE_NAMES))
    def drain_node(self, name: str) -> None:
        with suppress(RoheError):
            self.service.drain_node(name)

    @rule(name=st.sampled_from(SERVICE_NAMES))
    def remove_service(self, name: str) -> None:
        with suppress(RoheError):
            self.service.remove_service(name)

    @rule(algorithm=st.sampled_from(["rohe-scoring", "least-allocated", "most-allocated", "balanced"]))
    def place(self, algorithm: str) -> None:
        self.service.place_queued(algorithm)

    @rule()
    def restart(self) -> None:
        before = (self.store.list_nodes(), self.store.list_services(), self.store.list_replicas())
        self.store.close()
        self.store = Store(self.url)
        self.store.upgrade()
        self.service = OrchestrationService(self.store, OrchestrationSettings())
        after = (self.store.list_nodes(), self.store.list_services(), self.store.list_replicas())
        assert before == after

    @invariant()
    def no_node_over_capacity(self) -> None:
        for usage in self.service.list_nodes():
            node = usage.node
            assert usage.cpu_used <= node.cpu_capacity
            assert usage.rss_used <= node.memory.rss and usage.vms_used <= node.memory.vms
            assert all(u <= c for u, c in zip(usage.cores_used, node.cores, strict=True))
            for kind, amount in usage.accelerators_used.items():
                assert amount <= node.accelerators.get(kind, 0) + 1e-9

    @invariant()
    def every_replica_is_placed_or_queued_with_a_reason(self) -> None:
        node_names = {n.name for n in self.store.list_nodes()}
        services = {s.name: s for s in self.store.list_services()}
        replicas = self.store.list_replicas()
        assert sorted((r.service, r.index) for r in replicas) == sorted(
            (s.name, i) for s in services.values() for i in range(s.replicas)
        )
        for replica in replicas:
            if replica.status is ReplicaStatus.PLACED:
                assert replica.allocation is not None and replica.allocation.node in node_names
            else:
                assert replica.status is ReplicaStatus.QUEUEING and replica.allocation is None
                assert replica.reason
        for name, service in services.items():
            if service.spread:
                placed_on = [r.node for r in replicas if r.service == name and r.node]
                assert len(placed_on) == len(set(placed_on)), f"{name} is spread but shares a node"


TestOrchestrationMachine = OrchestrationMachine.TestCase
TestOrchestrationMachine.settings = settings(
    max_examples=25, stateful_step_count=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
