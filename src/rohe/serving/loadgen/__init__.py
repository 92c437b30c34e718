"""Open-loop load generation against a serving gateway: workload profiles, schedules, results, summaries."""

from rohe.serving.loadgen.profile import (
    Arrival,
    Phase,
    PhaseSpec,
    RateBasis,
    WorkloadProfile,
    load_workload_profile,
    parse_workload_profile,
)
from rohe.serving.loadgen.results import (
    DEFAULT_ALGORITHM,
    RequestOutcome,
    RequestResult,
    RunResult,
    SummaryRow,
    summarise,
)
from rohe.serving.loadgen.runner import LoadGenerator, TimedAction, run_workload
from rohe.serving.loadgen.samples import LabelledSamples
from rohe.serving.loadgen.schedule import PhaseWindow, PlannedRequest, Schedule, arrival_times, build_schedule

__all__ = [
    "DEFAULT_ALGORITHM",
    "Arrival",
    "LabelledSamples",
    "LoadGenerator",
    "Phase",
    "PhaseSpec",
    "PhaseWindow",
    "PlannedRequest",
    "RateBasis",
    "RequestOutcome",
    "RequestResult",
    "RunResult",
    "Schedule",
    "SummaryRow",
    "TimedAction",
    "WorkloadProfile",
    "arrival_times",
    "build_schedule",
    "load_workload_profile",
    "parse_workload_profile",
    "run_workload",
    "summarise",
]
