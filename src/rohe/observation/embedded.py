"""Observing a serving run out of the box: register the app run, hand its services a probe, and, when
reports stay in this process (the `inproc` default), run its agent here too, judging the given contracts.

With a broker transport only the probe is created here; the agent runs wherever the user starts it
(`rohe observation start-observation-agent`), typically beside the observation service.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rohe.observation.probes import Probe, probe_from_config
from rohe.observation.service import ObservationService


@dataclass(frozen=True)
class ObservedRun:
    app: str
    run: str
    probe: Probe
    agent_here: bool  # whether this process runs the run's agent


@contextlib.contextmanager
def observed_run(
    observation: ObservationService,
    app: str,
    run: str,
    contracts: Sequence[Path] = (),
    *,
    window_s: float = 10.0,
    user: str = "rohe",
) -> Iterator[ObservedRun]:
    """Yield the probe to report into. On leaving, the probe is drained before the agent stops, so the last
    window is stored; `finish` does the same earlier, for a caller that wants to read the results first."""
    registration = observation.register_app(app, run, user=user)
    agent_here = registration.probe.transport.kind == "inproc"
    if agent_here:
        observation.start_agent(
            app,
            {
                "app": app,
                "run": run,
                "windows": [{"kind": "tumbling", "size_s": window_s}],
                "allowed_lateness_s": min(1.0, window_s / 2),
                "idle_close_s": 2 * window_s,
                "contracts": [str(path) for path in contracts],
            },
        )
    probe = probe_from_config(registration.model_dump(mode="json"), flush_interval_s=0.05)
    observed = ObservedRun(app, run, probe, agent_here)
    try:
        yield observed
    finally:
        finish(observation, observed)


def finish(observation: ObservationService, observed: ObservedRun) -> None:
    """Drain the probe, then stop the agent, which closes and stores its open windows. Safe to call twice."""
    observed.probe.close(10)
    if observed.agent_here and any(
        a == observed.app and r == observed.run and desired == "running"
        for a, r, desired, _ in observation.store.list_agents()
    ):
        observation.stop_agent(observed.app, observed.run)
