"""A scheduler plug-in loaded by dotted path (`gateway_plugins:RecordingDream`) in the gateway tests."""

from __future__ import annotations

from rohe.serving.scheduling import Dream, ExecutionPlan, RequestContext

SEEN_WAITING_MS: list[float] = []


class RecordingDream:
    """Plans like dream and remembers the oldest-waiting age the gateway handed it."""

    name = "recording-dream"

    def plan(self, request: RequestContext) -> ExecutionPlan:
        SEEN_WAITING_MS.append(request.oldest_waiting_ms)
        return Dream().plan(request)
