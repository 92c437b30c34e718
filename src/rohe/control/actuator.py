"""The default Actuator: the orchestration service for replicas, the serving gateway's policy route for ensembles.

After a scale or a move, one placement round runs at once with the `observed-load` score fed the CPU the
observation store saw per node in the newest windows, so new replicas go where there really is room.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import httpx

from rohe.core.errors import InvalidInput, Problem, RoheError
from rohe.core.redact import redact_url
from rohe.observation.metrics import WindowMetrics
from rohe.orchestration.placement.observed import observed_load_algorithm
from rohe.orchestration.service import OrchestrationService


def observed_cores(windows: Sequence[WindowMetrics]) -> dict[str, float]:
    """Mean CPU cores in use per node over the newest window of each consumer (`service@node` resources summed
    per node; a replica seen in several consumers' windows is counted once, at its highest mean)."""
    per_key: dict[str, float] = {}
    for window in windows:
        for key, stats in window.resources.items():
            per_key[key] = max(per_key.get(key, 0.0), stats.cpu_mean)
    nodes: dict[str, float] = {}
    for key, cores in per_key.items():
        node = key.rpartition("@")[2]
        nodes[node] = nodes.get(node, 0.0) + cores
    return nodes


class PolicyTarget(Protocol):
    """Where a consumer's ensemble policy is set: the gateway's HTTP route, or a simulated gateway."""

    def set(self, consumer: str, *, degrade: bool, exclude: Sequence[str]) -> str: ...


class GatewayPolicy:
    """POST /consumers/{consumer}/policy on the serving gateway."""

    def __init__(self, url: str, token: str | None = None, client: httpx.Client | None = None,
                 timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self._client = client or httpx.Client(timeout=timeout_s)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    def set(self, consumer: str, *, degrade: bool, exclude: Sequence[str]) -> str:
        body: dict[str, object] = {"algorithm": None, "degrade": degrade}
        if exclude:
            body["exclude"] = list(exclude)
        target = f"{self.url}/consumers/{consumer}/policy"
        try:
            response = self._client.post(target, json=body, headers=self._headers)
        except httpx.HTTPError as exc:
            raise RoheError(f"gateway unreachable at {redact_url(target)}: {type(exc).__name__}") from None
        if response.is_error:
            raise RoheError(f"gateway answered {response.status_code} to {redact_url(target)}: {response.text[:200]}")
        return f"policy of {consumer}: {response.json()}"

    def close(self) -> None:
        self._client.close()


class PlatformActuator:
    def __init__(
        self,
        orchestration: OrchestrationService,
        gateway: PolicyTarget | None = None,
        observed: Callable[[], Mapping[str, float]] | None = None,
        preferred: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.orchestration = orchestration
        self.gateway = gateway
        self.observed = observed or (lambda: {})
        self.preferred = dict(preferred or {})

    def _place(self) -> str:
        result = self.orchestration.place_queued(observed_load_algorithm(self.observed(), self.preferred))
        text = f"placed {len(result.placed)}"
        if result.unplaced:
            text += f", {len(result.unplaced)} still queued: {next(iter(result.unplaced.values()))}"
        return text

    def scale(self, service: str, replicas: int) -> str:
        result = self.orchestration.scale_service(service, replicas)
        return f"{service}: {result.before} -> {result.after} replicas; {self._place()}"

    def move(self, service: str, index: int, node_type: str) -> str:
        replica = self.orchestration.move_replica(service, index, node_type)
        return f"{replica.key} -> {node_type}; {self._place()}"

    def set_policy(self, consumer: str, *, degrade: bool, exclude: Sequence[str]) -> str:
        if self.gateway is None:
            raise InvalidInput("no gateway to act on",
                               [Problem("gateway_url", "is not set", "pass --gateway URL to the controller")])
        return self.gateway.set(consumer, degrade=degrade, exclude=exclude)
