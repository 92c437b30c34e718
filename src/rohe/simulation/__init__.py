"""A seeded discrete-event simulator of rohe's serving path: arrivals, the gateway's real scheduling and
aggregation code, model instances with concurrency limits and queues, nodes whose cores the instances on
them share (optional: `SimulationSetup.cpu`), and injected failures.

Latency and accuracy come from a ServiceTimeModel and a PredictionModel (profile-based defaults here,
trace-calibrated ones in rohe.experiments); queueing comes from the simulation itself.
"""

from rohe.simulation.arrivals import arrivals, trace_arrivals
from rohe.simulation.behaviour import (
    PredictionModel,
    ProfileConfusion,
    ProfileServiceTime,
    ServiceTimeModel,
    lognormal_from_percentiles,
)
from rohe.simulation.cluster import ClusterSpec, Failure, SimInstance, node_type_of, place_instances
from rohe.simulation.cpu import NodeCpu, node_cpus
from rohe.simulation.run import simulate
from rohe.simulation.spec import ServiceSpan, SimQuery, SimRecord, SimResult, SimulationSetup

__all__ = [
    "ClusterSpec",
    "Failure",
    "NodeCpu",
    "PredictionModel",
    "ProfileConfusion",
    "ProfileServiceTime",
    "ServiceSpan",
    "ServiceTimeModel",
    "SimInstance",
    "SimQuery",
    "SimRecord",
    "SimResult",
    "SimulationSetup",
    "arrivals",
    "lognormal_from_percentiles",
    "node_cpus",
    "node_type_of",
    "place_instances",
    "simulate",
    "trace_arrivals",
]
