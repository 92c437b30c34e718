"""Generated heterogeneous edge clusters for the placement benchmarks, and their files.

Clusters mix realistic device profiles (Raspberry Pi 4, Jetson Nano/Orin, Intel NUC, small servers);
services mix plain CPU/memory demands, per-core pinned ones, GPU ones and node selectors. Everything is
seeded; an instance is written as nodes + services in rohe's own schema so a run can be replayed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rohe.core.domain import Memory, Node, Sensitivity, Service

GIB = 1024


@dataclass(frozen=True)
class Profile:
    device: str
    architecture: str
    cores: tuple[int, ...]  # choices of core count
    rss_gib: tuple[int, ...]  # choices of memory
    gpu: bool
    share: float  # of the nodes in a cluster


PROFILES = (
    Profile("raspberry-pi-4", "arm64", (4,), (4, 8), False, 0.30),
    Profile("jetson-nano", "arm64", (4,), (4,), True, 0.15),
    Profile("jetson-orin", "arm64", (8, 12), (16, 32), True, 0.10),
    Profile("intel-nuc", "amd64", (8,), (16, 32), False, 0.25),
    Profile("small-server", "amd64", (16, 24, 32), (64, 128), False, 0.20),
)


def generate_nodes(count: int, rng: np.random.Generator) -> list[Node]:
    shares = np.array([p.share for p in PROFILES])
    picks = rng.choice(len(PROFILES), size=count, p=shares / shares.sum())
    nodes = []
    for i, pick in enumerate(picks):
        profile = PROFILES[int(pick)]
        cores = int(rng.choice(profile.cores))
        rss = int(rng.choice(profile.rss_gib)) * GIB
        nodes.append(
            Node(
                name=f"{profile.device}-{i:05d}",
                labels={"device": profile.device, "arch": profile.architecture},
                architecture=profile.architecture,
                cores=[1000] * cores,
                memory=Memory(rss=rss, vms=2 * rss),
                accelerators={"gpu": 100.0} if profile.gpu else {},
            )
        )
    return nodes


def generate_services(replicas: int, rng: np.random.Generator) -> list[Service]:
    """Services of 1..10 replicas until `replicas` are reached, shaped like ML-pipeline stages."""
    services: list[Service] = []
    total = 0
    while total < replicas:
        count = min(int(rng.integers(1, 11)), replicas - total)
        kind = rng.choice(["light", "inference", "pinned", "gpu", "arm-only"], p=[0.4, 0.25, 0.15, 0.05, 0.15])
        rss = int(rng.choice([128, 256, 512, 1024, 2048]))
        fields: dict[str, Any] = {"cpu": int(rng.choice([100, 200, 250, 500]))}
        if kind == "inference":
            fields = {"cpu": int(rng.choice([250, 500, 1000])), "sensitivity": Sensitivity.CPU}
        elif kind == "pinned":
            fields = {"cpu": 0, "processor": [int(rng.choice([250, 500, 800]))] * int(rng.integers(1, 3))}
        elif kind == "gpu":
            fields = {"cpu": 500, "accelerators": {"gpu": float(rng.choice([10, 20, 25]))}}
            rss = max(rss, 1024)
        elif kind == "arm-only":
            fields["node_selector"] = {"arch": "arm64"}
        services.append(
            Service(
                name=f"svc-{len(services):05d}",
                replicas=count,
                memory=Memory(rss=rss, vms=2 * rss),
                spread=bool(rng.random() < 0.1),
                **fields,
            )
        )
        total += count
    return services


def write_instance(path: Path, nodes: list[Node], services: list[Service]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "nodes": [n.model_dump(mode="json") for n in nodes],
        "services": [s.model_dump(mode="json", exclude_defaults=True) for s in services],
    }
    path.write_text(json.dumps(document, indent=1))


def load_instance(path: Path) -> tuple[list[Node], list[Service]]:
    document = json.loads(path.read_text())
    return [Node.model_validate(n) for n in document["nodes"]], [
        Service.model_validate(s) for s in document["services"]
    ]


def instance(nodes_count: int, replicas: int, seed: int) -> tuple[list[Node], list[Service]]:
    rng = np.random.default_rng(seed + nodes_count * 7919 + replicas)
    return generate_nodes(nodes_count, rng), generate_services(replicas, rng)
