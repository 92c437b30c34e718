"""Realistic deploy inputs: the ROHE orchestration_command services, placed by hand on its nodes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rohe.core.domain import Allocation, Memory, Replica, ReplicaStatus, Service
from rohe.core.loading import load_document

INPUTS = Path(__file__).resolve().parents[4] / "shared" / "rohe-inputs" / "orchestration_command"


def placed(service: str, index: int, node: str, status: ReplicaStatus = ReplicaStatus.PLACED) -> Replica:
    return Replica(service=service, index=index, status=status, allocation=Allocation(node=node, cpu=100))


def queued(service: str, index: int) -> Replica:
    return Replica(service=service, index=index, status=ReplicaStatus.QUEUEING, reason="no room")


def rohe_command_services() -> list[Service]:
    """The services of add_service.yaml, one application per top-level group (object_detection, kpi, bts)."""
    document: Any = load_document(INPUTS / "add_service.yaml")
    services = []
    for application, group in document["data"].items():
        for spec in group.values():
            services.append(
                Service(
                    name=spec["service_name"],
                    application=application,
                    image=spec["image"],
                    ports=spec["ports"],
                    replicas=spec["replicas"],
                    cpu=spec["cpu"],
                    processor=spec["processor"],
                    memory=Memory(rss=spec["memory"]["rss"], vms=spec["memory"]["vms"]),
                    accelerators={"gpu": spec["accelerator"]["gpu"]},
                    sensitivity=spec["sensitivity"],
                    env={"LOG_LEVEL": "info"},
                )
            )
    return services


def rohe_command_nodes() -> list[str]:
    document: Any = load_document(INPUTS / "add_node.yaml")
    return [spec["node_name"] for spec in document["data"].values()]


def rohe_command_placement() -> tuple[list[Service], list[Replica]]:
    """Every replica placed round-robin; services that need a GPU go to the Jetson boards."""
    services = rohe_command_services()
    nodes = rohe_command_nodes()
    gpu_nodes = [name for name in nodes if name.startswith("Jetson")]
    replicas = []
    turn = 0
    for service in services:
        pool = gpu_nodes if service.needed_accelerators.get("gpu") else nodes
        for index in range(service.replicas):
            replicas.append(placed(service.name, index, pool[turn % len(pool)]))
            turn += 1
    return services, replicas
