"""The demo's observation: the gateway reports through a probe to an in-process agent that windows the
reports, judges both consumers' contracts and stores explained violations; the demo ends with the summary."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rohe.observation.probes import Probe
from rohe.observation.report import ObservationReport, build_report
from rohe.observation.transports import make_transport
from rohe.platform import Platform

RUN = "demo"


@dataclass(frozen=True)
class DemoObservation:
    app: str
    run: str
    probe: Probe


@contextlib.contextmanager
def observe(
    platform: Platform, app: str, contracts: Sequence[Path], *, window_s: float
) -> Iterator[DemoObservation]:
    """Register the app run, start its agent and yield the probe the gateway reports into.

    On leaving, the probe is drained first and the agent stopped after it, so the last window is stored.
    """
    service = platform.observation
    service.register_app(app, RUN, user="demo", transport="inproc")
    service.start_agent(
        app,
        {
            "app": app,
            "run": RUN,
            "transport": {"kind": "inproc"},
            "windows": [{"kind": "tumbling", "size_s": window_s}],
            "allowed_lateness_s": 1.0,
            "idle_close_s": 2.0,
            "contracts": [str(path) for path in contracts],
        },
    )
    probe = Probe(app, RUN, transport=make_transport("inproc", app, RUN), flush_interval_s=0.05)
    observation = DemoObservation(app, RUN, probe)
    try:
        yield observation
    finally:
        finish(platform, observation)


def finish(platform: Platform, observation: DemoObservation) -> None:
    """Drain the probe, then stop the agent, which closes and stores its open windows. Safe to call twice."""
    observation.probe.close(10)
    if any(a == observation.app and r == observation.run and d == "running"
           for a, r, d, _ in platform.observation.store.list_agents()):
        platform.observation.stop_agent(observation.app, observation.run)


def observation_report(platform: Platform, observation: DemoObservation, out: Path) -> ObservationReport:
    """Windows and violations of the demo's run (after `finish`), as a table and `<out>/<app>-report.html`."""
    store = platform.observation.store
    windows = store.list_windows(observation.app, observation.run)
    violations = store.list_violations(observation.app, observation.run)
    return build_report(observation.app, windows, violations, out)
