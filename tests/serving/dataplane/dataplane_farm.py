"""Real model services on loopback ports, each a uvicorn server in a thread."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier

from rohe.core.background_server import BackgroundServer
from rohe.serving.model_service import create_model_app, from_callable, from_sklearn

SLOW_SECONDS = 1.5


@dataclass
class ModelFarm:
    """URLs of the running services, and the fitted models so tests can compute expected answers."""

    urls: dict[str, str]
    models: dict[str, Any]
    samples: NDArray[np.float64]
    labels: NDArray[np.int64]
    closed_url: str  # a port nothing listens on: connection refused


def _closed_port_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def serve_farm() -> Iterator[ModelFarm]:
    """Fit three small digit models and serve them, plus a slow one and two that always answer 500."""
    data = load_digits()
    x_train, y_train = data.data[:1000], data.target[:1000]
    models: dict[str, Any] = {
        "logreg": LogisticRegression(max_iter=300).fit(x_train, y_train),
        "tree": DecisionTreeClassifier(max_depth=8, random_state=0).fit(x_train, y_train),
        "bayes": GaussianNB().fit(x_train, y_train),
    }
    classes = list(range(10))

    def slow(batch: NDArray[np.float64]) -> NDArray[np.float64]:
        time.sleep(SLOW_SECONDS)
        return np.asarray(models["logreg"].predict_proba(batch))

    def broken(batch: NDArray[np.float64]) -> NDArray[np.float64]:
        raise RuntimeError("this model always fails")

    apps = {name: create_model_app(from_sklearn(name, model)) for name, model in models.items()}
    apps["slow"] = create_model_app(from_callable("slow", slow, classes, 64))
    apps["broken"] = create_model_app(from_callable("broken", broken, classes, 64))
    apps["broken-2"] = create_model_app(from_callable("broken", broken, classes, 64))
    servers = {name: BackgroundServer(app, log_level="critical") for name, app in apps.items()}
    try:
        for server in servers.values():
            server.start()
        yield ModelFarm(
            urls={name: server.url for name, server in servers.items()},
            models=models,
            samples=data.data[1000:],
            labels=data.target[1000:],
            closed_url=_closed_port_url(),
        )
    finally:
        for server in servers.values():
            server.stop()
