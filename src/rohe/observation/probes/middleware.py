"""ASGI middleware that times every HTTP request of a service and reports it, with whatever the handler annotated."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from rohe.core.errors import InvalidInput, Problem
from rohe.observation.probes.scope import ReportOrigin, request_scope
from rohe.observation.reports import Report, ReportKind, ReportSink, RequestStatus

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ProbeMiddleware:
    """Wraps an ASGI app: each HTTP request (except `exclude_paths`) runs inside a request scope and ends in one
    REQUEST report with the whole request time as `stage`, the handler's own stage timings, the fields it set
    with `annotate` (request_id, model_id, predicted_class, confidence, ...), and labels method, path and
    http_status. Status is error for any 4xx/5xx answer or an exception.

    `origin` (app, run, service, node) defaults to the probe's own, so a plain ReportSink needs it passed.
    """

    def __init__(self, app: ASGIApp, probe: ReportSink, stage: str = "inference", *,
                 origin: ReportOrigin | None = None, exclude_paths: tuple[str, ...] = ("/health",),
                 attributes: dict[str, str] | None = None) -> None:
        resolved = origin or getattr(probe, "origin", None)
        if not isinstance(resolved, ReportOrigin):
            raise InvalidInput("probe middleware needs an origin", [Problem(
                "origin", "the sink is not a Probe, so the app and run to report for are unknown",
                "pass origin=ReportOrigin(app, run, service, node)")])
        self.app, self._probe, self._stage, self._origin = app, probe, stage, resolved
        self._exclude = frozenset(exclude_paths)
        self._attributes = dict(attributes or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self._exclude:
            await self.app(scope, receive, send)
            return
        http_status = 500  # what the client sees when the app raises before answering

        async def watch(message: Message) -> None:
            nonlocal http_status
            if message["type"] == "http.response.start":
                http_status = int(message["status"])
            await send(message)

        with request_scope() as request:
            started = time.perf_counter()
            try:
                await self.app(scope, receive, watch)
            finally:
                elapsed = (time.perf_counter() - started) * 1000
                fields = request.fields
                failed = http_status >= 400
                self._probe.submit(Report(
                    app=self._origin.app, run=self._origin.run, kind=ReportKind.REQUEST,
                    service=self._origin.service, node=self._origin.node, consumer=_text(fields.get("consumer")),
                    request_id=_text(fields.get("request_id")), model_id=_text(fields.get("model_id")),
                    status=RequestStatus.ERROR if failed else RequestStatus(fields.get("status", RequestStatus.OK)),
                    predicted_class=None if failed else _text(fields.get("predicted_class")),
                    confidence=None if failed else fields.get("confidence"),
                    stage_latency_ms={**request.stages, self._stage: elapsed},
                    attributes={**self._attributes, **request.attributes, "method": str(scope.get("method", "")),
                                "path": str(scope.get("path", "")), "http_status": str(http_status)}))


def _text(value: object | None) -> str | None:
    return None if value is None else str(value)
