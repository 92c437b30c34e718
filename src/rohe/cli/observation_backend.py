"""Where `rohe observation ...` commands go: the local store (embedded) or a running service (`--url`).

Both backends take the same calls and return the same models, so each command is written once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

from pydantic import TypeAdapter

from rohe.cli.backend import HttpBackend
from rohe.core.config import Settings, TransportKind
from rohe.observation.metrics import WindowMetrics
from rohe.observation.registration import AppRegistration
from rohe.observation.service import AgentStatus
from rohe.observation.site_events import SiteEventLog, StoredSiteEvent
from rohe.observation.violations import Violation
from rohe.quality.diagnosis import Incident


class ObservationBackend(Protocol):
    def register_app(
        self, app: str, run: str, user: str, app_url: str | None, transport: TransportKind | None,
        broker_url: str | None, credentials_env: str | None,
    ) -> AppRegistration: ...
    def list_apps(self, app: str | None) -> list[AppRegistration]: ...
    def delete_app(self, app: str, run: str | None, keep_metrics: bool) -> list[dict[str, str]]: ...
    def start_agent(self, app: str, config: dict[str, Any]) -> AgentStatus: ...
    def stop_agent(self, app: str, run: str | None) -> list[AgentStatus]: ...
    def agents(self) -> list[AgentStatus]: ...
    def windows(
        self, app: str, run: str | None, consumer: str | None, since: datetime | None, limit: int | None
    ) -> list[WindowMetrics]: ...
    def violations(self, app: str, run: str | None) -> list[Violation]: ...
    def incidents(self, app: str, run: str | None) -> list[Incident]: ...
    def site_events(
        self, site: str | None, app: str | None, kind: str | None, limit: int | None
    ) -> list[StoredSiteEvent]: ...
    def close(self) -> None: ...


class EmbeddedObservationBackend:
    """Works on the local store. Agents started here are recorded; `rohe start observation-service` runs them."""

    embedded = True

    def __init__(self, settings: Settings) -> None:
        from rohe.platform import Platform  # the whole platform: only when a command runs embedded

        self.platform = Platform.open(settings)
        self.service = self.platform.observation

    def register_app(
        self, app: str, run: str, user: str, app_url: str | None, transport: TransportKind | None,
        broker_url: str | None, credentials_env: str | None,
    ) -> AppRegistration:
        return self.service.register_app(
            app, run, user, app_url, transport=transport, broker_url=broker_url, credentials_env=credentials_env
        )

    def list_apps(self, app: str | None) -> list[AppRegistration]:
        return self.service.list_apps(app)

    def delete_app(self, app: str, run: str | None, keep_metrics: bool) -> list[dict[str, str]]:
        return [{"app": r.app, "run": r.run} for r in self.service.delete_app(app, run, keep_metrics)]

    def start_agent(self, app: str, config: dict[str, Any]) -> AgentStatus:
        return self.service.start_agent(app, config, launch=False)

    def stop_agent(self, app: str, run: str | None) -> list[AgentStatus]:
        return self.service.stop_agent(app, run)

    def agents(self) -> list[AgentStatus]:
        return self.service.agents()

    def windows(
        self, app: str, run: str | None, consumer: str | None, since: datetime | None, limit: int | None
    ) -> list[WindowMetrics]:
        return self.service.windows(app, run, consumer, since, limit)

    def violations(self, app: str, run: str | None) -> list[Violation]:
        return self.service.violations(app, run)

    def incidents(self, app: str, run: str | None) -> list[Incident]:
        return self.service.incidents(app, run)

    def site_events(
        self, site: str | None, app: str | None, kind: str | None, limit: int | None
    ) -> list[StoredSiteEvent]:
        return SiteEventLog(self.platform.store).list(site, app, kind, limit)

    def close(self) -> None:
        self.platform.close()


_apps = TypeAdapter(list[AppRegistration])
_statuses = TypeAdapter(list[AgentStatus])
_windows = TypeAdapter(list[WindowMetrics])
_violations = TypeAdapter(list[Violation])
_incidents = TypeAdapter(list[Incident])
_site_events = TypeAdapter(list[StoredSiteEvent])


class RemoteObservationBackend(HttpBackend):
    """Talks to `rohe start observation-service` (or any rohe API process) over HTTP."""

    embedded = False
    prefix = "/observation"
    start_command = "rohe start observation-service"

    def register_app(
        self, app: str, run: str, user: str, app_url: str | None, transport: TransportKind | None,
        broker_url: str | None, credentials_env: str | None,
    ) -> AppRegistration:
        body = {"app": app, "run": run, "user": user, "url": app_url, "transport": transport,
                "broker_url": broker_url, "credentials_env": credentials_env}
        return AppRegistration.model_validate(self._call("POST", "/apps", json=body))

    def list_apps(self, app: str | None) -> list[AppRegistration]:
        return _apps.validate_python(self._call("GET", "/apps", params=_given(app=app)))

    def delete_app(self, app: str, run: str | None, keep_metrics: bool) -> list[dict[str, str]]:
        params = {**_given(run=run), "keep_metrics": keep_metrics}
        removed: list[dict[str, str]] = self._call("DELETE", f"/apps/{_path(app)}", params=params)["removed"]
        return removed

    def start_agent(self, app: str, config: dict[str, Any]) -> AgentStatus:
        return AgentStatus.model_validate(self._call("POST", f"/apps/{_path(app)}/agent/start", json=config))

    def stop_agent(self, app: str, run: str | None) -> list[AgentStatus]:
        return _statuses.validate_python(self._call("POST", f"/apps/{_path(app)}/agent/stop", params=_given(run=run)))

    def agents(self) -> list[AgentStatus]:
        return _statuses.validate_python(self._call("GET", "/agents"))

    def windows(
        self, app: str, run: str | None, consumer: str | None, since: datetime | None, limit: int | None
    ) -> list[WindowMetrics]:
        params = _given(run=run, consumer=consumer, since=since.isoformat() if since else None, limit=limit)
        return _windows.validate_python(self._call("GET", f"/apps/{_path(app)}/windows", params=params))

    def violations(self, app: str, run: str | None) -> list[Violation]:
        return _violations.validate_python(self._call("GET", f"/apps/{_path(app)}/violations", params=_given(run=run)))

    def incidents(self, app: str, run: str | None) -> list[Incident]:
        return _incidents.validate_python(self._call("GET", f"/apps/{_path(app)}/incidents", params=_given(run=run)))

    def site_events(
        self, site: str | None, app: str | None, kind: str | None, limit: int | None
    ) -> list[StoredSiteEvent]:
        params = _given(site=site, app=app, kind=kind, limit=limit)
        return _site_events.validate_python(self._call("GET", "/site-events", params=params))

    def close(self) -> None:
        self.client.close()


def _given(**params: Any) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _path(segment: str) -> str:
    # App names may hold '/' or spaces; they travel as one path segment.
    return quote(segment, safe="")


def open_observation_backend(settings: Settings, url: str | None, token: str | None = None) -> ObservationBackend:
    if url:
        return RemoteObservationBackend(url, token or settings.api.token)
    return EmbeddedObservationBackend(settings)
