"""Where CLI commands go: straight to the local store (embedded mode) or to a running API (`--url`).

Both backends take the same calls and return the same domain objects, so each command is written once.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from pydantic import TypeAdapter

from rohe.core.config import Settings
from rohe.core.domain import Replica, Service
from rohe.core.errors import Conflict, InvalidInput, NotFound, Problem, RoheError
from rohe.orchestration.inputs import read_nodes, read_services
from rohe.orchestration.usage import NodeUsage

if TYPE_CHECKING:
    # The platform and the planner pull in the store, the placement solvers (OR-Tools) and the observation
    # service: imported when a command runs, never when the CLI starts (see rohe.cli.lazy).
    from rohe.orchestration.service import Plan


class OrchestrationBackend(Protocol):
    def add_nodes(self, document: Any, source: str) -> list[str]: ...
    def add_services(self, document: Any, source: str, application: str | None) -> list[str]: ...
    def list_nodes(self) -> list[NodeUsage]: ...
    def get_node(self, name: str) -> NodeUsage: ...
    def remove_node(self, name: str) -> list[str]: ...
    def remove_all_nodes(self) -> list[str]: ...
    def drain_node(self, name: str) -> list[str]: ...
    def list_services(self, application: str | None) -> list[Service]: ...
    def get_service(self, name: str) -> Service: ...
    def remove_service(self, name: str) -> list[str]: ...
    def remove_application(self, application: str) -> list[str]: ...
    def replicas(self) -> list[Replica]: ...
    def plan(self, algorithm: str | None, replan: bool) -> Plan: ...
    def place(self, algorithm: str | None) -> dict[str, Any]: ...
    def start_agent(self) -> dict[str, Any]: ...
    def stop_agent(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


class EmbeddedBackend:
    """Works on the local store directly; the agent's loop itself runs inside `rohe start orchestration-service`."""

    def __init__(self, settings: Settings) -> None:
        from rohe.platform import Platform

        self.platform = Platform.open(settings)
        self.service = self.platform.orchestration

    def add_nodes(self, document: Any, source: str) -> list[str]:
        return [n.name for n in self.service.add_nodes(read_nodes(document, source))]

    def add_services(self, document: Any, source: str, application: str | None) -> list[str]:
        return [s.name for s in self.service.add_services(read_services(document, source, application))]

    def list_nodes(self) -> list[NodeUsage]:
        return self.service.list_nodes()

    def get_node(self, name: str) -> NodeUsage:
        return self.service.get_node(name)

    def remove_node(self, name: str) -> list[str]:
        return [r.key for r in self.service.remove_node(name)]

    def remove_all_nodes(self) -> list[str]:
        return [r.key for r in self.service.remove_all_nodes()]

    def drain_node(self, name: str) -> list[str]:
        return [r.key for r in self.service.drain_node(name)]

    def list_services(self, application: str | None) -> list[Service]:
        return self.service.list_services(application)

    def get_service(self, name: str) -> Service:
        return self.service.get_service(name)

    def remove_service(self, name: str) -> list[str]:
        return [r.key for r in self.service.remove_service(name)]

    def remove_application(self, application: str) -> list[str]:
        return [s.name for s in self.service.remove_application(application)]

    def replicas(self) -> list[Replica]:
        return self.service.replicas()

    def plan(self, algorithm: str | None, replan: bool) -> Plan:
        return self.service.plan(algorithm, replan)

    def place(self, algorithm: str | None) -> dict[str, Any]:
        result = self.service.place_queued(algorithm)
        return {
            "algorithm": result.algorithm,
            "placed": {f"{s}-{i}": a.node for (s, i), a in result.placed.items()},
            "queued": {f"{s}-{i}": reason for (s, i), reason in result.unplaced.items()},
        }

    def start_agent(self) -> dict[str, Any]:
        # Embedded: record the wish (the service resumes it at start) and drain the queue once now.
        self.platform.store.set_state("orchestration.agent", "running")
        summary = self.place(None)
        return {"running": "recorded", "placed_now": len(summary["placed"]), "queued": len(summary["queued"])}

    def stop_agent(self) -> dict[str, Any]:
        self.platform.store.set_state("orchestration.agent", "stopped")
        return {"running": False}

    def close(self) -> None:
        self.platform.close()


_nodes = TypeAdapter(list[NodeUsage])
_services = TypeAdapter(list[Service])
_replicas = TypeAdapter(list[Replica])


