"""Where each model's replicas listen, handed out round-robin."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from rohe.core.errors import InvalidInput, NotFound, Problem


class ModelEndpoints:
    """model name -> replica base URLs (`http://host:port`). Each call to `rotation` starts one replica
    further along, so load spreads over replicas while a retry can still go to a different one."""

    def __init__(self, endpoints: Mapping[str, Sequence[str]] | None = None) -> None:
        self._replicas: dict[str, tuple[str, ...]] = {}
        self._counters: dict[str, itertools.count[int]] = {}
        for model, urls in (endpoints or {}).items():
            self.register(model, urls)

    def register(self, model: str, urls: Sequence[str]) -> None:
        """Set (or replace) the replicas of `model`."""
        if not model:
            raise InvalidInput("a model needs a name", [Problem("model", "is empty", "name the model")])
        cleaned = tuple(url.rstrip("/") for url in urls)
        bad = [url for url in cleaned if not url.startswith(("http://", "https://"))]
        if not cleaned or bad:
            raise InvalidInput(
                "invalid replica URLs",
                [Problem(f"endpoints.{model}", f"got {list(urls)!r}", "give at least one http(s)://host:port URL")],
            )
        self._replicas[model] = cleaned
        self._counters[model] = itertools.count()

    def remove(self, model: str) -> None:
        self._replicas.pop(model, None)
        self._counters.pop(model, None)

    def models(self) -> list[str]:
        return sorted(self._replicas)

    def replicas(self, model: str) -> tuple[str, ...]:
        if model not in self._replicas:
            raise NotFound(
                "model has no endpoints",
                [Problem(f"members.{model}", "no replica is registered", "register its URLs in ModelEndpoints")],
            )
        return self._replicas[model]

    def rotation(self, model: str) -> tuple[str, ...]:
        """All replicas of `model`, starting at the next one in round-robin order."""
        urls = self.replicas(model)
        # next() on itertools.count is atomic under the GIL, so threads sharing the registry stay fair.
        start = next(self._counters[model]) % len(urls)
        return urls[start:] + urls[:start]
