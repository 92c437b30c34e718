"""Live endpoints: the placements route's ETag, the gateway following a placement change without restart,
and a removed replica draining (its in-flight requests answered, no new ones) with real replica processes."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from site_farm import NODES, SAMPLE, Replica, catalog, contract, free_port, node_doc, pipeline, service_doc

from rohe.api.app import create_app
from rohe.core.background_server import BackgroundServer
from rohe.core.config import Settings
from rohe.edge import SiteCache
from rohe.serving.dataplane import ModelEndpoints
from rohe.serving.gateway import InferRequest, ServingGateway
from rohe.serving.gateway.endpoints_watch import EndpointFollower, PlacementClient, bootstrap
from rohe.serving.gateway.replica_urls import UrlTemplate


def test_the_placements_route_answers_304_while_nothing_changed(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as client:
        client.post("/orchestration/nodes", json=node_doc("a"))
        client.post("/orchestration/services", json=service_doc(9000))
        first = client.get("/orchestration/replicas")
        etag = first.headers["etag"]
        assert first.status_code == 200 and first.json()[0]["status"] == "queueing"
        again = client.get("/orchestration/replicas", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        assert client.get("/orchestration/replicas", headers={"If-None-Match": f'"x", W/{etag}'}).status_code == 304
        assert client.get("/orchestration/replicas", headers={"If-None-Match": '"other"'}).status_code == 200
        # A filtered read is another representation with its own tag.
        assert client.get("/orchestration/replicas", params={"node": "a"}).headers["etag"] != etag
        client.post("/orchestration/place")
        changed = client.get("/orchestration/replicas", headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        assert changed.json()[0]["allocation"]["node"] == "a"


@pytest.fixture
def central(tmp_path: Path) -> Iterator[str]:
    with BackgroundServer(create_app(Settings(data_dir=tmp_path / "central"))) as server:
        yield server.url


def request(i: int) -> InferRequest:
    return InferRequest(consumer="cam", input=SAMPLE, request_id=f"q-{i}")


def test_a_placement_change_reaches_the_gateway_within_one_poll(central: str, tmp_path: Path) -> None:
    port = free_port(NODES[0], NODES[1])
    replicas = [Replica(NODES[0], port, answer=1), Replica(NODES[1], port, answer=2)]
    api = httpx.Client(base_url=central, timeout=30)
    try:
        api.post("/orchestration/nodes", json=node_doc(NODES[0])).raise_for_status()
        api.post("/orchestration/services", json=service_doc(port)).raise_for_status()
        api.post("/orchestration/place").raise_for_status()
        spec = pipeline(port)
        resolver = UrlTemplate("http://{node}:{port}")
        cache = SiteCache(tmp_path / "site")

        async def scenario() -> None:
            members = await bootstrap(PlacementClient(central), resolver, spec, cache)
            assert members == {"m": [replicas[0].url]}
            gateway = ServingGateway(spec, catalog(), [contract()], ModelEndpoints(members))
            follower = EndpointFollower(gateway, PlacementClient(central), resolver, cache=cache)
            try:
                assert (await gateway.infer(request(0))).predicted_class == 1
                assert (await follower.poll_once()) is not None and follower.status.changes == 0
                # The replica moves: node A drained, node B added, one placement round.
                api.post("/orchestration/nodes", json=node_doc(NODES[1])).raise_for_status()
                api.post(f"/orchestration/nodes/{NODES[0]}/drain").raise_for_status()
                api.post("/orchestration/place").raise_for_status()
                change = await follower.poll_once()
                assert change is not None
                assert change.added == (("m", replicas[1].url),) and change.dropped == (("m", replicas[0].url),)
                answers = [(await gateway.infer(request(i))).predicted_class for i in range(1, 5)]
                assert answers == [2, 2, 2, 2]
                await follower.poll_once()
                assert follower.status.not_modified == 1 and follower.status.changes == 1
            finally:
                await follower.stop()
                await gateway.aclose()

        asyncio.run(scenario())
        cached = cache.load("placements")
        assert cached is not None and cached["replicas"][0]["allocation"]["node"] == NODES[1]
    finally:
        api.close()
        for replica in replicas:
            replica.stop()


def test_a_removed_replica_drains_its_in_flight_requests_and_takes_no_new_ones() -> None:
    port = free_port(NODES[0], NODES[1])
    keep, remove = Replica(NODES[0], port, answer=1, delay=1.0), Replica(NODES[1], port, answer=2, delay=1.0)
    endpoints = ModelEndpoints({"m": [keep.url, remove.url]})
    spec = pipeline(port)
    gateway = ServingGateway(spec, catalog(), [contract(deadline_ms=8000)], endpoints)

    def in_flight(url: str) -> int:
        return sum(m.in_flight for m in endpoints.members() if m.url == url)

    async def scenario() -> None:
        first = [asyncio.create_task(gateway.infer(request(i))) for i in range(8)]
        give_up = time.monotonic() + 20
        while in_flight(keep.url) + in_flight(remove.url) < 8:  # every request reached its replica
            assert time.monotonic() < give_up, endpoints.members()
            await asyncio.sleep(0.02)
        at_removed = in_flight(remove.url)
        assert at_removed == 4  # round-robin
        change = endpoints.update({"m": [keep.url]})
        assert change.draining == (("m", remove.url),) and not change.dropped
        # What the deployer does next: SIGTERM; the replica finishes what it has and exits.
        remove.process.terminate()
        later = [asyncio.create_task(gateway.infer(request(100 + i))) for i in range(4)]
        answers = await asyncio.gather(*first, *later)
        assert all(a.status == "ok" for a in answers), [(a.status, a.failed) for a in answers]
        classes = [a.predicted_class for a in answers]
        assert classes[:8].count(2) == at_removed  # answered by the removed replica itself, not retried elsewhere
        assert classes[8:] == [1, 1, 1, 1]  # nothing new went to it
        assert endpoints.drained == [("m", remove.url)]
        assert [m.url for m in endpoints.members()] == [keep.url]
        await gateway.aclose()

    try:
        asyncio.run(scenario())
        # It exited by itself after its graceful shutdown (uvicorn re-raises the SIGTERM it handled at the end).
        assert remove.process.wait(30) in (0, -signal.SIGTERM)
    finally:
        keep.stop()
        remove.stop()


def test_a_site_that_never_reached_the_central_service_says_which_cache_is_missing(tmp_path: Path) -> None:
    from site_farm import free_port as port_of

    from rohe.core.errors import RoheError
    from rohe.serving.gateway.endpoints_watch import follow_placements

    dead = f"http://127.0.0.1:{port_of('127.0.0.1')}"
    cache = SiteCache(tmp_path / "site")
    with pytest.raises(RoheError) as failure:
        follow_placements(pipeline(9000), dead, UrlTemplate("http://{node}:{port}"), cache)
    problem = failure.value.problems[0]
    assert problem.location == str(cache.path("placements")) and "start the orchestration service" in problem.hint
    # Once a placement was cached, the same start succeeds from it alone.
    cache.save("placements", {"etag": '"e"', "replicas": [
        {"service": "svc-m", "index": 0, "status": "placed", "allocation": {"node": NODES[0], "cpu": 500}}]})
    members, make_follower = follow_placements(pipeline(9000), dead, UrlTemplate("http://{node}:{port}"), cache)
    assert members == {"m": [f"http://{NODES[0]}:9000"]}
    gateway = ServingGateway(pipeline(9000), catalog(), [contract()], ModelEndpoints(members))
    assert make_follower(gateway).status.online is False
