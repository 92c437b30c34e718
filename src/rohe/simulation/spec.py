"""What a simulation is given and what it gives back: queries, the setup, one record per query, the result.

Records: `latency_s` runs from arrival to the answer and includes the gateway overhead; it is NaN when
nothing answered. `late` means the deadline was missed: answered after it, or not answered at all (the load
generator counts an unanswered request as a miss too). `cost` sums the per-request cost of every member
sent, answered or not, as the gateway bills it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rohe.core.contracts import ConsumerContract
from rohe.core.profiles import ProfileCatalog
from rohe.simulation.behaviour import PredictionModel, ServiceTimeModel
from rohe.simulation.cluster import Failure, SimInstance
from rohe.simulation.cpu import NodeCpu


@dataclass(frozen=True)
class SimQuery:
    """One request. `deadline_s`, when set, replaces the contract's deadline for this query alone;
    `consumer` names a contract of the setup (None: `setup.contract`), `scheduler` a scheduler (None:
    `setup.scheduler`)."""

    query_id: str
    arrival_s: float
    true_class: int
    deadline_s: float | None = None
    consumer: str | None = None
    scheduler: str | None = None


@dataclass(frozen=True)
class SimulationSetup:
    """What to simulate. `queueing=False` gives every instance unlimited concurrency (a pure counterfactual
    replay: service times without waiting). `aggregation` is the modality's strategy (dataplane names).

    `cpu` maps every instance's node to its cores: the instances on a node then share them (cpu.py), and a
    service time is CPU demand. None (the default, since bare instances carry no node sizes) keeps the
    independent-server model: every instance has cores of its own, however many share a node."""

    instances: Sequence[SimInstance]
    contract: ConsumerContract
    catalog: ProfileCatalog
    scheduler: str
    service_time: ServiceTimeModel
    prediction: PredictionModel
    failures: Sequence[Failure] = ()
    seed: int = 0
    queueing: bool = True
    gateway_overhead_s: float = 0.0
    aggregation: str = "majority"
    record_service: bool = False  # also return every span of work on an instance (SimResult.service)
    consumers: Sequence[ConsumerContract] = ()  # more consumers' contracts, chosen by SimQuery.consumer
    cpu: Mapping[str, NodeCpu] | None = None


@dataclass(frozen=True)
class SimRecord:
    query_id: str
    arrival_s: float
    latency_s: float
    deadline_s: float
    answered: bool
    late: bool
    true_class: int
    predicted_class: int
    correct: bool
    members: int
    member_models: tuple[str, ...]
    cost: float
    consumer: str = ""
    scheduler: str = ""


@dataclass(frozen=True)
class ServiceSpan:
    """`instance` (SimInstance.key) worked on `query_id` from `start_s` to `end_s` (cut short by a crash);
    the call needed `demand_s` CPU seconds (its service time, slowdowns included)."""

    instance: str
    query_id: str
    start_s: float
    end_s: float
    demand_s: float = 0.0


@dataclass(frozen=True)
class SimResult:
    records: list[SimRecord]
    events: int
    wall_s: float
    service: list[ServiceSpan] = field(default_factory=list)  # only with SimulationSetup.record_service
