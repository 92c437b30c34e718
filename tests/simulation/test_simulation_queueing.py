"""Queueing comes from the simulation: an M/M/1 instance matches theory, waiting grows with load, and
without queueing (infinite capacity) only the service time is left."""

from __future__ import annotations

import math

import numpy as np
import pytest
from simulation_cases import Exponential, catalog, queries, setup

from rohe.simulation import SimInstance, arrivals, simulate

SERVICE_MEAN_S = 0.1  # mu = 10/s
# A deadline no request reaches, so every request is answered and its full time in the system is seen;
# the profile's p99 stays far below it, so the scheduler always finds the model feasible.
NO_DEADLINE_MS = 1e7


def mean_time_in_system(rate: float, *, queueing: bool = True, concurrency: int = 1, seed: int = 0) -> float:
    times = arrivals("poisson", rate=rate, duration_s=20_000 / rate, seed=seed)
    spec = setup(
        [SimInstance("fast", "n1", "edge", concurrency)],
        cat=catalog(("fast",)),
        deadline_ms=NO_DEADLINE_MS,
        service_time=Exponential(SERVICE_MEAN_S),
        queueing=queueing,
        seed=seed,
    )
    records = simulate(spec, queries(times)).records
    assert all(r.answered for r in records)
    return float(np.mean([r.latency_s for r in records]))


@pytest.mark.parametrize("utilisation", [0.5, 0.7])
def test_mm1_mean_time_in_system_matches_theory(utilisation: float) -> None:
    mu = 1 / SERVICE_MEAN_S
    rate = utilisation * mu
    expected = 1 / (mu - rate)  # M/M/1: W = 1 / (mu - lambda)
    assert mean_time_in_system(rate) == pytest.approx(expected, rel=0.08)


def test_mm2_mean_time_in_system_matches_erlang_c() -> None:
    mu, servers, rate = 1 / SERVICE_MEAN_S, 2, 14.0
    a = rate / mu
    rho = a / servers
    top = a**servers / math.factorial(servers) / (1 - rho)
    waiting = top / (sum(a**k / math.factorial(k) for k in range(servers)) + top)  # Erlang C
    expected = waiting / (servers * mu - rate) + 1 / mu
    assert mean_time_in_system(rate, concurrency=servers) == pytest.approx(expected, rel=0.08)


def test_without_queueing_only_the_service_time_is_left() -> None:
    # At a load a single server could never carry, infinite capacity still shows the bare service time.
    assert mean_time_in_system(30.0, queueing=False) == pytest.approx(SERVICE_MEAN_S, rel=0.05)


def test_deadline_misses_grow_with_load() -> None:
    misses = []
    for rate in (2.0, 6.0, 9.0, 12.0):
        times = arrivals("poisson", rate=rate, duration_s=2000 / rate, seed=1)
        spec = setup(
            [SimInstance("fast", "n1", "edge")],
            cat=catalog(("fast",)),
            deadline_ms=300,
            service_time=Exponential(SERVICE_MEAN_S),
        )
        records = simulate(spec, queries(times)).records
        misses.append(sum(r.late for r in records) / len(records))
    assert misses == sorted(misses)
    assert misses[0] < 0.1 < 0.5 < misses[-1]  # from rare to the norm once arrivals outpace the server
