"""Small builders for domain objects, so tests state only what matters to them."""

from __future__ import annotations

from typing import Any

from rohe.core.domain import Memory, Node, Service


def node(name: str, cores: int = 4, core_m: int = 1000, rss: int = 4096, vms: int | None = None, **extra: Any) -> Node:
    return Node(
        name=name,
        cores=[core_m] * cores,
        memory=Memory(rss=rss, vms=vms if vms is not None else rss),
        **extra,
    )


def service(name: str, cpu: int = 500, rss: int = 256, replicas: int = 1, **extra: Any) -> Service:
    return Service(name=name, cpu=cpu, memory=Memory(rss=rss, vms=extra.pop("vms", rss)), replicas=replicas, **extra)


def node_doc(name: str, cores: int = 4, rss: int = 4096) -> dict[str, Any]:
    return {"name": name, "cores": [1000] * cores, "memory": {"rss": rss, "vms": rss}}


def service_doc(name: str, cpu: int = 500, rss: int = 256, replicas: int = 1, **extra: Any) -> dict[str, Any]:
    return {"name": name, "cpu": cpu, "memory": {"rss": rss, "vms": rss}, "replicas": replicas, **extra}
