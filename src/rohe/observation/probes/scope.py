"""Per-request timing scopes: where `stage` timings and request fields gather until a report is built.

The current scope lives in a context variable, so concurrent requests (asyncio tasks, or worker threads that
copy the context, as Starlette's thread pool does) never mix their timings.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

_current: ContextVar[RequestScope | None] = ContextVar("rohe_request_scope", default=None)


@dataclass(frozen=True)
class ReportOrigin:
    """Who reports: the app run the reports count for, and the service and node they come from."""

    app: str
    run: str = "default"
    service: str | None = None
    node: str | None = None


@dataclass
class RequestScope:
    """What one request has measured so far: stage times (ms, summed per name), report fields and labels."""

    started: float = field(default_factory=time.perf_counter)
    stages: dict[str, float] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)

    def add_stage(self, name: str, ms: float) -> None:
        self.stages[name] = self.stages.get(name, 0.0) + ms

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


def current_scope() -> RequestScope | None:
    """The scope of the request being served here, if one is open."""
    return _current.get()


@contextmanager
def request_scope(**fields: Any) -> Iterator[RequestScope]:
    """Open a scope for one request; `fields` pre-fill report fields such as request_id or consumer."""
    scope = RequestScope(fields={k: v for k, v in fields.items() if v is not None})
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def annotate(**fields: Any) -> None:
    """Set report fields (request_id, consumer, predicted_class, confidence, model_id, ...) on the open scope;
    a no-op outside a request, so instrumented code also runs uninstrumented."""
    scope = _current.get()
    if scope is not None:
        scope.fields.update({k: v for k, v in fields.items() if v is not None})


class StageTimer:
    """Times a block (`with` or `async with`); the milliseconds go to the open scope, or to `orphan` when the
    block runs outside any request (so a timing is never silently lost)."""

    def __init__(self, name: str, orphan: Callable[[str, float], None]) -> None:
        self.name = name
        self._orphan = orphan
        self._started = 0.0
        self.elapsed_ms = 0.0

    def __enter__(self) -> StageTimer:
        self._started = time.perf_counter()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.elapsed_ms = (time.perf_counter() - self._started) * 1000
        scope = _current.get()
        if scope is not None:
            scope.add_stage(self.name, self.elapsed_ms)
        else:
            self._orphan(self.name, self.elapsed_ms)

    async def __aenter__(self) -> StageTimer:
        return self.__enter__()

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        self.__exit__(kind, error, trace)