@functools.cache
def _plan() -> TypeAdapter[Plan]:
    from rohe.orchestration.service import Plan

    return TypeAdapter(Plan)


class HttpBackend:
    """The HTTP side every remote CLI backend shares: one client under the service's route prefix, and a
    clear error (never a traceback) when the service is down or answers 4xx/5xx."""

    prefix = ""
    start_command = "rohe start orchestration-service"

    def __init__(self, url: str, token: str | None = None, timeout: float = 60.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self.client = httpx.Client(base_url=self.url + self.prefix, headers=headers, timeout=timeout)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise RoheError(
                f"cannot reach the rohe service at {self.url}: {exc}",
                [Problem("--url", "no answer", f"start it with `{self.start_command}` or fix --url")],
            ) from None
        if response.is_success:
            return response.json()
        raise error_from_response(response)


class RemoteBackend(HttpBackend):
    """Talks to `rohe start orchestration-service` over HTTP."""

    prefix = "/orchestration"

    def add_nodes(self, document: Any, source: str) -> list[str]:
        added: list[str] = self._call("POST", "/nodes", json=document)["added"]
        return added

    def add_services(self, document: Any, source: str, application: str | None) -> list[str]:
        params = {"application": application} if application else {}
        added: list[str] = self._call("POST", "/services", json=document, params=params)["added"]
        return added

    def list_nodes(self) -> list[NodeUsage]:
        return _nodes.validate_python(self._call("GET", "/nodes"))

    def get_node(self, name: str) -> NodeUsage:
        return NodeUsage.model_validate(self._call("GET", f"/nodes/{name}"))

    def remove_node(self, name: str) -> list[str]:
        requeued: list[str] = self._call("DELETE", f"/nodes/{name}")["requeued"]
        return requeued

    def remove_all_nodes(self) -> list[str]:
        requeued: list[str] = self._call("DELETE", "/nodes")["requeued"]
        return requeued

    def drain_node(self, name: str) -> list[str]:
        requeued: list[str] = self._call("POST", f"/nodes/{name}/drain")["requeued"]
        return requeued

    def list_services(self, application: str | None) -> list[Service]:
        params = {"application": application} if application else {}
        return _services.validate_python(self._call("GET", "/services", params=params))

    def get_service(self, name: str) -> Service:
        return Service.model_validate(self._call("GET", f"/services/{name}"))

    def remove_service(self, name: str) -> list[str]:
        released: list[str] = self._call("DELETE", f"/services/{name}")["released"]
        return released

    def remove_application(self, application: str) -> list[str]:
        removed: list[str] = self._call("DELETE", f"/applications/{application}")["removed"]
        return removed

    def replicas(self) -> list[Replica]:
        return _replicas.validate_python(self._call("GET", "/replicas"))

    def plan(self, algorithm: str | None, replan: bool) -> Plan:
        params: dict[str, Any] = {"replan": replan}
        if algorithm:
            params["algorithm"] = algorithm
        return _plan().validate_python(self._call("POST", "/plan", params=params))

    def place(self, algorithm: str | None) -> dict[str, Any]:
        params = {"algorithm": algorithm} if algorithm else {}
        result: dict[str, Any] = self._call("POST", "/place", params=params)
        return result

    def start_agent(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/agent/start")
        return result

    def stop_agent(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/agent/stop")
        return result

    def close(self) -> None:
        self.client.close()


def error_from_response(response: httpx.Response) -> RoheError:
    """The RoheError a failed API answer stands for (shared by the orchestration and observation clients)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if isinstance(body, dict) and "problems" in body:
        problems = [Problem(p["location"], p["message"], p.get("hint", "")) for p in body["problems"]]
        kind = {404: NotFound, 409: Conflict}.get(response.status_code, InvalidInput)
        return kind(str(body.get("message", response.reason_phrase)), problems)
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):  # FastAPI's own validation errors
        problems = [Problem(".".join(str(x) for x in d.get("loc", [])), d.get("msg", "")) for d in detail]
        return InvalidInput(f"the service rejected the request ({response.status_code})", problems)
    return RoheError(f"the service answered {response.status_code}: {detail or response.text[:200]}")


def open_backend(settings: Settings, url: str | None, token: str | None = None) -> OrchestrationBackend:
    if url:
        return RemoteBackend(url, token or settings.api.token)
    return EmbeddedBackend(settings)
