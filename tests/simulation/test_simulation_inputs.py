"""Arrival processes, profile-based behaviour and placement of instances by rohe's placement algorithms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from simulation_cases import CLASSES, catalog

from rohe.core.contracts import ConsumerContract
from rohe.core.errors import InvalidInput
from rohe.core.profiles import (
    ModelProfile,
    ProfileCatalog,
    dumps_catalog,
    load_iot_journal,
    load_ucc2024,
    loads_catalog,
)
from rohe.simulation import (
    ClusterSpec,
    ProfileConfusion,
    ProfileServiceTime,
    SimInstance,
    SimQuery,
    SimulationSetup,
    arrivals,
    lognormal_from_percentiles,
    place_instances,
    simulate,
    trace_arrivals,
)
from shared_inputs import IOT_JOURNAL, UCC2024, require, rohe_catalog


def test_poisson_and_steady_rates() -> None:
    poisson = arrivals("poisson", rate=50, duration_s=200, seed=1)
    assert len(poisson) == pytest.approx(10_000, rel=0.05)
    assert np.all(np.diff(poisson) >= 0) and poisson[-1] < 200
    gaps = np.diff(poisson)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, abs=0.05)  # exponential: coefficient of variation 1
    steady = arrivals("steady", rate=4, duration_s=2, seed=1)
    assert steady.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]


def test_burst_triples_the_rate_in_its_window() -> None:
    times = arrivals("burst", rate=20, duration_s=600, seed=2, start_s=200, length_s=100)
    inside = np.count_nonzero((times >= 200) & (times < 300)) / 100
    outside = np.count_nonzero((times < 200) | (times >= 300)) / 500
    assert inside == pytest.approx(60, rel=0.1) and outside == pytest.approx(20, rel=0.1)


def test_diurnal_rate_follows_the_sine() -> None:
    times = arrivals("diurnal", rate=20, duration_s=1000, seed=3, amplitude=0.8, period_s=1000)
    peak = np.count_nonzero((times >= 200) & (times < 300)) / 100  # around sin = 1
    trough = np.count_nonzero((times >= 700) & (times < 800)) / 100  # around sin = -1
    assert peak > 30 and trough < 10


def test_trace_replay_sorts_and_starts_at_zero() -> None:
    assert trace_arrivals([105.5, 100.0, 101.25]).tolist() == [0.0, 1.25, 5.5]
    with pytest.raises(InvalidInput) as caught:
        trace_arrivals([1.0, math.inf])
    assert caught.value.problems[0].location == "times_s[1]"


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("poisson", {"rate": 0.0}, "rate"),
        ("poisson", {"duration_s": -1.0}, "duration_s"),
        ("steady", {"factor": 2.0}, "factor"),
        ("burst", {"factor": -1.0}, "factor"),
        ("diurnal", {"amplitude": 2.0}, "amplitude"),
        ("hourly", {}, "kind"),
    ],
)
def test_bad_arrival_parameters_name_the_field(kind: str, params: dict[str, float], field: str) -> None:
    arguments: dict[str, float] = {"rate": 10.0, "duration_s": 10.0, **params}
    with pytest.raises(InvalidInput) as caught:
        arrivals(kind, seed=0, **arguments)  # type: ignore[arg-type]
    assert field in [p.location for p in caught.value.problems]


def test_service_times_reproduce_the_profiled_percentiles() -> None:
    cat = catalog(("a",), p50_ms=20, p99_ms=80)
    draws = ProfileServiceTime(cat).sample_many("a", "edge", 200_000, np.random.default_rng(0))
    assert np.percentile(draws, 50) == pytest.approx(0.020, rel=0.02)
    assert np.percentile(draws, 99) == pytest.approx(0.080, rel=0.04)
    mu, sigma = lognormal_from_percentiles(0.02, 0.08, 2.3263478740408408)
    assert math.exp(mu) == pytest.approx(0.02) and sigma > 0


def test_a_single_percentile_gives_a_constant_and_none_is_an_error() -> None:
    cat = ProfileCatalog.of(
        [
            ModelProfile(model="p50", node_type="edge", latency_p50_ms=15, accuracy=0.5),
            ModelProfile(model="none", node_type="edge", accuracy=0.5),
        ]
    )
    times = ProfileServiceTime(cat)
    assert times.sample("p50", "edge", np.random.default_rng(0)) == pytest.approx(0.015)
    with pytest.raises(InvalidInput) as caught:
        times.sample("none", "edge", np.random.default_rng(0))
    assert "latency_p50_ms" in caught.value.problems[0].location


def test_confusion_matches_per_class_accuracy() -> None:
    cat = catalog(("a",))
    confusion = ProfileConfusion(cat)
    rng = np.random.default_rng(1)
    for position, true_class in enumerate(CLASSES):
        hits = sum(int(np.argmax(confusion.predict("a", true_class, rng))) == true_class for _ in range(4000))
        assert hits / 4000 == pytest.approx(cat.class_accuracy[0, 0, position], abs=0.03)


def loaded_catalogs() -> dict[str, ProfileCatalog]:
    ucc = load_ucc2024(require(UCC2024 / "profiles_011023_0"))
    iot = load_iot_journal(
        [require(IOT_JOURNAL / "MINI_ROCKET_v1.yaml"), require(IOT_JOURNAL / "X3D_L_v1.yaml")],
        require(IOT_JOURNAL / "performance_data_sample.yaml"),
    )
    return {
        "ucc2024": ucc,
        "iot-journal": iot,
        "rohe-features": rohe_catalog(),
        "rohe-csv": loads_catalog(dumps_catalog(ucc)),
    }


def test_profiles_of_every_loader_drive_a_simulation() -> None:
    for source, cat in loaded_catalogs().items():
        instances = [
            SimInstance(m, f"node-{i}-{j}", n, 2)
            for i, m in enumerate(cat.models)
            for j, n in enumerate(cat.node_types)
            if cat.available[i, j]
        ]
        contract = ConsumerContract.model_validate(
            {
                "consumer": source,
                "ensemble": {"min": 1, "max": 2},
                "required_throughput": 1,
                "objectives": [{"metric": "accuracy", "direction": "max", "min": 0, "max": 1}],
            }
        )
        service_time = ProfileServiceTime(cat)
        spec = SimulationSetup(instances, contract, cat, "single-best", service_time, ProfileConfusion(cat))
        times = arrivals("poisson", rate=2, duration_s=50, seed=0)
        qs = [SimQuery(f"q{i}", float(t), cat.class_ids[i % len(cat.class_ids)]) for i, t in enumerate(times)]
        records = simulate(spec, qs).records
        assert len(records) == len(qs), source
        if source == "rohe-features":
            # The feature tables give throughput but no latency: work takes 1 / throughput, and the live
            # scheduler (rightly) finds no model deadline-feasible without a latency, so nothing is planned.
            first = cat.profiles[0]
            assert first.throughput_rps is not None
            drawn = service_time.sample(first.model, first.node_type, np.random.default_rng(0))
            assert drawn == pytest.approx(1 / first.throughput_rps)
            assert not any(r.answered for r in records)
        else:
            assert any(r.answered for r in records), source


def test_instances_come_from_the_real_placement_algorithms() -> None:
    nodes = ClusterSpec(("rpi4", "nuc"), nodes=4, cores=2).build()
    services = ClusterSpec.services(["Model_A", "Model_B", "Model_C"], replicas=2, cpu=1000)
    placed = place_instances(nodes, services, "most-allocated", concurrency={"Model_A": 3})
    assert len(placed) == 6
    assert {x.model for x in placed} == {"Model_A", "Model_B", "Model_C"}
    assert {x.node_type for x in placed} <= {"rpi4", "nuc"}
    assert all(x.concurrency == (3 if x.model == "Model_A" else 1) for x in placed)
    assert len({x.node for x in placed}) == 3  # most-allocated packs 2 cores per node: 3 of the 4 nodes
    with pytest.raises(InvalidInput) as caught:
        place_instances(nodes, ClusterSpec.services(["big"], cpu=4000), "least-allocated")
    assert caught.value.problems[0].location == "services.model-000[0]"
