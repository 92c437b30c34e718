"""The HTTP face of a model: /predict (one or a batch), /health and /profile."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from rohe.serving.model_service.predictor import Predictor
from rohe.serving.model_service.schema import Prediction, PredictRequest, PredictResponse
from rohe.serving.profiles import ModelProfile


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


def create_model_app(predictor: Predictor, profile: ModelProfile | None = None) -> FastAPI:
    app = FastAPI(title=f"rohe model service: {predictor.name}")
    latencies = LatencyWindow()

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
