"""Real model services on loopback ports for the gateway tests, the profiles that describe them, and a
two-modality pipeline (digit images + a synthetic time series).

Models (all over the 10 digit classes):
  logreg, tree, bayes  scikit-learn models fitted on digits (raw pixels, no preprocessing)
  sure, unsure         logreg's answer with confidence 0.99 / 0.3 (to drive adaptive escalation)
  slow                 logreg after SLOW_SECONDS (late under any test deadline)
  broken               always HTTP 500
  series               time-series model: class = round(mean of its 8 features) mod 10, confidence 0.8
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
from numpy.typing import NDArray
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier

from rohe.core.background_server import BackgroundServer
from rohe.core.profiles import ModelProfile, ProfileCatalog
from rohe.serving.model_service import create_model_app, from_callable, from_sklearn
from rohe.serving.pipeline import PipelineSpec, parse_pipeline

SLOW_SECONDS = 0.6
CLASSES = list(range(10))
DIGIT_MODELS = ("logreg", "tree", "bayes", "sure", "unsure", "slow", "broken")


def ThreadedServer(app: Any) -> BackgroundServer:
    return BackgroundServer(app, log_level="critical")


def series_features(sample: list[float]) -> list[float]:
    """Preprocessing entrypoint of the `series` modality: average 16 raw points pairwise into 8 features."""
    if len(sample) != 16:
        raise ValueError(f"a series has 16 points, got {len(sample)}")
    return [(sample[i] + sample[i + 1]) / 2 for i in range(0, 16, 2)]


def series_for(label: int) -> list[float]:
    """A raw series the `series` model reads as `label`."""
    return [float(label) + (0.2 if i % 2 else -0.2) for i in range(16)]


def closed_port_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@dataclass
class Farm:
    urls: dict[str, str]
    models: dict[str, Any]
    samples: NDArray[np.float64]
    labels: NDArray[np.int64]
    dead_url: str

    def endpoints(self, *models: str) -> dict[str, list[str]]:
        return {m: [self.urls[m]] for m in models}


def _reshaped(probabilities: NDArray[np.float64], confidence: float) -> NDArray[np.float64]:
    """Same argmax, with `confidence` on it and the rest spread evenly."""
    rows = np.full(probabilities.shape, (1 - confidence) / (probabilities.shape[1] - 1))
    rows[np.arange(len(rows)), probabilities.argmax(axis=1)] = confidence
    return rows


def serve_farm() -> Iterator[Farm]:
    data = load_digits()
    x_train, y_train = data.data[:1000], data.target[:1000]
    models: dict[str, Any] = {
        "logreg": LogisticRegression(max_iter=300).fit(x_train, y_train),
        "tree": DecisionTreeClassifier(max_depth=8, random_state=0).fit(x_train, y_train),
        "bayes": GaussianNB().fit(x_train, y_train),
    }
    logreg = models["logreg"]

    def slow(batch: NDArray[np.float64]) -> NDArray[np.float64]:
        time.sleep(SLOW_SECONDS)
        return np.asarray(logreg.predict_proba(batch))

    def broken(batch: NDArray[np.float64]) -> NDArray[np.float64]:
        raise RuntimeError("this model always fails")

    def series(batch: NDArray[np.float64]) -> NDArray[np.float64]:
        labels = np.rint(batch.mean(axis=1)).astype(int) % 10
        return _reshaped(np.eye(10)[labels], 0.8)

    apps = {name: create_model_app(from_sklearn(name, model)) for name, model in models.items()}
    apps["sure"] = create_model_app(
        from_callable("sure", lambda b: _reshaped(logreg.predict_proba(b), 0.99), CLASSES, 64)
    )
    apps["unsure"] = create_model_app(
        from_callable("unsure", lambda b: _reshaped(logreg.predict_proba(b), 0.3), CLASSES, 64)
    )
    apps["slow"] = create_model_app(from_callable("slow", slow, CLASSES, 64))
    apps["broken"] = create_model_app(from_callable("broken", broken, CLASSES, 64))
    apps["series"] = create_model_app(from_callable("series", series, CLASSES, 8))
    servers = {name: ThreadedServer(app) for name, app in apps.items()}
    try:
        for server in servers.values():
            server.start()
        yield Farm(
            urls={name: s.url for name, s in servers.items()},
            models=models,
            samples=np.asarray(data.data[1000:], dtype=np.float64),
            labels=np.asarray(data.target[1000:], dtype=np.int64),
            dead_url=closed_port_url(),
        )
    finally:
        for server in servers.values():
            server.stop()


def profile(model: str, p50: float, p99: float, accuracy: float, cost: float, **class_accuracy: float) -> ModelProfile:
    per_class = {c: accuracy for c in CLASSES}
    per_class.update({int(k[1:]): v for k, v in class_accuracy.items()})
    return ModelProfile(
        model=model,
        node_type="local",
        latency_p50_ms=p50,
        latency_p99_ms=p99,
        throughput_rps=100.0,  # rohe-ensemble sizes replicas from it
        accuracy=accuracy,
        cost_per_request=cost,
        class_accuracy=per_class,
    )


# Spread so each algorithm's choice differs: logreg most accurate and slowest, tree fastest, bayes cheapest
# and the specialist on class 3, sure/unsure only used where named.
BASE_PROFILES = {
    "logreg": profile("logreg", 2, 40, 0.95, 0.003, c3=0.5),
    "tree": profile("tree", 1, 10, 0.85, 0.001, c3=0.6),
    "bayes": profile("bayes", 1, 20, 0.80, 0.0005, c3=0.99),
    "sure": profile("sure", 1, 15, 0.90, 0.0002),
    "unsure": profile("unsure", 1, 15, 0.90, 0.0001),
    "slow": profile("slow", 1, 30, 0.99, 0.002),
    "broken": profile("broken", 1, 10, 0.98, 0.002),
    "series": profile("series", 1, 10, 0.80, 0.0001),
}


def catalog(*models: str, **overrides: ModelProfile) -> ProfileCatalog:
    return ProfileCatalog.of([overrides.get(m, BASE_PROFILES[m]) for m in models])


def pipeline(digit_models: tuple[str, ...], series: bool = False, fusion: str = "mean") -> PipelineSpec:
    """A spec whose `image` modality reads raw pixels; with `series`, a second modality with preprocessing."""
    services = [{"name": f"svc-{m}", "image": "x", "ports": [9000 + i]} for i, m in enumerate(digit_models)]
    modalities: list[dict[str, Any]] = [{"name": "image", "models": {m: f"svc-{m}" for m in digit_models}}]
    inference = [f"svc-{m}" for m in digit_models]
    if series:
        services.append({"name": "svc-series", "image": "x", "ports": [9100]})
        inference.append("svc-series")
        modalities.append(
            {"name": "series", "preprocessing": "gateway_farm:series_features", "models": {"series": "svc-series"}}
        )
    return parse_pipeline(
        {
            "application": "gateway-test",
            "stages": [{"name": "inference", "services": inference}],
            "modalities": modalities,
            "fusion": fusion,
            "services": services,
        }
    )


def contract(consumer: str = "cam", low: int = 1, high: int = 2, deadline_ms: float = 400, **extra: Any) -> Any:
    from rohe.core.contracts import ConsumerContract

    return ConsumerContract.model_validate(
        {
            "consumer": consumer,
            "ensemble": {"min": low, "max": high},
            "required_throughput": 1,
            "deadline_ms": deadline_ms,
            "objectives": [{"metric": "accuracy", "direction": "maximize", "min": 0, "max": 1}],
            **extra,
        }
    )


class RecordingSink:
    """A ReportSink that keeps every report, for assertions."""

    def __init__(self) -> None:
        self.reports: list[Any] = []

    def submit(self, report: Any) -> None:
        self.reports.append(report)


@contextmanager
def served(gateway: Any, token: str | None = None) -> Iterator[httpx.Client]:
    """The gateway's app on a free loopback port (uvicorn in a thread), and a client for it."""
    from rohe.serving.gateway import create_gateway_app

    server = ThreadedServer(create_gateway_app(gateway, token)).start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            yield client
    finally:
        server.stop()
