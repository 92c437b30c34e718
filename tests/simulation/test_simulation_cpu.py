"""Instances on one node share its cores (processor sharing): hand-computed timelines, a crash freeing the
CPU, M/G/1-PS theory, bad CPU setups, and that a node which never has more calls than cores changes nothing."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from simulation_cases import Constant, Exponential, catalog, queries, setup

from rohe.core.errors import InvalidInput
from rohe.simulation import ClusterSpec, Failure, NodeCpu, SimInstance, arrivals, node_cpus, simulate

NO_DEADLINE_MS = 1e7  # every call is waited for, so latencies show the whole CPU timeline


def latencies(
    instances: list[SimInstance], times: list[float], cpu: dict[str, NodeCpu] | None, **kwargs: object
) -> list[float]:
    spec = setup(
        instances,
        cat=catalog(tuple(dict.fromkeys(x.model for x in instances)), p50_ms=1, p99_ms=2),
        deadline_ms=NO_DEADLINE_MS,
        service_time=Constant(1.0),
        cpu=cpu,
        **kwargs,  # type: ignore[arg-type]
    )
    return [r.latency_s for r in simulate(spec, queries(times)).records]


def test_two_calls_on_one_core_share_it() -> None:
    # q0 runs alone for 0.5 s (0.5 done), both share the core until q0 is done at 1.5 (q1 has 0.5 left)
    # and q1 finishes alone at 2.0.
    one = [SimInstance("fast", "n1", "edge", concurrency=2)]
    assert latencies(one, [0.0, 0.5], {"n1": NodeCpu(1)}) == pytest.approx([1.5, 1.5])
    assert latencies(one, [0.0, 0.0], {"n1": NodeCpu(1)}) == pytest.approx([2.0, 2.0])
    # Two cores: no waiting; the independent-server model is the same here.
    assert latencies(one, [0.0, 0.5], {"n1": NodeCpu(2)}) == pytest.approx([1.0, 1.0])
    assert latencies(one, [0.0, 0.5], None) == pytest.approx([1.0, 1.0])


def test_background_load_takes_cores_and_a_call_never_uses_more_than_one() -> None:
    one = [SimInstance("fast", "n1", "edge", concurrency=3)]
    # 2 cores, 1.5 of them busy with other processes: one call gets the free half core.
    assert latencies(one, [0.0], {"n1": NodeCpu(2, background_cores=1.5)}) == pytest.approx([2.0])
    # 8 free cores do not make a single call faster than one core.
    assert latencies(one, [0.0], {"n1": NodeCpu(8)}) == pytest.approx([1.0])
    # Three calls on 2 cores run at 2/3 speed: 1.5 s each.
    assert latencies(one, [0.0, 0.0, 0.0], {"n1": NodeCpu(2)}) == pytest.approx([1.5, 1.5, 1.5])


def test_instances_of_different_models_on_one_node_share_it_too() -> None:
    both = [SimInstance("fast", "n1", "edge"), SimInstance("slow", "n1", "edge")]
    kwargs = {"scheduler": "all-models", "ensemble": (2, 2)}
    assert latencies(both, [0.0], {"n1": NodeCpu(1)}, **kwargs) == pytest.approx([2.0])
    apart = [SimInstance("fast", "n1", "edge"), SimInstance("slow", "n2", "edge")]
    assert latencies(apart, [0.0], {"n1": NodeCpu(1), "n2": NodeCpu(1)}, **kwargs) == pytest.approx([1.0])


def test_a_crash_frees_the_cpu_for_the_survivors() -> None:
    both = [SimInstance("fast", "n1", "edge"), SimInstance("slow", "n1", "edge")]
    spec = setup(
        both,
        "all-models",
        cat=catalog(("fast", "slow"), p50_ms=1, p99_ms=2),
        ensemble=(2, 2),
        deadline_ms=NO_DEADLINE_MS,
        service_time=Constant(1.0),
        failures=[Failure("crash", 0.5, "fast@n1", 10.0)],
        cpu={"n1": NodeCpu(1)},
        record_service=True,
    )
    result = simulate(spec, queries([0.0]))
    # slow had 0.25 s of work at half a core by 0.5, then the whole core for the other 0.75 s.
    spans = {s.instance: s for s in result.service}
    assert spans["fast@n1"].end_s == pytest.approx(0.5)
    assert spans["slow@n1"].end_s == pytest.approx(1.25)
    assert result.records[0].latency_s == pytest.approx(1.25)


def test_mg1_processor_sharing_mean_time_matches_theory() -> None:
    # Unlimited concurrency on one core is M/G/1-PS: W = E[S] / (1 - rho), whatever the distribution.
    mean_s, rate = 0.1, 5.0
    times = arrivals("poisson", rate=rate, duration_s=20_000 / rate, seed=2)
    spec = setup(
        [SimInstance("fast", "n1", "edge")],
        cat=catalog(("fast",)),
        deadline_ms=NO_DEADLINE_MS,
        service_time=Exponential(mean_s),
        queueing=False,
        cpu={"n1": NodeCpu(1)},
    )
    records = simulate(spec, queries(times)).records
    assert float(np.mean([r.latency_s for r in records])) == pytest.approx(mean_s / (1 - rate * mean_s), rel=0.08)


def test_a_node_with_more_cores_than_calls_gives_identical_records() -> None:
    instances = [
        SimInstance("fast", "n1", "edge", 2),
        SimInstance("slow", "n1", "edge"),
        SimInstance("fast", "n2", "edge"),
    ]
    times = arrivals("poisson", rate=40, duration_s=10, seed=1)
    runs = [
        simulate(setup(instances, "adaptive", ensemble=(1, 2), seed=4, cpu=cpu), queries(times)).records
        for cpu in (None, {"n1": NodeCpu(3), "n2": NodeCpu(1)})
    ]
    assert pickle.dumps(runs[0]) == pickle.dumps(runs[1])


def test_bad_cpu_setups_name_the_field() -> None:
    one = [SimInstance("fast", "n1", "edge")]
    cases = [
        ({}, "cpu.n1"),
        ({"n1": NodeCpu(0)}, "cpu.n1.cores"),
        ({"n1": NodeCpu(2, background_cores=2)}, "cpu.n1.background_cores"),
        ({"n1": NodeCpu(2, background_cores=-1)}, "cpu.n1.background_cores"),
    ]
    for cpu, field in cases:
        with pytest.raises(InvalidInput) as caught:
            simulate(setup(one, cpu=cpu), queries([0.0]))
        assert field in [p.location for p in caught.value.problems], cpu


def test_node_cpus_reads_the_inventory() -> None:
    nodes = ClusterSpec(("edge",), 2, cores=3, core_millicores=500).build()
    assert node_cpus(nodes, 0.25) == {"node-000": NodeCpu(1.5, 0.25), "node-001": NodeCpu(1.5, 0.25)}


def test_a_crash_that_empties_a_shared_node_cancels_its_next_completion() -> None:
    # Both calls are on the CPU when the only instance crashes: none may complete later, nothing is answered.
    spec = setup(
        [SimInstance("fast", "n1", "edge", concurrency=2)],
        cat=catalog(("fast",), p50_ms=1, p99_ms=2),
        deadline_ms=NO_DEADLINE_MS,
        service_time=Constant(1.0),
        failures=[Failure("crash", 0.5, "fast@n1", 10.0)],
        cpu={"n1": NodeCpu(1)},
        record_service=True,
    )
    result = simulate(spec, queries([0.0, 0.1]))
    assert [r.answered for r in result.records] == [False, False]
    assert [s.end_s for s in result.service] == [0.5, 0.5]
