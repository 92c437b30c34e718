"""Incident narratives from an OpenAI-compatible chat endpoint, requested off the hot path.

`Diagnoser.diagnose` returns the deterministic incident at once; when an endpoint is configured it also queues
a request on one background thread (bounded queue, HTTP timeout). When the answer arrives the stored incident
is replaced by a copy with the model's narrative; on any failure the deterministic narrative simply stays.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from uuid import UUID

import httpx
from pydantic import BaseModel, ConfigDict, Field

from rohe.core.redact import redact_text, redact_url
from rohe.observation.metrics import WindowMetrics
from rohe.observation.violations import Violation
from rohe.quality.anomaly import Anomaly
from rohe.quality.diagnosis import Incident, build_incident
from rohe.quality.rules import RuleAlert

logger = logging.getLogger(__name__)

_SYSTEM = (
    "You are a site-reliability assistant for an ML inference platform. Given an incident as JSON (symptoms, "
    "suspected causes ranked by blame, evidence), write 3 to 5 plain sentences for an operator: what broke, the "
    "most likely cause and why, and the next step. Use only the facts given; do not invent causes or numbers."
)


class LLMConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = Field(min_length=1, description="e.g. http://127.0.0.1:8000/v1 (POST {base_url}/chat/completions)")
    model: str = Field(min_length=1)
    api_key_env: str = Field(default="OPENAI_API_KEY", description="environment variable holding the key")
    timeout_s: float = Field(default=20.0, gt=0)
    max_tokens: int = Field(default=400, gt=0)


def request_narrative(config: LLMConfig, incident: Incident, client: httpx.Client | None = None) -> str:
    """One chat completion; raises httpx.HTTPError or ValueError when the endpoint fails or answers oddly."""
    key = os.environ.get(config.api_key_env)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    facts = incident.model_dump(mode="json", exclude={"narrative", "narrative_source"})
    body = {
        "model": config.model,
        "max_tokens": config.max_tokens,
        "temperature": 0,
        "messages": [{"role": "system", "content": _SYSTEM},
                     {"role": "user", "content": json.dumps(facts, sort_keys=True)}],
    }
    url = config.base_url.rstrip("/") + "/chat/completions"
    owned = client is None
    http = client or httpx.Client(timeout=config.timeout_s)
    try:
        response = http.post(url, json=body, headers=headers)
        response.raise_for_status()
        content = response.json()["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"unexpected chat completion from {redact_url(url)}: {exc}") from None
    finally:
        if owned:
            http.close()
    if not isinstance(content, str) or not content.strip():
        raise ValueError(f"empty chat completion from {redact_url(url)}")
    return content.strip()


class Diagnoser:
    """Builds incidents and, with an LLM configured, narrates them in the background. Never blocks the caller."""

    def __init__(self, llm: LLMConfig | None = None, *, max_pending: int = 16, keep: int = 500,
                 on_update: Callable[[Incident], None] | None = None) -> None:
        self.llm = llm
        self.on_update = on_update
        self._max_pending = max_pending
        self._keep = keep
        self._incidents: OrderedDict[UUID, Incident] = OrderedDict()
        self._futures: dict[UUID, Future[Incident]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rohe-narrator") if llm else None
        self.failures = 0

    def diagnose(self, violations: Sequence[Violation], anomalies: Sequence[Anomaly] = (),
                 windows: Sequence[WindowMetrics] = (), alerts: Sequence[RuleAlert] = ()) -> Incident | None:
        incident = build_incident(violations, anomalies, windows, alerts)
        if incident is None:
            return None
        with self._lock:
            self._incidents[incident.incident_id] = incident
            while len(self._incidents) > self._keep:
                self._incidents.popitem(last=False)
            pending = sum(1 for f in self._futures.values() if not f.done())
            if self._pool is not None and pending < self._max_pending:
                self._futures[incident.incident_id] = self._pool.submit(self._narrate, incident)
            elif self._pool is not None:
                logger.warning("narrative queue full; incident %s keeps its deterministic narrative",
                               incident.incident_id)
        return incident

    def _narrate(self, incident: Incident) -> Incident:
        assert self.llm is not None
        try:
            text = request_narrative(self.llm, incident)
        except (httpx.HTTPError, ValueError) as exc:
            self.failures += 1
            logger.warning("LLM narrative for incident %s failed: %s", incident.incident_id, redact_text(str(exc)))
            return incident
        narrated = incident.model_copy(update={"narrative": text, "narrative_source": "llm"})
        with self._lock:
            if incident.incident_id in self._incidents:
                self._incidents[incident.incident_id] = narrated
        if self.on_update is not None:
            self.on_update(narrated)
        return narrated

    def incident(self, incident_id: UUID) -> Incident | None:
        with self._lock:
            return self._incidents.get(incident_id)

    def incidents(self) -> list[Incident]:
        with self._lock:
            return list(self._incidents.values())

    def wait(self, incident_id: UUID, timeout: float) -> Incident | None:
        """The incident once its narrative request finished (or timed out); for tests and shutdown."""
        future = self._futures.get(incident_id)
        if future is not None:
            with contextlib.suppress(TimeoutError):
                future.result(timeout)
        return self.incident(incident_id)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
