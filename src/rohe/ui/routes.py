"""The console's routes under /ui: server-rendered pages, their JSON, the live stream (SSE) and one control.

Pages render the same view dictionaries the `/ui/api/...` routes return, and `/ui/events?topic=...` pushes a
fresh one whenever it changes (checked every `interval` seconds in a worker thread, so the event loop never waits
on the store). Reads go through the services' Python APIs; the only write, a gateway policy, is forwarded to the
gateway's own policy route.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from rohe import __version__
from rohe.core.errors import NotFound, Problem
from rohe.orchestration.placement import available_algorithms
from rohe.platform import Platform
from rohe.ui import reports
from rohe.ui.cluster import NODES_PER_PAGE, cluster_live, cluster_view, node_page
from rohe.ui.live import SharedViews
from rohe.ui.quality import SeriesCache, applications, evidence, feed
from rohe.ui.serving import serving_view, set_policy

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TOPICS = ("cluster", "apps", "violations", "serving")
PAGES = (("cluster", "Cluster"), ("apps", "Applications"), ("violations", "Violations"), ("serving", "Serving"),
         ("reports", "Reports"))

router = APIRouter(prefix="/ui", include_in_schema=False)


class PolicyChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    algorithm: str | None = Field(default=None, description="scheduler for the consumer; null: gateway default")
    degrade: bool = False


def _platform(request: Request) -> Platform:
    value: Platform = request.app.state.platform
    return value


def _token(request: Request) -> str | None:
    token: str | None = request.app.state.settings.api.token
    return token


def _roots(request: Request) -> list[Path]:
    roots: list[Path] = request.app.state.console_reports
    return roots


def _shared(request: Request) -> SharedViews:
    views: SharedViews = request.app.state.console_views
    return views


def _view(request: Request, topic: str) -> Callable[[], dict[str, Any]]:
    """The full view of a topic (what its page renders), built at most once per interval for every caller."""
    p = _platform(request)
    token = _token(request)
    series: SeriesCache = request.app.state.console_series
    builders: dict[str, Callable[[], dict[str, Any]]] = {
        "cluster": lambda: cluster_view(p.orchestration),
        "apps": lambda: {"apps": applications(p.observation, series)},
        "violations": lambda: feed(p.observation),
        "serving": lambda: {"apps": serving_view(p.observation, token)},
    }
    if topic not in builders:
        raise NotFound(f"no live topic {topic!r}", [Problem("topic", "unknown", f"use one of {', '.join(TOPICS)}")])
    shared = _shared(request)
    return lambda: shared.get(topic, builders[topic])


def _snapshot(request: Request, topic: str) -> Callable[[], dict[str, Any]]:
    """What the stream pushes: the view, or for the cluster its live part (no per-core lists)."""
    view = _view(request, topic)
    return (lambda: cluster_live(view())) if topic == "cluster" else view


def _page(request: Request, name: str, **context: Any) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, f"{name}.html", {
        "pages": PAGES, "active": context.pop("active", name), "version": __version__,
        "secured": _token(request) is not None, **context})


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
@router.get("/cluster", response_class=HTMLResponse)
async def cluster_page(
    request: Request,
    page: int = Query(1, ge=1, description="page of the node table"),
    per_page: int = Query(NODES_PER_PAGE, ge=10, le=1000, description="nodes per page"),
    q: str = Query("", max_length=200, description="only nodes whose name contains this"),
) -> HTMLResponse:
    view = await run_in_threadpool(_view(request, "cluster"))
    nodes = node_page(view, page, per_page, q)
    return _page(request, "cluster", view=view, nodes=nodes, algorithms=available_algorithms(), active="cluster")


@router.get("/apps", response_class=HTMLResponse)
async def apps_page(request: Request) -> HTMLResponse:
    view = await run_in_threadpool(_view(request, "apps"))
    return _page(request, "apps", apps=view["apps"])


@router.get("/violations", response_class=HTMLResponse)
async def violations_page(request: Request) -> HTMLResponse:
    view = await run_in_threadpool(_view(request, "violations"))
    return _page(request, "violations", view=view)


@router.get("/violations/{violation_id}", response_class=HTMLResponse)
async def evidence_page(violation_id: str, request: Request) -> HTMLResponse:
    view = await run_in_threadpool(evidence, _platform(request).observation, violation_id)
    return _page(request, "evidence", view=view, active="violations")


@router.get("/serving", response_class=HTMLResponse)
async def serving_page(request: Request) -> HTMLResponse:
    view = await run_in_threadpool(_view(request, "serving"))
    return _page(request, "serving", apps=view["apps"])


@router.get("/reports", response_class=HTMLResponse)
async def reports_page(request: Request) -> HTMLResponse:
    folders = await run_in_threadpool(reports.list_folders, _roots(request))
    return _page(request, "reports", folders=folders, roots=[str(r) for r in _roots(request)])


@router.get("/reports/view", response_class=HTMLResponse)
async def report_page(request: Request, folder: str = Query(..., description="a folder id as listed")) -> HTMLResponse:
    view = await run_in_threadpool(reports.folder_view, _roots(request), folder)
    return _page(request, "report", view=view, active="reports")


@router.get("/reports/file")
def report_file(request: Request, folder: str, name: str) -> FileResponse:
    path = reports.file_path(_roots(request), folder, name)
    # Sandboxed: a report's HTML or SVG must not run script with the console's origin.
    return FileResponse(path, headers={"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"})


# -- JSON: what the pages show, for scripts and for the tests that compare it with the API's own JSON ------------
@router.get("/api/{topic}")
async def topic_json(topic: str, request: Request) -> dict[str, Any]:
    return await run_in_threadpool(_snapshot(request, topic))


@router.get("/api/violations/{violation_id}")
async def evidence_json(violation_id: str, request: Request) -> dict[str, Any]:
    return await run_in_threadpool(evidence, _platform(request).observation, violation_id)


@router.post("/api/serving/{app}/{run}/consumers/{consumer}/policy")
async def change_policy(
    app: str, run: str, consumer: str, body: PolicyChange, request: Request,
    p: Platform = Depends(_platform),
) -> dict[str, Any]:
    """Set a consumer's scheduler or clear its degrade at the app's registered gateway (needs the token)."""
    return await run_in_threadpool(set_policy, p.observation, _token(request), app, run, consumer,
                                   body.algorithm, body.degrade)


@router.get("/events")
async def events(
    request: Request,
    topic: str = Query("cluster", description=f"one of {', '.join(TOPICS)}"),
    interval: float = Query(1.0, ge=0.2, le=60.0, description="seconds between checks for a change"),
) -> StreamingResponse:
    """Server-sent events: the topic's view as `data:` JSON whenever it changed; a comment line as a keep-alive."""
    snapshot = _snapshot(request, topic)

    async def stream() -> AsyncIterator[str]:
        last = None
        yield "retry: 2000\n\n"
        while not await request.is_disconnected():
            body = json.dumps(await run_in_threadpool(snapshot), separators=(",", ":"), default=str)
            if body != last:
                last = body
                yield f"event: {topic}\ndata: {body}\n\n"
            else:
                yield ": keep-alive\n\n"
            await asyncio.sleep(_shared(request).pause(topic, interval))

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
