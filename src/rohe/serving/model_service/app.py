"""The HTTP face of a model: /predict (one or a batch), /health and /profile."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from rohe.core.profiles import ModelProfile
from rohe.observation.probes.middleware import ProbeMiddleware
from rohe.observation.probes.scope import ReportOrigin, annotate, current_scope
from rohe.observation.reports import ReportSink
from rohe.serving.model_service.predictor import Predictor
from rohe.serving.model_service.schema import Prediction, PredictRequest, PredictResponse


class LatencyWindow:
    """The last `size` inference times, for /profile; bounded so a long-running service stays small."""

    def __init__(self, size: int = 2048) -> None:
        self._values: list[float] = []
        self._size = size
        self._lock = threading.Lock()
        self.count = 0

    def add(self, value: float) -> None:
        with self._lock:
            self.count += 1
            self._values.append(value)
            if len(self._values) > self._size:
                del self._values[: len(self._values) - self._size]

    def summary(self) -> dict[str, float | int | None]:
        with self._lock:
            values = np.asarray(self._values)
        if values.size == 0:
            return {"count": self.count, "p50_ms": None, "p95_ms": None, "p99_ms": None}
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        return {"count": self.count, "p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99)}


@dataclass(frozen=True)
class ReplicaCapacity:
    """What one replica serves at once, for a replica that must behave like a given device rather than like
    this machine (the live closed-loop demo sizes replicas on it; docs/adaptation.md).

    `concurrency`: predictions run at once; later requests wait for a slot in arrival order. `min_service_ms`:
    a prediction holds its slot at least this long (the rest is slept, not computed), so a replica of a
    slower device keeps its capacity, `concurrency * 1000 / min_service_ms` req/s, on a busy two-core machine.
    `max_wait_ms`: a request that waited longer for a slot is refused with 503 instead of served late (its
    caller's deadline has passed; serving it would only delay the requests behind it)."""

    concurrency: int | None = None
    min_service_ms: float = 0.0
    max_wait_ms: float | None = None

    def __post_init__(self) -> None:
        if self.concurrency is not None and self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {self.concurrency}")
        if self.min_service_ms < 0 or (self.max_wait_ms is not None and self.max_wait_ms <= 0):
            raise ValueError("min_service_ms must be >= 0 and max_wait_ms > 0")


class _Slots:
    """The replica's `ReplicaCapacity` applied around one prediction."""

    def __init__(self, capacity: ReplicaCapacity) -> None:
        self.capacity = capacity
        self._slots = threading.Semaphore(capacity.concurrency) if capacity.concurrency is not None else None
        self.refused = 0

    def acquire(self) -> bool:
        if self._slots is None:
            return True
        wait = self.capacity.max_wait_ms
        if self._slots.acquire(timeout=None if wait is None else wait / 1000):
            return True
        self.refused += 1
        return False

    def release(self, started: float) -> None:
        rest = self.capacity.min_service_ms / 1000 - (time.perf_counter() - started)
        if rest > 0:
            time.sleep(rest)
        if self._slots is not None:
            self._slots.release()


def create_model_app(predictor: Predictor, profile: ModelProfile | None = None, probe: ReportSink | None = None,
                     *, report_origin: ReportOrigin | None = None,
                     capacity: ReplicaCapacity | None = None) -> FastAPI:
    """The model's HTTP app. With `probe`, every request is timed and reported (stage "inference" = whole
    request, "predict" = the model alone) with the model's id, the request id and, for a single input, its
    prediction; reports carry attribute source=model-service so they are not mistaken for the gateway's member
    reports. `report_origin` is needed only when `probe` is a plain sink rather than a Probe."""
    app = FastAPI(title=f"rohe model service: {predictor.name}")
    latencies = LatencyWindow()
    slots = _Slots(capacity or ReplicaCapacity())
    if probe is not None:
        origin = report_origin or getattr(probe, "origin", None) or ReportOrigin(predictor.name, service=predictor.name)
        app.add_middleware(ProbeMiddleware, probe=probe, stage="inference", origin=origin,
                           exclude_paths=("/health", "/profile"), attributes={"source": "model-service"})

    @app.post("/predict", response_model=PredictResponse)
    def predict(request: PredictRequest) -> Any:
        batch = np.asarray(request.batch(), dtype=np.float64)
        if batch.ndim != 2 or (predictor.n_features is not None and batch.shape[1] != predictor.n_features):
            return JSONResponse(
                status_code=422,
                content={
                    "error": "InvalidInput",
                    "message": f"each input needs {predictor.n_features} numbers, got shape {list(batch.shape)}",
                    "problems": [{"location": "inputs", "message": "wrong number of features", "hint": ""}],
                },
            )
        if not slots.acquire():
            return JSONResponse(status_code=503, content={
                "error": "Overloaded", "message": f"no free slot within {slots.capacity.max_wait_ms:g} ms",
                "problems": [{"location": "replica", "message": "every slot busy",
                              "hint": "add replicas, or send less load"}]})
        started = time.perf_counter()
        try:
            probabilities = predictor.predict_proba(batch)
        finally:
            slots.release(started)
        elapsed = (time.perf_counter() - started) * 1000
        latencies.add(elapsed)
        classes = list(predictor.classes)
        predictions = []
        for row in probabilities:
            best = int(np.argmax(row))
            predictions.append(
                Prediction(probabilities=row.tolist(), predicted_class=classes[best], confidence=float(row[best]))
            )
        if probe is not None:
            _annotate_report(predictor.name, request.request_id, predictions, elapsed)
        return PredictResponse(
            model=predictor.name, request_id=request.request_id, predictions=predictions, inference_ms=elapsed
        )

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "model": predictor.name}

    @app.get("/profile")
    def current_profile() -> dict[str, Any]:
        return {
            "model": predictor.name,
            "classes": list(predictor.classes),
            "profile": profile.model_dump(mode="json") if profile else None,
            "observed": latencies.summary() | {"refused": slots.refused},
        }

    return app


def _annotate_report(model: str, request_id: str | None, predictions: list[Prediction], predict_ms: float) -> None:
    """Hand the probe middleware what only the handler knows (a no-op when no probe scope is open)."""
    scope = current_scope()
    if scope is None:
        return
    scope.add_stage("predict", predict_ms)
    scope.attributes["batch_size"] = str(len(predictions))
    single = predictions[0] if len(predictions) == 1 else None
    annotate(model_id=model, request_id=request_id, predicted_class=single.predicted_class if single else None,
             confidence=single.confidence if single else None)
