"""Observation routes: app registration, observation agents, stored windows, violations and incidents, /metrics."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from rohe.api.vetting import parse_agent_request, vet_agent_config, vet_registration
from rohe.core.config import Settings, TransportKind
from rohe.core.trust import RequestPolicy
from rohe.observation.exporter import CONTENT_TYPE
from rohe.observation.metrics import WindowMetrics
from rohe.observation.registration import AppRegistration
from rohe.observation.reports import Report
from rohe.observation.service import AgentStatus, ObservationService
from rohe.observation.site_events import BatchResult, SiteEventBatch, SiteEventLog, StoredSiteEvent
from rohe.observation.violations import Violation
from rohe.platform import Platform
from rohe.quality.diagnosis import Incident

router = APIRouter(prefix="/observation", tags=["observation"])


class RegisterApp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app: str
    run: str = "default"
    user: str = "default"
    url: str | None = Field(default=None, description="where the app answers (its gateway)")
    transport: TransportKind | None = Field(default=None, description="default: observation.transport")
    broker_url: str | None = Field(default=None, description="no password in it; see credentials_env")
    credentials_env: str | None = Field(default=None, description="NAME of the variable holding the secret")


def observation(request: Request) -> ObservationService:
    platform: Platform = request.app.state.platform
    return platform.observation


@router.post("/apps", status_code=status.HTTP_201_CREATED)
def register_app(
    body: RegisterApp, request: Request, service: ObservationService = Depends(observation)
) -> AppRegistration:
    """Register an app run (idempotent: the same app and run keep their id; other fields are updated).
    A credentials_env must be listed in api.secrets for the broker URL (docs/security.md)."""
    settings: Settings = request.app.state.settings
    vet_registration(request.app.state.policy, settings, body.transport, body.broker_url, body.credentials_env)
    # No output_dir over HTTP: a client must not choose where the server writes files; the CLI writes locally.
    return service.register_app(
        body.app, body.run, body.user, body.url,
        transport=body.transport, broker_url=body.broker_url, credentials_env=body.credentials_env,
    )


@router.get("/apps")
def list_apps(app: str | None = None, service: ObservationService = Depends(observation)) -> list[AppRegistration]:
    return service.list_apps(app)


@router.get("/apps/{app}")
def get_app(app: str, run: str = "default", service: ObservationService = Depends(observation)) -> AppRegistration:
    return service.get_app(app, run)


@router.delete("/apps/{app}")
def delete_app(
    app: str,
    run: str | None = None,
    keep_metrics: bool = Query(True, description="keep stored windows and violations"),
    service: ObservationService = Depends(observation),
) -> dict[str, Any]:
    removed = service.delete_app(app, run, keep_metrics)
    return {"removed": [{"app": r.app, "run": r.run} for r in removed], "kept_metrics": keep_metrics}


@router.post("/apps/{app}/agent/start")
def start_agent(
    app: str,
    request: Request,
    config: dict[str, Any] = Body(..., description="an observation agent config; 'app' may be left out"),
    service: ObservationService = Depends(observation),
) -> AgentStatus:
    """Plug-ins, files, secrets and URLs in the config must be allowed by the server config (docs/security.md)."""
    rules: RequestPolicy = request.app.state.policy
    parsed = parse_agent_request(app, config)
    registration = service.get_app(parsed.app, parsed.run)
    return service.start_agent(app, vet_agent_config(rules, parsed, registration))


@router.post("/apps/{app}/agent/stop")
def stop_agent(
    app: str, run: str | None = None, service: ObservationService = Depends(observation)
) -> list[AgentStatus]:
    return service.stop_agent(app, run)


@router.get("/agents")
def list_agents(service: ObservationService = Depends(observation)) -> list[AgentStatus]:
    return service.agents()


@router.post("/apps/{app}/reports", status_code=status.HTTP_202_ACCEPTED)
def ingest(
    app: str, reports: list[Report], run: str = "default", service: ObservationService = Depends(observation)
) -> dict[str, int]:
    """Hand reports to the app run's agent running in this process (probes without a broker)."""
    service.agent(app, run).ingest(reports)
    return {"accepted": len(reports)}


@router.get("/apps/{app}/windows")
def windows(
    app: str,
    run: str | None = None,
    consumer: str | None = None,
    since: datetime | None = Query(None, description="only windows ending after this instant (ISO 8601)"),
    limit: int | None = Query(None, ge=1, le=100_000, description="only the newest N windows"),
    service: ObservationService = Depends(observation),
) -> list[WindowMetrics]:
    return service.windows(app, run, consumer, since, limit)


@router.get("/apps/{app}/violations")
def violations(
    app: str, run: str | None = None, consumer: str | None = None, service: ObservationService = Depends(observation)
) -> list[Violation]:
    return service.violations(app, run, consumer)


@router.get("/apps/{app}/incidents")
def incidents(
    app: str, run: str | None = None, consumer: str | None = None, service: ObservationService = Depends(observation)
) -> list[Incident]:
    """Diagnosed incidents (quality tiers: contract violations, rule alerts, anomalies), oldest first."""
    return service.incidents(app, run, consumer)


def site_event_log(request: Request) -> SiteEventLog:
    platform: Platform = request.app.state.platform
    return SiteEventLog(platform.store)


@router.post("/site-events")
def record_site_events(body: SiteEventBatch, log: SiteEventLog = Depends(site_event_log)) -> BatchResult:
    """What an edge site judged or decided on its own, sent by its outbox once the link is back. Idempotent by
    (site, event id): a resend is counted as a duplicate and changes nothing."""
    return log.record(body)


@router.get("/site-events")
def site_events(
    site: str | None = None,
    app: str | None = None,
    kind: str | None = Query(None, description="violation | decision | decision-observed | policy"),
    limit: int | None = Query(None, ge=1, le=100_000, description="only the newest N events"),
    log: SiteEventLog = Depends(site_event_log),
) -> list[StoredSiteEvent]:
    """Site events, oldest first, with the site that sent each; secrets in payloads redacted."""
    return log.list(site, app, kind, limit)


@router.get("/metrics", response_class=Response)
def metrics(service: ObservationService = Depends(observation)) -> Response:
    """Prometheus exposition: the latest windows of every agent in this process, and the agents' counters."""
    body = service.exporter.render() if service.exporter is not None else b""
    return Response(content=body, media_type=CONTENT_TYPE)
