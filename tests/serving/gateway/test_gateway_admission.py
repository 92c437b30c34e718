"""The dispatch gate: capacity, highest priority first, deadlines while queued, and cancelled waiters."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from gateway_farm import Farm, catalog, contract, pipeline, served

from rohe.core.errors import InvalidInput
from rohe.serving.dataplane import ModelEndpoints
from rohe.serving.gateway import ServingGateway
from rohe.serving.gateway.admission import PriorityGate


def test_the_highest_priority_waiter_goes_next_then_arrival_order() -> None:
    async def scenario() -> list[str]:
        gate = PriorityGate(1)
        assert await gate.acquire(0.0, 1)
        order: list[str] = []

        async def wait(name: str, priority: float) -> None:
            assert await gate.acquire(priority, 1)
            order.append(name)
            gate.release()

        tasks = [asyncio.create_task(wait(n, p)) for n, p in [("low", 0.0), ("high", 5.0), ("low-2", 0.0)]]
        await asyncio.sleep(0.01)
        assert gate.queued == 3
        gate.release()
        await asyncio.gather(*tasks)
        assert gate.in_use == 0
        return order

    assert asyncio.run(scenario()) == ["high", "low", "low-2"]


def test_a_waiter_that_times_out_or_is_cancelled_holds_no_slot() -> None:
    async def scenario() -> None:
        gate = PriorityGate(1)
        assert await gate.acquire(0.0, 1)
        assert not await gate.acquire(1.0, 0.02)  # timed out
        waiter = asyncio.create_task(gate.acquire(1.0, 5))
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        gate.release()
        assert gate.in_use == 0 and await gate.acquire(0.0, 0)

    asyncio.run(scenario())


def test_no_capacity_admits_everything_and_a_zero_capacity_is_refused() -> None:
    async def scenario() -> None:
        gate = PriorityGate(None)
        assert all([await gate.acquire(0.0, 0) for _ in range(50)])

    asyncio.run(scenario())
    with pytest.raises(InvalidInput):
        PriorityGate(0)


def test_queued_requests_wait_within_their_deadline_and_report_it(farm: Farm) -> None:
    models = ("slow", "tree")
    g = ServingGateway(
        pipeline(models),
        catalog(*models),
        [contract(deadline_ms=3000)],
        ModelEndpoints(farm.endpoints(*models)),
        max_in_flight=1,
    )

    async def scenario(url: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            # Warm up first: the first request through a fresh app is slow enough to reorder the others.
            await client.post("/infer", json={"consumer": "cam", "algorithm": "fastest", "input": [0.0] * 64})
            holder = asyncio.create_task(
                client.post("/infer", json={"consumer": "cam", "algorithm": "all-models", "input": [0.0] * 64})
            )
            await asyncio.sleep(0.25)
            queued = [
                client.post("/infer", json={"consumer": "cam", "algorithm": "fastest", "input": [0.0] * 64}),
                client.post(
                    "/infer",
                    json={"consumer": "cam", "algorithm": "fastest", "input": [0.0] * 64, "deadline_ms": 100},
                ),
            ]
            waited, expired = await asyncio.gather(*queued)
            return [await holder, waited, expired]

    with served(g) as client:
        held, waited, expired = asyncio.run(scenario(str(client.base_url)))
    assert held.status_code == 200 and held.json()["answered"] == ["slow", "tree"]
    body = waited.json()
    assert waited.status_code == 200 and body["answered"] == ["tree"]
    assert body["timings_ms"]["queueing"] >= 150  # behind the slow model (600 ms), sent 250 ms in
    assert expired.status_code == 503 and "no dispatch slot within the deadline" in expired.json()["error"]
