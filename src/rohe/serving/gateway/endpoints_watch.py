"""The gateway following the orchestration service's placements (live endpoints; docs/serving-gateway.md).

Every `interval_s` the follower reads `GET /orchestration/replicas` with `If-None-Match` (304 while nothing
changed), resolves the placed replicas of the pipeline's inference services to URLs (replica_urls.py) and
makes them the gateway's members: new replicas take requests at once; a removed one takes no new request and
is dropped when what it has in flight ends (ModelEndpoints.update). No restart, and the follower applies
changes on the server's event loop, so membership never changes under a request mid-plan. Resolving runs in
a worker thread: the `local` resolver waits for the deployer's lock, which a deploy holds while a new
replica boots, and serving must not stall for that long.

Offline: when the orchestration service is unreachable the gateway keeps its last members. Each placement it
gets is written to the site cache, so a gateway (re)started while the central service is down starts from
the last placement it knew (`restore`). The follower keeps polling and picks changes up once the link is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import TypeAdapter, ValidationError

from rohe.core.domain import Replica
from rohe.core.errors import InvalidInput, Problem, RoheError
from rohe.core.redact import redact_url
from rohe.edge import SiteCache
from rohe.serving.dataplane import ModelEndpoints
from rohe.serving.dataplane.endpoints import MembershipChange
from rohe.serving.gateway.replica_urls import ReplicaResolver
from rohe.serving.gateway.service import ServingGateway
from rohe.serving.pipeline import PipelineSpec

log = logging.getLogger(__name__)

PLACEMENTS = "placements"  # site cache entry: {"etag": ..., "replicas": [...]}
_REPLICAS = TypeAdapter(list[Replica])


@dataclass
class FollowerStatus:
    source: str
    online: bool = False
    polls: int = 0
    not_modified: int = 0
    changes: int = 0
    failures: int = 0
    etag: str | None = None
    last_error: str = ""
    offline_since: float | None = None  # Unix time of the first failed poll of the current outage
    restored_from_cache: bool = False
    events: list[str] = field(default_factory=list)  # membership changes, newest last (bounded)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "events"} | {"events": self.events[-20:]}


class PlacementClient:
    """Reads placements from the orchestration API, conditionally on the last ETag."""

    def __init__(self, url: str, token: str | None = None, timeout_s: float = 2.0) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = timeout_s
        self._client: httpx.AsyncClient | None = None

    async def fetch(self, etag: str | None) -> tuple[list[Replica] | None, str | None]:
        """(replicas, etag); replicas is None for 304. Raises httpx.HTTPError or RoheError."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        headers = {**self._headers, **({"If-None-Match": etag} if etag else {})}
        response = await self._client.get(f"{self.url}/orchestration/replicas", headers=headers)
        if response.status_code == 304:
            return None, etag
        if response.is_error:
            raise RoheError(f"orchestration answered {response.status_code}: {response.text[:200]}")
        try:
            replicas = _REPLICAS.validate_json(response.content)
        except ValidationError as exc:
            raise RoheError(f"orchestration sent no placement list: {exc.errors()[0]['msg']}") from None
        return replicas, response.headers.get("etag")

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


async def bootstrap(
    client: PlacementClient, resolver: ReplicaResolver, pipeline: PipelineSpec, cache: SiteCache | None
) -> dict[str, list[str]]:
    """The members to start a gateway with: from the orchestration service, else from the site cache (a
    start while the central service is unreachable). Raises RoheError when neither has a placement."""
    try:
        replicas, etag = await client.fetch(None)
        assert replicas is not None  # no If-None-Match, so never 304
        if cache is not None:
            cache.save(PLACEMENTS, {"etag": etag, "replicas": _REPLICAS.dump_python(replicas, mode="json")})
    except (httpx.HTTPError, RoheError) as exc:
        cached = cache.load(PLACEMENTS) if cache is not None else None
        if not isinstance(cached, dict):
            where = str(cache.path(PLACEMENTS)) if cache is not None else "site cache"
            raise RoheError(
                f"orchestration unreachable at {redact_url(client.url)} and no cached placement",
                [Problem(where, f"missing; orchestration: {type(exc).__name__}",
                         "start the orchestration service (or fix --follow); the cache fills on the first contact")],
            ) from None
        log.warning("orchestration unreachable (%s); starting from the cached placement", exc)
        replicas = _REPLICAS.validate_python(cached.get("replicas"))
    finally:
        await client.aclose()  # its connections belong to this loop; the follower opens its own
    return resolver.resolve(pipeline, replicas)


