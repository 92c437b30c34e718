"""One (arm, repetition) of an experiment, run by its backend; module-level so worker processes can run it.

Every arm of a workload and repetition sees the same queries and seed (common random numbers), so arms can
be compared query by query: arrival times come from `arrivals(seed = spec.seed + repetition)` and true classes
are drawn uniformly over the catalog's classes from the same seed.
- simulate: the workload's arrivals through the arm's placement (rohe.orchestration.placement on a synthetic
  cluster) and scheduler, with profile-based service times and predictions.
- replay: the calibrated trace queries (see replay.py); the calibration is done once and handed to workers.
- live: the same queries sent to a real gateway (live.py); run in-process by the runner, which holds the
  gateway (a LiveTarget), so `run_job` does not run it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rohe.core.contracts import ConsumerContract, EnsembleSize, load_contract
from rohe.core.errors import InvalidInput, Problem
from rohe.core.profiles import ProfileCatalog, load_catalog
from rohe.experiments.calibration import Calibration
from rohe.experiments.replay import default_contract, replay_arm
from rohe.experiments.rows import Row, from_records
from rohe.experiments.spec import Arm, Spec, resolve_path
from rohe.simulation import (
    ClusterSpec,
    ProfileConfusion,
    ProfileServiceTime,
    SimQuery,
    SimulationSetup,
    arrivals,
    node_cpus,
    place_instances,
    simulate,
)


@dataclass(frozen=True)
class Job:
    spec: Spec
    base: Path
    arm: Arm
    repetition: int
    calibration: Calibration | None = None  # replay only

    @property
    def seed(self) -> int:
        return self.spec.seed + self.repetition


def with_policy(contract: ConsumerContract, arm: Arm) -> ConsumerContract:
    policy = arm.ensemble
    if policy.min is None and policy.max is None:
        return contract
    high = policy.max if policy.max is not None else max(contract.ensemble.max, policy.min or 1)
    low = policy.min if policy.min is not None else min(contract.ensemble.min, high)
    return contract.model_copy(update={"ensemble": EnsembleSize(min=low, max=high)})


def contract_of(job: Job) -> ConsumerContract | None:
    if job.arm.contract is None:
        return None
    return load_contract(resolve_path(job.spec.contracts[job.arm.contract], job.base))


def catalog_of(spec: Spec, base: Path) -> ProfileCatalog:
    assert spec.catalog is not None  # the spec validator requires it for simulate
    return load_catalog(resolve_path(spec.catalog, base))


def run_job(job: Job) -> list[Row]:
    if job.spec.backend == "simulate":
        return _simulate(job)
    if job.spec.backend == "replay":
        return _replay(job)
    raise InvalidInput(
        "the live backend needs a gateway to send to",
        [Problem("backend", "live", "run it with `rohe experiment run` or run_experiment(..., target=LiveTarget)")],
    )


def queries_for(spec: Spec, job: Job, class_ids: Sequence[int]) -> list[SimQuery]:
    """The workload's queries for this repetition: what every arm (and backend) of it sees."""
    workload = job.arm.workload
    assert workload is not None
    times = arrivals(
        workload.kind, rate=workload.rate, duration_s=workload.duration_s, seed=job.seed, **workload.params
    )
    rng = np.random.default_rng([job.seed, len(times)])
    classes = np.asarray(class_ids)
    truth = rng.choice(classes, size=len(times)) if len(classes) else np.zeros(len(times), dtype=int)
    # The workload is in the id: arms on different workloads share no query, so they are never paired.
    return [
        SimQuery(f"{workload.name}-{i:06d}", float(t), int(c))
        for i, (t, c) in enumerate(zip(times, truth, strict=True))
    ]


def _simulate(job: Job) -> list[Row]:
    spec = job.spec
    catalog = catalog_of(spec, job.base)
    contract = contract_of(job)
    assert contract is not None
    contract = with_policy(contract, job.arm)
    cluster = ClusterSpec(spec.cluster.node_types or catalog.node_types, spec.cluster.nodes, spec.cluster.cores)
    models = contract.models or catalog.models
    services = ClusterSpec.services(models, replicas=spec.cluster.replicas)
    nodes = cluster.build()
    instances = place_instances(nodes, services, job.arm.placement, concurrency=spec.cluster.concurrency)
    setup = SimulationSetup(
        instances=instances,
        contract=contract,
        catalog=catalog,
        scheduler=job.arm.scheduler,
        service_time=ProfileServiceTime(catalog),
        prediction=ProfileConfusion(catalog),
        seed=job.seed,
        queueing=True if spec.queueing is None else spec.queueing,
        gateway_overhead_s=spec.gateway_overhead_s,
        aggregation=job.arm.ensemble.aggregation,
        cpu=node_cpus(nodes, spec.cluster.background_cores) if spec.cluster.cpu_sharing else None,
    )
    result = simulate(setup, queries_for(spec, job, catalog.class_ids))
    return from_records(job.arm.name, job.repetition, job.seed, result.records)


def _replay(job: Job) -> list[Row]:
    calibration = job.calibration
    assert calibration is not None
    contract = with_policy(contract_of(job) or default_contract(calibration), job.arm)
    return replay_arm(
        calibration,
        contract,
        job.arm.scheduler,
        seed=job.seed,
        repetition=job.repetition,
        queueing=bool(job.spec.queueing),
        aggregation=job.arm.ensemble.aggregation,
        arm=job.arm.name,
    )
