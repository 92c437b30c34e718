"""Where each model's replicas listen, handed out round-robin, with live membership and draining.

A replica is *active* (takes new requests) or *draining* (removed by `update` while requests were in flight to
it: it takes no new request, finishes what it has, and is dropped when its last one ends). The fan-out wraps
each call in `track(url)`, which is what tells a draining replica's in-flight count. A model whose replicas
are all gone stays known with no active replica, so a request planned just before the change ends with that
member failed ("no replica") instead of an unknown-model error.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from rohe.core.errors import InvalidInput, NotFound, Problem


@dataclass(frozen=True)
class MemberState:
    model: str
    url: str
    state: str  # "active" | "draining"
    in_flight: int


@dataclass(frozen=True)
class MembershipChange:
    added: tuple[tuple[str, str], ...] = ()  # (model, url)
    draining: tuple[tuple[str, str], ...] = ()  # removed with requests in flight: dropped when they end
    dropped: tuple[tuple[str, str], ...] = ()  # removed with nothing in flight

    @property
    def changed(self) -> bool:
        return bool(self.added or self.draining or self.dropped)


def _clean(model: str, urls: Sequence[str]) -> tuple[str, ...]:
    if not model:
        raise InvalidInput("a model needs a name", [Problem("model", "is empty", "name the model")])
    cleaned = tuple(dict.fromkeys(url.rstrip("/") for url in urls))
    bad = [url for url in cleaned if not url.startswith(("http://", "https://"))]
    if bad:
        raise InvalidInput(
            "invalid replica URLs",
            [Problem(f"endpoints.{model}", f"got {list(urls)!r}", "give http(s)://host:port URLs")],
        )
    return cleaned


class ModelEndpoints:
    """model name -> replica base URLs (`http://host:port`). Each call to `rotation` starts one replica
    further along, so load spreads over replicas while a retry can still go to a different one.
    Not thread-safe for updates: change membership from the event loop that serves requests."""

    def __init__(self, endpoints: Mapping[str, Sequence[str]] | None = None) -> None:
        self._replicas: dict[str, tuple[str, ...]] = {}
        self._counters: dict[str, itertools.count[int]] = {}
        self._draining: dict[str, str] = {}  # url -> model
        self._in_flight: dict[str, int] = {}
        self.version = 0  # bumped on every membership change
        self.drained: list[tuple[str, str]] = []  # (model, url) dropped after draining, oldest first
        for model, urls in (endpoints or {}).items():
            self.register(model, urls)

    def register(self, model: str, urls: Sequence[str]) -> None:
        """Set (or replace) the replicas of `model` at once, no draining (configuration, not a live change)."""
        cleaned = _clean(model, urls)
        if not cleaned:
            raise InvalidInput(
                "invalid replica URLs",
                [Problem(f"endpoints.{model}", f"got {list(urls)!r}", "give at least one http(s)://host:port URL")],
            )
        self._replicas[model] = cleaned
        self._counters[model] = itertools.count()
        self.version += 1

    def remove(self, model: str) -> None:
        self._replicas.pop(model, None)
        self._counters.pop(model, None)
        self.version += 1

    def update(self, desired: Mapping[str, Sequence[str]]) -> MembershipChange:
        """Make `desired` (model -> URLs; a model left out has none) the active set. Removed replicas with
        requests in flight drain; the others are dropped at once."""
        wanted = {model: _clean(model, urls) for model, urls in desired.items()}
        added: list[tuple[str, str]] = []
        draining: list[tuple[str, str]] = []
        dropped: list[tuple[str, str]] = []
        for model in sorted(set(self._replicas) | set(wanted)):
            old, new = self._replicas.get(model, ()), wanted.get(model, ())
            for url in new:
                if url not in old:
                    added.append((model, url))
                    self._draining.pop(url, None)  # back in the placement: active again
            for url in old:
                if url in new:
                    continue
                if self._in_flight.get(url, 0) > 0:
                    self._draining[url] = model
                    draining.append((model, url))
                else:
                    dropped.append((model, url))
            if old != new:
                self._replicas[model] = new
                self._counters.setdefault(model, itertools.count())
        change = MembershipChange(tuple(added), tuple(draining), tuple(dropped))
        if change.changed:
            self.version += 1
        return change

    @contextlib.contextmanager
    def track(self, url: str) -> Iterator[None]:
        """Count one request in flight to `url` for as long as the block runs."""
        self._in_flight[url] = self._in_flight.get(url, 0) + 1
        try:
            yield
        finally:
            left = self._in_flight[url] - 1
            if left:
                self._in_flight[url] = left
            else:
                del self._in_flight[url]
                model = self._draining.pop(url, None)
                if model is not None:
                    self.drained.append((model, url))

    def models(self) -> list[str]:
        """Models with at least one active replica."""
        return sorted(model for model, urls in self._replicas.items() if urls)

    def members(self) -> list[MemberState]:
        rows = [
            MemberState(model, url, "active", self._in_flight.get(url, 0))
            for model, urls in sorted(self._replicas.items())
            for url in urls
        ]
        rows += [MemberState(m, u, "draining", self._in_flight.get(u, 0)) for u, m in sorted(self._draining.items())]
        return rows

    def active(self) -> dict[str, list[str]]:
        return {model: list(urls) for model, urls in sorted(self._replicas.items()) if urls}

    def replicas(self, model: str) -> tuple[str, ...]:
        if model not in self._replicas:
            raise NotFound(
                "model has no endpoints",
                [Problem(f"members.{model}", "no replica is registered", "register its URLs in ModelEndpoints")],
            )
        return self._replicas[model]

    def rotation(self, model: str) -> tuple[str, ...]:
        """All active replicas of `model`, starting at the next one in round-robin order (empty: none left)."""
        urls = self.replicas(model)
        if not urls:
            return urls
        # next() on itertools.count is atomic under the GIL, so threads sharing the registry stay fair.
        start = next(self._counters[model]) % len(urls)
        return urls[start:] + urls[:start]
