"""The demo's observation summary: windows and explained violations of the run the gateway reported into."""

from __future__ import annotations

from pathlib import Path

from rohe.observation.embedded import ObservedRun
from rohe.observation.report import ObservationReport, build_report
from rohe.platform import Platform


def observation_report(platform: Platform, observed: ObservedRun, out: Path) -> ObservationReport:
    """Windows and violations of the run (after `finish`), as a table and `<out>/<app>-report.html`."""
    store = platform.observation.store
    windows = store.list_windows(observed.app, observed.run)
    violations = store.list_violations(observed.app, observed.run)
    return build_report(observed.app, windows, violations, out)
