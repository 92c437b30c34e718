"""What a violation triggers: an alert (structured log event, optional webhook) or a change of the consumer's
serving policy at the gateway (degrade: a cheaper/faster choice; reroute: another scheduling algorithm).

Dispatch never blocks the observation agent and never raises into it: violations go onto a bounded queue that
one worker thread drains with short HTTP timeouts; failures are logged and kept in `outcomes`. A cooldown per
(consumer, clause, action) keeps a clause that stays broken for minutes from hammering the gateway every window.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from rohe.core.redact import redact_text, redact_url
from rohe.observation.violations import Action, Violation

logger = logging.getLogger("rohe.observation.violations")

# Metrics whose violation calls for a faster choice rather than a more accurate one when rerouting.
_SPEED_METRICS = ("end_to_end.", "throughput_rps", "availability_percent", "error_rate", "partial_rate")


@dataclass(frozen=True)
class ActionOutcome:
    violation_id: str
    action: Action
    target: str  # "log", a webhook URL or a gateway policy URL
    status: str  # sent | failed | suppressed | skipped
    detail: str = ""


class ActionDispatcher:
    def __init__(
        self,
        *,
        webhook_url: str | None = None,
        gateway_url: str | None = None,
        token: str | None = None,
        timeout_s: float = 2.0,
        cooldown_s: float = 30.0,
        reroute_for_quality: str = "all-models",
        reroute_for_speed: str = "single-best",
        max_pending: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.webhook_url = webhook_url
        self.gateway_url = gateway_url.rstrip("/") if gateway_url else None
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = timeout_s
        self._cooldown = cooldown_s
        self._reroute = (reroute_for_quality, reroute_for_speed)
        self._clock = clock
        self._pending: queue.Queue[Violation | None] = queue.Queue(maxsize=max_pending)
        self._last_sent: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self.outcomes: deque[ActionOutcome] = deque(maxlen=1000)
        self.dropped = 0

    # -- the agent's side: never blocks ---------------------------------------------------------------
    def dispatch(self, violation: Violation) -> None:
        self._ensure_worker()
        try:
            self._pending.put_nowait(violation)
        except queue.Full:
            self.dropped += 1
            logger.error("action queue full; dropped the action of violation %s", violation.violation_id)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued violation was handled; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._pending.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            self._pending.put(None)
            worker.join(timeout)

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="rohe-actions", daemon=True)
                self._worker.start()

    # -- the worker -----------------------------------------------------------------------------------
    def _run(self) -> None:
        with httpx.Client(timeout=self._timeout) as client:
            while True:
                violation = self._pending.get()
                try:
                    if violation is None:
                        return
                    self.handle(violation, client)
                except Exception:  # a bug in one action must not stop the others
                    logger.exception("action for violation failed unexpectedly")
                finally:
                    self._pending.task_done()

    def handle(self, violation: Violation, client: httpx.Client) -> list[ActionOutcome]:
        """Log the violation, then carry out its action unless the same one ran within the cooldown."""
        vid = str(violation.violation_id)
        logger.warning("contract violation %s", json.dumps(_event(violation), sort_keys=True))
        results = [ActionOutcome(vid, violation.action, "log", "sent")]
        key = (violation.app, violation.run, violation.consumer, violation.clause, violation.action.value)
        now = self._clock()
        last = self._last_sent.get(key)
        if last is not None and now - last < self._cooldown:
            results.append(ActionOutcome(vid, violation.action, "-", "suppressed",
                                         f"same action ran {now - last:.1f} s ago (cooldown {self._cooldown:g} s)"))
        else:
            self._last_sent[key] = now
            results.append(self._act(violation, client))
        self.outcomes.extend(results)
        return results

    def _act(self, violation: Violation, client: httpx.Client) -> ActionOutcome:
        vid = str(violation.violation_id)
        if violation.action is Action.ALERT:
            if self.webhook_url is None:
                return ActionOutcome(vid, Action.ALERT, "-", "skipped", "no webhook_url configured")
            return self._post(client, violation, self.webhook_url, violation.model_dump(mode="json"), {})
        if self.gateway_url is None:
            logger.warning("cannot %s consumer %s: no gateway_url configured", violation.action.value,
                           violation.consumer)
            return ActionOutcome(vid, violation.action, "-", "skipped", "no gateway_url configured")
        url = f"{self.gateway_url}/consumers/{violation.consumer}/policy"
        # The gateway's API token goes to the gateway only, never to a third-party webhook.
        return self._post(client, violation, url, self.policy_for(violation), self._headers)

    def policy_for(self, violation: Violation) -> dict[str, object]:
        if violation.action is Action.DEGRADE:
            return {"algorithm": None, "degrade": True}
        quality, speed = self._reroute
        algorithm = speed if violation.metric.startswith(_SPEED_METRICS) else quality
        return {"algorithm": algorithm, "degrade": False}

    def _post(self, client: httpx.Client, violation: Violation, url: str, body: dict[str, object],
              headers: dict[str, str]) -> ActionOutcome:
        vid = str(violation.violation_id)
        shown = redact_url(url)  # outcomes are stored and logged: never with the URL's credentials
        try:
            response = client.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            logger.warning("%s for violation %s: POST %s failed: %s", violation.action.value, vid, shown,
                           redact_text(str(exc)))
            return ActionOutcome(vid, violation.action, shown, "failed",
                                 f"{type(exc).__name__}: {redact_text(str(exc))}")
        if response.is_error:
            logger.warning("%s for violation %s: POST %s answered %s", violation.action.value, vid, shown,
                           response.status_code)
            return ActionOutcome(vid, violation.action, shown, "failed", f"HTTP {response.status_code}: "
                                 f"{response.text[:200]}")
        return ActionOutcome(vid, violation.action, shown, "sent", f"HTTP {response.status_code}")


def _event(violation: Violation) -> dict[str, object]:
    return {
        "event": "contract_violation",
        "violation_id": str(violation.violation_id),
        "app": violation.app,
        "run": violation.run,
        "consumer": violation.consumer,
        "clause": violation.clause,
        "observed": violation.observed,
        "threshold": violation.threshold,
        "action": violation.action.value,
        "window_end": violation.window_end.isoformat(),
        "top_cause": violation.causes[0].name if violation.causes else None,
    }
