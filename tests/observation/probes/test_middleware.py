"""The ASGI middleware times every request and reports its status; the model service uses it when given a probe."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI, HTTPException

from observation.probes.support import RecordingTransport
from rohe.core.errors import InvalidInput
from rohe.observation.probes import Probe, ProbeMiddleware, ReportOrigin, annotate
from rohe.observation.reports import Report, RequestStatus
from rohe.serving.model_service import create_model_app, from_callable
from rohe.serving.model_service.predictor import CallablePredictor


class ListSink:
    """The simplest ReportSink: what a test or an in-process consumer might pass instead of a Probe."""

    def __init__(self) -> None:
        self.reports: list[Report] = []

    def submit(self, report: Report) -> None:
        self.reports.append(report)


def _service() -> FastAPI:
    app = FastAPI()

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(0.03)
        annotate(request_id="r-slow", predicted_class=1, confidence=0.75)
        return {"ok": "yes"}

    @app.get("/sync")
    def in_thread_pool() -> dict[str, str]:
        time.sleep(0.01)
        annotate(request_id="r-sync")  # runs on a worker thread; the scope still reaches the middleware
        return {}

    @app.get("/missing")
    async def missing() -> None:
        raise HTTPException(404, "no such thing")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("bug")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def _calls(app: object, paths: list[str]) -> list[int]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return [(await client.get(path)).status_code for path in paths]


def test_every_request_is_timed_with_its_status() -> None:
    sink = ListSink()
    app = ProbeMiddleware(_service(), sink, origin=ReportOrigin("shop", "r1", "api", "nuc-1"))
    codes = asyncio.run(_calls(app, ["/slow", "/sync", "/missing", "/boom", "/health"]))
    assert codes == [200, 200, 404, 500, 200]
    slow, sync, missing, boom = sink.reports  # /health is not reported
    assert slow.stage_latency_ms["inference"] >= 30 and slow.status is RequestStatus.OK
    assert (slow.request_id, slow.predicted_class, slow.confidence) == ("r-slow", "1", 0.75)
    assert sync.request_id == "r-sync" and sync.stage_latency_ms["inference"] >= 10
    assert missing.status is RequestStatus.ERROR and missing.attributes["http_status"] == "404"
    assert boom.status is RequestStatus.ERROR and boom.attributes["http_status"] == "500"
    assert {r.attributes["path"] for r in sink.reports} == {"/slow", "/sync", "/missing", "/boom"}
    assert {(r.app, r.run, r.service, r.node) for r in sink.reports} == {("shop", "r1", "api", "nuc-1")}


def test_a_plain_sink_needs_an_origin() -> None:
    with pytest.raises(InvalidInput) as caught:
        ProbeMiddleware(_service(), ListSink())
    assert caught.value.problems[0].location == "origin"


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[tuple[Probe, RecordingTransport]]:
    recorder = RecordingTransport()
    instance = Probe("vision", "r1", transport=recorder, service="resnet", flush_interval_s=0.01, spill_dir=tmp_path)
    yield instance, recorder
    instance.close(timeout=2)


def _model() -> CallablePredictor:
    def predict(batch: np.ndarray) -> np.ndarray:
        time.sleep(0.005)
        return np.tile([0.2, 0.7, 0.1], (batch.shape[0], 1))

    return from_callable("resnet", predict, [0, 1, 2], n_features=2)


def test_model_service_reports_each_prediction(probe: tuple[Probe, RecordingTransport]) -> None:
    instance, recorder = probe
    app = create_model_app(_model(), probe=instance)

    async def calls() -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://m") as client:
            one = await client.post("/predict", json={"request_id": "q-9", "input": [1.0, 2.0]})
            batch = await client.post("/predict", json={"inputs": [[1.0, 2.0], [3.0, 4.0]]})
            wrong = await client.post("/predict", json={"input": [1.0]})
            await client.get("/health")
            return [one.status_code, batch.status_code, wrong.status_code]

    assert asyncio.run(calls()) == [200, 200, 422]
    single, batch, wrong = recorder.wait_for(3)
    assert (single.model_id, single.request_id, single.predicted_class) == ("resnet", "q-9", "1")
    assert single.confidence == 0.7
    assert single.stage_latency_ms["inference"] >= single.stage_latency_ms["predict"] >= 5
    assert single.attributes["source"] == "model-service" and single.service == "resnet"
    assert batch.predicted_class is None and batch.attributes["batch_size"] == "2"
    assert wrong.status is RequestStatus.ERROR and wrong.attributes["http_status"] == "422"


def test_model_service_without_probe_is_unchanged() -> None:
    app = create_model_app(_model())
    assert [m for m in app.user_middleware if getattr(m.cls, "__name__", "") == "ProbeMiddleware"] == []
