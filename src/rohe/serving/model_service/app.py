"""The HTTP face of a model: /predict (one or a batch), /health and /profile."""

from __future__ import annotations

import threading
import time
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


def create_model_app(predictor: Predictor, profile: ModelProfile | None = None, probe: ReportSink | None = None,
                     *, report_origin: ReportOrigin | None = None) -> FastAPI:
    """The model's HTTP app. With `probe`, every request is timed and reported (stage "inference" = whole
    request, "predict" = the model alone) with the model's id, the request id and, for a single input, its
    prediction; reports carry attribute source=model-service so they are not mistaken for the gateway's member
    reports. `report_origin` is needed only when `probe` is a plain sink rather than a Probe."""
    app = FastAPI(title=f"rohe model service: {predictor.name}")
    latencies = LatencyWindow()
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
        started = time.perf_counter()
        probabilities = predictor.predict_proba(batch)
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
            "observed": latencies.summary(),
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
