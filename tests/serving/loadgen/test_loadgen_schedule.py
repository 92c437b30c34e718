"""Workload profiles and the schedule they produce: counts, rates, mix, algorithms, inheritance, errors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from rohe.core.errors import InvalidInput
from rohe.serving.loadgen import (
    Arrival,
    WorkloadProfile,
    arrival_times,
    build_schedule,
    load_workload_profile,
    parse_workload_profile,
)


def profile(**phase: object) -> WorkloadProfile:
    base: dict[str, object] = {"name": "p", "duration_s": 10, "rate": 20, "mix": {"a": 1}, "arrival": "constant"}
    return parse_workload_profile({"phases": [{**base, **phase}]})


def test_constant_arrivals_are_evenly_spaced() -> None:
    times = arrival_times(Arrival.CONSTANT, 20, 2.0, np.random.default_rng(0))
    assert len(times) == 40
    assert np.allclose(np.diff(times), 0.05)
    assert times[0] == 0 and times[-1] < 2.0


def test_poisson_arrivals_have_the_offered_rate_on_average() -> None:
    times = arrival_times(Arrival.POISSON, 200, 50.0, np.random.default_rng(1))
    assert 9_500 < len(times) < 10_500
    gaps = np.diff(times)
    assert gaps.std() == pytest.approx(gaps.mean(), rel=0.1)  # exponential: spread equals mean
    assert all(0 <= t < 50 for t in times)


def test_total_rate_is_split_by_mix_weight() -> None:
    schedule = build_schedule(profile(mix={"a": 3, "b": 1}, rate=40), 100)
    counts = Counter(r.consumer for r in schedule.requests)
    assert counts == {"a": 300, "b": 100}


def test_rate_per_consumer_gives_each_the_full_rate() -> None:
    schedule = build_schedule(profile(mix={"a": 3, "b": 1}, rate=5, rate_per="consumer"), 100)
    assert Counter(r.consumer for r in schedule.requests) == {"a": 50, "b": 50}


def test_algorithms_are_interleaved_per_consumer_and_times_sorted() -> None:
    schedule = build_schedule(profile(algorithms=["x", "y", None]), 100)
    mine = [r.algorithm for r in schedule.requests]
    assert mine[:6] == ["x", "y", None, "x", "y", None]
    times = [r.at_s for r in schedule.requests]
    assert times == sorted(times)
    assert [r.index for r in schedule.requests] == list(range(len(schedule)))


def test_later_phases_inherit_and_start_after_the_earlier_ones() -> None:
    document = {
        "seed": 3,
        "phases": [
            {"name": "steady", "duration_s": 2, "rate": 10, "mix": {"a": 1}, "algorithms": ["x"], "max_concurrency": 5},
            {"name": "burst", "duration_s": 1, "rate": 50},
        ],
    }
    resolved = parse_workload_profile(document).resolved()
    assert resolved[1].mix == {"a": 1.0}
    assert resolved[1].algorithms == ("x",)
    assert resolved[1].max_concurrency == 5
    schedule = build_schedule(parse_workload_profile(document), 10)
    burst = [r for r in schedule.requests if r.phase == "burst"]
    assert burst and all(2.0 <= r.at_s < 3.0 for r in burst)
    assert [(p.name, p.start_s, p.end_s) for p in schedule.phases] == [("steady", 0, 2), ("burst", 2, 3)]


def test_same_seed_same_schedule_and_samples_cycle_through_the_set() -> None:
    first = build_schedule(profile(arrival="poisson"), 7)
    second = build_schedule(profile(arrival="poisson"), 7)
    assert first.requests == second.requests
    assert sorted(r.sample for r in first.requests[:7]) == list(range(7))


def test_scaled_profile_keeps_rates() -> None:
    scaled = profile().scaled(0.5)
    assert len(build_schedule(scaled, 10)) == 100


def test_bad_profiles_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("phases:\n  - {name: a, duration_s: 0, rate: 5, mix: {x: 1}, arival: poisson}\n")
    with pytest.raises(InvalidInput) as error:
        load_workload_profile(path)
    locations = {p.location for p in error.value.problems}
    assert {"phases[0].duration_s", "phases[0].arival"} <= locations
    with pytest.raises(InvalidInput) as error:
        parse_workload_profile({"phases": [{"name": "a", "duration_s": 1, "rate": 5}]})
    assert error.value.problems[0].location == "phases[0].mix"
    with pytest.raises(InvalidInput):
        parse_workload_profile({"phases": [{"name": "a", "duration_s": 1, "rate": 5, "mix": {"x": 0}}]})
