"""Shared by the example-application tests (tests/examples/<app>/): real model services on loopback,
in-process profiles, a gateway over them, and the CDM values an observation agent would store."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from rohe.core.background_server import BackgroundServer
from rohe.core.contracts import ConsumerContract, load_contract
from rohe.core.profiles import ProfileCatalog
from rohe.examples.workload import Workload
from rohe.observation.evaluation import contract_window_functions
from rohe.observation.reports import Report, ReportKind, RequestStatus
from rohe.serving.gateway import build_gateway, create_gateway_app
from rohe.serving.model_service import Predictor, create_model_app
from rohe.serving.pipeline import load_pipeline
from rohe.serving.profiling import profile_models
from rohe.serving.scheduling import get_scheduler
from rohe.serving.scheduling.base import RequestContext, prepare
from rohe.serving.selection.algorithms import RoheEnsemble

PRICE_PER_SECOND = 0.0001


# A per-request deadline for the serving tests: they check fusion and the contract's metrics, not timing. Six
# servers share this process (and the GIL), so one garbage-collection pause late in a long suite can hold every
# member past the contract's own deadline (CI saw all four smart-building members late at 706 ms of 1,000).
SLACK_MS = 30_000.0

@contextlib.contextmanager
def member_servers(predictors: Mapping[str, Predictor]) -> Iterator[dict[str, list[str]]]:
    """Every predictor behind its own model service (uvicorn on a free loopback port, in a thread)."""
    with contextlib.ExitStack() as stack:
        urls = {}
        for name, predictor in predictors.items():
            server = BackgroundServer(create_model_app(predictor), log_level="critical").start()
            stack.callback(server.stop)
            urls[name] = [server.url]
        yield urls


@contextlib.contextmanager
def gateway_client(
    pipeline: Path, catalog: ProfileCatalog, contracts: Sequence[Path], endpoints: Mapping[str, list[str]],
    preprocessors: Mapping[str, Any], **options: Any,
) -> Iterator[httpx.Client]:
    gateway = build_gateway(load_pipeline(pipeline), catalog, list(contracts), dict(endpoints),
                            preprocessors=dict(preprocessors), seed=7, **options)
    server = BackgroundServer(create_gateway_app(gateway), log_level="critical").start()
    try:
        with httpx.Client(base_url=server.url, timeout=2 * SLACK_MS / 1000) as client:
            yield client
    finally:
        server.stop()


def measured(workload: Workload) -> ProfileCatalog:
    return profile_models(workload.predictors, workload.inputs, workload.labels, "local",
                          class_names=workload.class_names, repeats=20, warmup=2, batch_size=16, rounds=1,
                          price_per_second=PRICE_PER_SECOND)


def chosen_members(contract_path: Path, catalog: ProfileCatalog) -> dict[str, list[str]]:
    """What rohe-ensemble and adaptive (phase 0) pick for one consumer from these profiles."""
    contract = load_contract(contract_path)
    search = sorted(m.model for m in RoheEnsemble().search(contract, catalog).members)
    context = RequestContext(prepare(contract, catalog), contract.deadline_ms or 1000.0, np.random.default_rng(7))
    adaptive = sorted(get_scheduler("adaptive").plan(context).members)
    return {"rohe-ensemble": search, "adaptive": adaptive}


def agent_custom(contract: ConsumerContract, reports: list[Report]) -> dict[str, float]:
    """What the observation agent stores in WindowMetrics.custom for the contract's CDMs."""
    custom: dict[str, float] = {}
    for name, function in contract_window_functions([contract]).items():
        for key, value in function(reports).items():
            custom[name if key == name else f"{name}.{key}"] = value
    return custom


def request_report(app: str, i: int, predicted: int | None, confidence: float = 0.9, **fields: Any) -> Report:
    values: dict[str, Any] = {"app": app, "run": "r1", "kind": ReportKind.REQUEST, "consumer": "c",
                              "request_id": f"req-{i}", "status": RequestStatus.OK,
                              "predicted_class": None if predicted is None else str(predicted),
                              "confidence": confidence}
    values.update(fields)
    return Report(**values)


def member_report(app: str, i: int, model: str, predicted: int, confidence: float = 0.9, **attributes: str) -> Report:
    return request_report(app, i, predicted, confidence, model_id=model, attributes=attributes)


def feedback_report(app: str, i: int, true_class: int) -> Report:
    return Report(app=app, run="r1", kind=ReportKind.FEEDBACK, request_id=f"req-{i}", true_class=str(true_class))
