"""The serving gateway: per-request scheduling over a pipeline's modalities, behind an HTTP API."""

from rohe.serving.gateway.app import create_gateway_app
from rohe.serving.gateway.build import build_gateway, endpoints_for_services, parse_endpoint_options
from rohe.serving.gateway.reporting import ReportSink
from rohe.serving.gateway.schema import (
    CounterRow,
    FeedbackRequest,
    InferRequest,
    InferResponse,
    ModalityAnswer,
    PolicyRequest,
    PolicyState,
    StatsResponse,
    Timings,
)
from rohe.serving.gateway.service import DEFAULT_DEADLINE_MS, DEGRADED_ALGORITHM, ServingGateway

__all__ = [
    "DEFAULT_DEADLINE_MS",
    "DEGRADED_ALGORITHM",
    "CounterRow",
    "FeedbackRequest",
    "InferRequest",
    "InferResponse",
    "ModalityAnswer",
    "PolicyRequest",
    "PolicyState",
    "ReportSink",
    "ServingGateway",
    "StatsResponse",
    "Timings",
    "build_gateway",
    "create_gateway_app",
    "endpoints_for_services",
    "parse_endpoint_options",
]
