"""Every request of a run, decided before the first one is sent: when, for whom, with which algorithm
and which labelled sample. Fixing the schedule up front is what makes the load open-loop: a slow answer
cannot postpone the next request."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rohe.serving.loadgen.profile import Arrival, Phase, WorkloadProfile


@dataclass(frozen=True)
class PlannedRequest:
    index: int
    phase: str
    consumer: str
    algorithm: str | None  # None: the gateway's (or the consumer policy's) default
    at_s: float  # intended send time, seconds after the run starts
    sample: int  # row of the labelled set


@dataclass(frozen=True)
class PhaseWindow:
    name: str
    start_s: float
    end_s: float
    rate: float


@dataclass(frozen=True)
class Schedule:
    requests: tuple[PlannedRequest, ...]
    phases: tuple[PhaseWindow, ...]
    max_concurrency: dict[str, int]  # per phase

    @property
    def duration_s(self) -> float:
        return self.phases[-1].end_s if self.phases else 0.0

    def __len__(self) -> int:
        return len(self.requests)


def arrival_times(arrival: Arrival, rate: float, duration_s: float, rng: np.random.Generator) -> list[float]:
    """Offsets in [0, duration_s) of one stream at `rate` requests per second."""
    if arrival is Arrival.CONSTANT:
        count = int(np.ceil(rate * duration_s - 1e-9))
        return [i / rate for i in range(count) if i / rate < duration_s]
    times: list[float] = []
    now = float(rng.exponential(1 / rate))
    while now < duration_s:
        times.append(now)
        now += float(rng.exponential(1 / rate))
    return times


def _phase_requests(phase: Phase, start_s: float, rng: np.random.Generator) -> list[tuple[float, str, str | None]]:
    entries: list[tuple[float, str, str | None]] = []
    for consumer, rate in phase.consumer_rates().items():
        times = arrival_times(phase.arrival, rate, phase.duration_s, rng)
        # Interleaved, not blocked: every algorithm sees the same moments of the phase (bursts, failures).
        entries.extend(
            (start_s + t, consumer, phase.algorithms[i % len(phase.algorithms)]) for i, t in enumerate(times)
        )
    return entries


def build_schedule(profile: WorkloadProfile, samples: int) -> Schedule:
    """The whole run; `samples` is the size of the labelled set, cycled in a seeded random order."""
    if samples < 1:
        raise ValueError("the labelled set is empty")
    rng = np.random.default_rng(profile.seed)
    entries: list[tuple[float, str, str | None, str]] = []
    windows: list[PhaseWindow] = []
    start = 0.0
    for phase in profile.resolved():
        entries.extend(
            (at, consumer, algorithm, phase.name) for at, consumer, algorithm in _phase_requests(phase, start, rng)
        )
        windows.append(PhaseWindow(phase.name, start, start + phase.duration_s, phase.rate))
        start += phase.duration_s
    entries.sort(key=lambda entry: entry[0])
    order = rng.permutation(samples)
    requests = tuple(
        PlannedRequest(i, phase, consumer, algorithm, at, int(order[i % samples]))
        for i, (at, consumer, algorithm, phase) in enumerate(entries)
    )
    caps = {phase.name: phase.max_concurrency for phase in profile.resolved()}
    return Schedule(requests, tuple(windows), caps)