class EndpointFollower:
    def __init__(
        self,
        gateway: ServingGateway,
        client: PlacementClient,
        resolver: ReplicaResolver,
        *,
        interval_s: float = 1.0,
        cache: SiteCache | None = None,
    ) -> None:
        if not interval_s > 0:
            raise InvalidInput("invalid follow interval", [Problem("interval_s", f"{interval_s}", "e.g. 1.0")])
        self.gateway = gateway
        self.client = client
        self.resolver = resolver
        self.interval_s = interval_s
        self.cache = cache
        self.status = FollowerStatus(source=redact_url(client.url))
        self._replicas: list[Replica] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def endpoints(self) -> ModelEndpoints:
        return self.gateway.endpoints

    def restore(self) -> bool:
        """Take the cached placement (if any) as the current one: for a start while the central service is
        unreachable. Returns whether there was one."""
        cached = self.cache.load(PLACEMENTS) if self.cache is not None else None
        if not isinstance(cached, dict):
            return False
        try:
            replicas = _REPLICAS.validate_python(cached.get("replicas"))
        except ValidationError as exc:
            log.warning("cached placement ignored: %s", exc.errors()[0]["msg"])
            return False
        self._replicas, self.status.etag = replicas, cached.get("etag")
        self.status.restored_from_cache = True
        self._apply()
        return True

    async def poll_once(self) -> MembershipChange | None:
        """One poll: fetch (conditionally), re-resolve, apply. Never raises for an unreachable source."""
        self.status.polls += 1
        try:
            replicas, etag = await self.client.fetch(self.status.etag)
        except (httpx.HTTPError, RoheError) as exc:
            self._offline(f"{type(exc).__name__}: {exc}")
        else:
            if not self.status.online:
                log.info("orchestration reachable again at %s", self.status.source)
            self.status.online, self.status.offline_since, self.status.last_error = True, None, ""
            if replicas is None:
                self.status.not_modified += 1
            else:
                self._replicas, self.status.etag = replicas, etag
                if self.cache is not None:
                    document = {"etag": etag, "replicas": _REPLICAS.dump_python(replicas, mode="json")}
                    self.cache.save(PLACEMENTS, document)
        if self._replicas is None:
            return None
        # Re-resolved every poll, even on 304: a placed replica's process may have come up since (local).
        desired = await asyncio.to_thread(self._resolve, self._replicas)
        return None if desired is None else self._update(desired)

    def _offline(self, reason: str) -> None:
        self.status.failures += 1
        self.status.last_error = reason[:300]
        if self.status.online or self.status.offline_since is None:
            self.status.offline_since = time.time()
            log.warning("orchestration unreachable (%s); serving with the last known endpoints", reason)
        self.status.online = False

    def _apply(self) -> MembershipChange | None:
        assert self._replicas is not None
        desired = self._resolve(self._replicas)
        return None if desired is None else self._update(desired)

    def _resolve(self, replicas: list[Replica]) -> dict[str, list[str]] | None:
        try:
            return self.resolver.resolve(self.gateway.pipeline, replicas)
        except (RoheError, OSError) as exc:
            self.status.last_error = f"cannot resolve replica URLs: {exc}"[:300]
            return None

    def _update(self, desired: dict[str, list[str]]) -> MembershipChange:
        before = self.endpoints.models()
        change = self.endpoints.update(desired)
        if not change.changed:
            return change
        self.status.changes += 1
        self.status.events.append(
            f"added {[u for _, u in change.added]} draining {[u for _, u in change.draining]} "
            f"dropped {[u for _, u in change.dropped]}"
        )
        del self.status.events[:-50]
        log.info("members changed: %s", self.status.events[-1])
        if self.endpoints.models() != before:
            try:
                self.gateway.refresh_models()
            except InvalidInput as exc:
                # Nothing left to serve some consumer: keep its view; its requests fail per member, loudly.
                self.status.last_error = f"placement leaves a consumer without models: {exc}"[:300]
                log.warning("%s", self.status.last_error)
        return change

    async def run(self) -> None:
        while True:
            try:
                await self.poll_once()
            except Exception:  # a bug in one poll must not stop following
                log.exception("endpoint follower poll failed")
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        """Start polling on the running event loop (the gateway app's lifespan does this)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="rohe-endpoint-follower")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.client.aclose()


def follow_placements(
    pipeline: PipelineSpec,
    url: str,
    resolver: ReplicaResolver,
    cache: SiteCache,
    *,
    token: str | None = None,
    interval_s: float = 1.0,
) -> tuple[dict[str, list[str]], Callable[[ServingGateway], EndpointFollower]]:
    """For a command that starts a following gateway: the members to build it with (central, else the site
    cache), and how to make its follower once it is built (hand that to `create_gateway_app`)."""
    members = asyncio.run(bootstrap(PlacementClient(url, token), resolver, pipeline, cache))

    def follower(gateway: ServingGateway) -> EndpointFollower:
        return EndpointFollower(gateway, PlacementClient(url, token), resolver, interval_s=interval_s, cache=cache)

    return members, follower
