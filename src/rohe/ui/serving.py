"""The console's serving view: per-model and per-replica health, latency and load, and each gateway's policies.

Per-model figures come from the latest stored all-consumers window of each app run (what the gateway reported to
observation); policies come from the gateway itself, over HTTP, at the URL its app was registered with (set by the
operator, never taken from a console request). Calls carry the installation's API token: the gateway started by
`rohe start serving-service` is guarded by the same `api.token`.
"""

from __future__ import annotations

from typing import Any

import httpx

from rohe.core.errors import InvalidInput, NotFound, Problem, RoheError
from rohe.observation.metrics import ALL_CONSUMERS
from rohe.observation.service import ObservationService
from rohe.ui.quality import app_runs

TIMEOUT_S = 2.0


class GatewayUnavailable(RoheError):
    status_code = 502


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def gateway_url(observation: ObservationService, app: str, run: str) -> str:
    """The registered gateway URL of an app run; NotFound when the run was registered without one."""
    url = observation.get_app(app, run).url
    if not url:
        raise NotFound(f"app {app!r} run {run!r} was registered without a gateway URL",
                       [Problem("url", "no gateway URL", "register the app with --url <gateway URL>")])
    return url.rstrip("/")


def _gateway_state(url: str, token: str | None) -> dict[str, Any]:
    try:
        with httpx.Client(timeout=TIMEOUT_S, headers=_headers(token)) as client:
            consumers = client.get(f"{url}/consumers")
            algorithms = client.get(f"{url}/algorithms")
            stats = client.get(f"{url}/stats")
    except httpx.HTTPError as exc:
        return {"reachable": False, "error": f"{type(exc).__name__}: gateway did not answer"}
    if consumers.status_code != 200:
        return {"reachable": False, "error": f"gateway answered {consumers.status_code}"}
    return {
        "reachable": True,
        "consumers": consumers.json(),
        "algorithms": algorithms.json().get("algorithms", []) if algorithms.status_code == 200 else [],
        "stats": stats.json() if stats.status_code == 200 else None,
    }


def serving_view(observation: ObservationService, token: str | None, *, gateways: bool = True) -> list[dict[str, Any]]:
    """One entry per app run: model/replica rows from the latest window and, when registered, the gateway."""
    registered = {(r.app, r.run): r for r in observation.list_apps()}
    out = []
    for app, run in app_runs(observation):
        latest = observation.store.list_windows(app, run, ALL_CONSUMERS, limit=1)
        window = latest[-1] if latest else None
        models = []
        replicas = []
        if window is not None:
            for name, m in sorted(window.models.items()):
                late = m.late / m.requests if m.requests else 0.0
                models.append({
                    "model": name, "requests": m.requests, "late": m.late, "late_pct": round(100 * late, 1),
                    "p50_ms": round(m.latency.p50_ms, 1) if m.latency else None,
                    "p99_ms": round(m.latency.p99_ms, 1) if m.latency else None,
                    "accuracy": None if m.accuracy is None else round(m.accuracy, 3),
                    "rps": round(m.requests / window.seconds, 2) if window.seconds else None,
                    "health": "failing" if m.requests and late >= 0.5 else "degraded" if late >= 0.05 else "healthy",
                })
            for name, r in sorted(window.resources.items()):
                replicas.append({"replica": name, "cpu_mean": round(r.cpu_mean, 2), "cpu_max": round(r.cpu_max, 2),
                                 "memory_mean": round(r.memory_mean, 1), "samples": r.samples})
        registration = registered.get((app, run))
        entry: dict[str, Any] = {"app": app, "run": run, "window_end": window.end.isoformat() if window else None,
                                 "models": models, "replicas": replicas,
                                 "gateway": {"registered": bool(registration and registration.url)}}
        if gateways and registration is not None and registration.url:
            entry["gateway"].update(_gateway_state(registration.url.rstrip("/"), token))
        out.append(entry)
    return out


def set_policy(
    observation: ObservationService, token: str | None, app: str, run: str, consumer: str,
    algorithm: str | None, degrade: bool,
) -> dict[str, Any]:
    """Forward a policy change to the gateway's policy route; the gateway's own validation answers bad input."""
    url = gateway_url(observation, app, run)
    try:
        response = httpx.post(f"{url}/consumers/{consumer}/policy", json={"algorithm": algorithm, "degrade": degrade},
                              headers=_headers(token), timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise GatewayUnavailable(f"the gateway of {app}/{run} did not answer: {type(exc).__name__}") from exc
    if response.status_code >= 400:
        try:
            detail = response.json()
        except ValueError:
            detail = {"message": response.text[:200]}
        message = detail.get("message") or detail.get("detail") or "rejected"
        raise InvalidInput(f"the gateway refused the policy: {message}",
                           [Problem("policy", str(message), "pick an algorithm the gateway lists")])
    result: dict[str, Any] = response.json()
    return result
