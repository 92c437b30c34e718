"""The same setup and seed give byte-identical records; another seed gives other draws."""

from __future__ import annotations

import pickle

from simulation_cases import catalog, queries, setup

from rohe.simulation import Failure, NodeCpu, SimInstance, arrivals, simulate

INSTANCES = [SimInstance("fast", "n1", "edge"), SimInstance("slow", "n2", "edge", 2), SimInstance("fast", "n3", "edge")]
FAILURES = [Failure("crash", 3.0, "fast@n1", 2.0), Failure("slowdown", 5.0, "n2", 3.0, factor=4.0)]


# n1 and n2 can hold more calls than they have free cores, so they go through processor sharing.
SHARED = {"n1": NodeCpu(1, background_cores=0.5), "n2": NodeCpu(1), "n3": NodeCpu(2)}


def run(seed: int, scheduler: str, cpu: dict[str, NodeCpu] | None = None) -> bytes:
    times = arrivals("poisson", rate=40, duration_s=12, seed=5)
    spec = setup(INSTANCES, scheduler, failures=FAILURES, seed=seed, ensemble=(1, 2), cpu=cpu, record_service=True)
    result = simulate(spec, queries(times))
    return pickle.dumps((result.records, result.service, result.events))


def test_same_seed_gives_byte_identical_records_for_every_kind_of_scheduler() -> None:
    for scheduler in ("adaptive", "random", "dream", "oracle", "all-models"):
        assert run(3, scheduler) == run(3, scheduler), scheduler


def test_same_seed_gives_byte_identical_records_with_shared_node_cpus() -> None:
    for scheduler in ("adaptive", "random", "all-models"):
        assert run(3, scheduler, SHARED) == run(3, scheduler, SHARED), scheduler
    assert run(3, "adaptive", SHARED) != run(3, "adaptive")  # the shared CPU does change the timeline


def test_another_seed_changes_the_draws() -> None:
    assert run(3, "random") != run(4, "random")


def test_arrival_processes_are_seeded() -> None:
    for kind in ("poisson", "burst", "diurnal"):
        first = arrivals(kind, rate=20, duration_s=30, seed=1)  # type: ignore[arg-type]
        assert first.tobytes() == arrivals(kind, rate=20, duration_s=30, seed=1).tobytes()  # type: ignore[arg-type]
        assert first.tobytes() != arrivals(kind, rate=20, duration_s=30, seed=2).tobytes()  # type: ignore[arg-type]


def test_catalog_order_of_queries_does_not_matter_for_records_order() -> None:
    """Records come back in the order the queries were given, whatever their arrival order."""
    cat = catalog()
    qs = queries([0.3, 0.1, 0.2])
    result = simulate(setup([SimInstance("fast", "n1", "edge")], cat=cat), qs)
    assert [r.query_id for r in result.records] == ["q0", "q1", "q2"]
