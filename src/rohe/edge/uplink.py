"""A site's reports to the central observation service, and the site's own copy.

The gateway reports into a `TeeSink`: the site's probe (its local agent judges the contracts and stores
windows and violations in the site's store, whatever the link does) and the uplink probe, built from the
central registration of the app run (`GET /observation/apps/{app}?run=`: the broker, channel and transport
the central agent listens on). The registration is kept in the site cache, so a site started while the
central service is unreachable still knows where its reports go. The uplink probe buffers what it cannot
send, in memory and then on disk in the site's data dir, and resends once the broker takes it again; the
central agent counts each report id once, so buffered reports arrive once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from rohe.core.errors import Problem, RoheError
from rohe.core.redact import redact_url
from rohe.edge.cache import SiteCache
from rohe.observation.probes import Probe, probe_from_config
from rohe.observation.reports import Report, ReportSink

log = logging.getLogger(__name__)

REGISTRATION = "registration"  # site cache entry


class TeeSink:
    """Every report to every sink; one sink's failure never keeps a report from the others."""

    def __init__(self, sinks: Sequence[ReportSink]) -> None:
        self.sinks = tuple(sinks)

    def submit(self, report: Report) -> None:
        for sink in self.sinks:
            try:
                sink.submit(report)
            except Exception:
                log.exception("report sink %r failed; report kept by the others", sink)


def central_registration(
    central_url: str, app: str, run: str, cache: SiteCache, *, token: str | None = None, timeout_s: float = 2.0
) -> dict[str, Any]:
    """The app run's registration at the central service, else the cached one (RoheError when neither)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"{central_url.rstrip('/')}/observation/apps/{app}"
    try:
        response = httpx.get(url, params={"run": run}, headers=headers, timeout=timeout_s)
        response.raise_for_status()
        registration: dict[str, Any] = response.json()
        cache.save(REGISTRATION, registration)
        return registration
    except (httpx.HTTPError, ValueError) as exc:
        cached = cache.load(REGISTRATION)
        if isinstance(cached, dict) and cached.get("app") == app and cached.get("run") == run:
            log.warning("central registration unreachable (%s); using the cached one", type(exc).__name__)
            return cached
        raise RoheError(
            f"no registration of {app}/{run} at {redact_url(url)} and none cached",
            [Problem(str(cache.path(REGISTRATION)), f"missing; central: {type(exc).__name__}",
                     "register the app run at the central service (rohe observation register-app) and reach it once")],
        ) from None


UPLINK_FLUSH_S = 1.0
UPLINK_BATCH = 1000


def uplink_probe(registration: dict[str, Any], spill_dir: Path, **options: Any) -> Probe:
    """The probe to the central agent; its unsent reports spill to `spill_dir` (the site's data dir).

    It sends one batch a second (not the local probe's 50 ms): while the central agent is down its broker
    queues messages for it, and a broker bounds that queue in messages (Mosquitto: 1000 per session by
    default), so fewer, fuller messages let it hold a long outage (a quarter of an hour at one a second)."""
    options = {"flush_interval_s": UPLINK_FLUSH_S, "batch_size": UPLINK_BATCH, **options}
    return probe_from_config(registration, spill_dir=spill_dir, **options)
