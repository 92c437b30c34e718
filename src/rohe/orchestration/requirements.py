"""Placement requirements derived from consumer contracts and model profiles: replicas and node-type preference.

For each model service:
- load: the sum of `required_throughput` of every consumer whose contract allows the model (the gateway fans a
  request out to every member, so a member sees each request of its consumers); sized for the case that each
  allowed model is in the ensemble, since selection may pick any of them.
- per allowed node type with a profile: the fewest replicas that keep utilisation <= `utilisation` and the
  M/M/c p99 estimate (rohe.orchestration.queueing) within the tightest deadline of those consumers;
- accuracy floor: a model whose profiled accuracy is below a consumer's accuracy floor that binds every member
  (`aggregate: min`) is not sized for that consumer;
- cost ceiling: the tightest `cost` max of those consumers; node types whose replicas cost more are kept but
  ranked after the ones within it, and the requirement says it is over budget (never silently shrunk);
- preferred node types: those meeting the deadline, within budget first, then by cost, replicas, p99.
The first preferred type decides the replica count; `preferences()` hands the ranking to the observed-load score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rohe.core.contracts import Aggregation, ConsumerContract, MetricKind
from rohe.core.domain import Service
from rohe.core.errors import InvalidInput, Problem
from rohe.core.profiles import ModelProfile, ProfileCatalog
from rohe.orchestration.queueing import replicas_for, response_p99_ms

MODEL_ENV = "ROHE_MODEL"
DEFAULT_UTILISATION = 0.8


@dataclass(frozen=True)
class NodeTypeOption:
    node_type: str
    replicas: int | None
    p99_ms: float | None  # estimated at that replica count
    cost: float | None
    within_budget: bool


@dataclass(frozen=True)
class ServiceRequirement:
    service: str
    model: str
    consumers: tuple[str, ...]
    load_rps: float
    deadline_ms: float | None
    cost_ceiling: float | None
    replicas: int | None
    node_type: str | None
    preferred: tuple[str, ...]
    why_replicas: str
    why_nodes: str
    over_budget: bool = False
    options: tuple[NodeTypeOption, ...] = field(default=(), repr=False)


def model_of(service: Service, models: Sequence[str] = ()) -> str:
    """The model a service serves: its ROHE_MODEL env entry, else its name, else (given the known `models`) the
    longest model id its name ends with after a dash (`oc-random-forest` serves `random-forest`)."""
    if MODEL_ENV in service.env:
        return service.env[MODEL_ENV]
    if service.name in models:
        return service.name
    suffixed = [m for m in models if service.name.endswith(f"-{m}")]
    return max(suffixed, key=len) if suffixed else service.name


def _p99(profile: ModelProfile) -> float | None:
    return next((v for v in (profile.latency_p99_ms, profile.latency_p95_ms, profile.latency_p50_ms) if v is not None),
                None)


def _floor_excludes(contract: ConsumerContract, accuracy: float | None) -> bool:
    if accuracy is None:
        return False
    return any(c.metric is MetricKind.ACCURACY and c.aggregation is Aggregation.MIN and c.min is not None
               and accuracy < c.min for c in contract.constraints)


def _fast_enough(contract: ConsumerContract, catalog: ProfileCatalog, model: str,
                 node_types: Sequence[str] | None) -> bool:
    if contract.deadline_ms is None:
        return True
    return any((p99 := _p99(p)) is not None and p99 <= contract.deadline_ms for p in catalog.profiles
               if p.model == model and (node_types is None or p.node_type in node_types)
               and (contract.node_types is None or p.node_type in contract.node_types))


def _cost_ceiling(contract: ConsumerContract) -> float | None:
    bounds = [c.max for c in contract.constraints if c.metric is MetricKind.COST and c.max is not None]
    return min(bounds) if bounds else None


def _mean_accuracy(catalog: ProfileCatalog, model: str) -> float | None:
    values = [p.accuracy for p in catalog.profiles if p.model == model and p.accuracy is not None]
    return sum(values) / len(values) if values else None


def _option(profile: ModelProfile, load: float, deadline: float | None, ceiling: float | None,
            utilisation: float) -> NodeTypeOption:
    p99 = _p99(profile)
    if profile.throughput_rps is None or p99 is None:
        return NodeTypeOption(profile.node_type, None, None, None, False)
    count = replicas_for(load, profile.throughput_rps, p99, deadline, utilisation)
    if count is None:
        return NodeTypeOption(profile.node_type, None, p99, None, False)
    cost = count * (profile.cost_base or 0.0) + load * (profile.cost_per_request or 0.0)
    estimate = response_p99_ms(count, load, profile.throughput_rps, p99)
    return NodeTypeOption(profile.node_type, count, estimate, cost, ceiling is None or cost <= ceiling)


def derive(
    contracts: Sequence[ConsumerContract],
    catalog: ProfileCatalog,
    services: Sequence[Service] | None = None,
    node_types: Sequence[str] | None = None,
    utilisation: float = DEFAULT_UTILISATION,
) -> list[ServiceRequirement]:
    """One requirement per model service (per profiled model when `services` is None), in catalog order."""
    if not contracts:
        raise InvalidInput("no contracts", [Problem("contracts", "is empty", "give at least one consumer contract")])
    if not 0 < utilisation <= 1:
        raise InvalidInput("invalid utilisation", [Problem("utilisation", f"is {utilisation}", "use (0, 1]")])
    by_model: Mapping[str, str] = (
        {model_of(s, catalog.models): s.name for s in services if model_of(s, catalog.models) in catalog.models}
        if services is not None
        else {m: m for m in catalog.models})
    result = []
    for model, service in by_model.items():
        accuracy = _mean_accuracy(catalog, model)
        allowed_by = [c for c in contracts
                      if (c.models is None or model in c.models) and not _floor_excludes(c, accuracy)]
        # A consumer whose deadline the model misses on every node type will never pick it: not sized for it.
        users = [c for c in allowed_by if _fast_enough(c, catalog, model, node_types)]
        too_slow = [c.consumer for c in allowed_by if c not in users]
        profiled_on = sorted({p.node_type for p in catalog.profiles if p.model == model})
        if node_types is not None and not set(profiled_on) & set(node_types):
            # Not "too slow": nothing says how fast it is on this cluster's hardware.
            result.append(ServiceRequirement(
                service, model, (), 0.0, None, None, None, None, (),
                f"not profiled on this cluster's node types (profiled on: {', '.join(profiled_on)})",
                f"profile it on one of {', '.join(sorted(node_types))} (rohe profile --node-type TYPE)"))
            continue
        if not users and too_slow:
            fastest = min((p for p in catalog.profiles if p.model == model and _p99(p) is not None),
                          key=lambda p: _p99(p) or math.inf, default=None)
            shown = f"{_p99(fastest):.1f} ms on {fastest.node_type}" if fastest is not None else "unknown"
            result.append(ServiceRequirement(service, model, (), 0.0, None, None, None, None, (),
                                             f"too slow for {', '.join(too_slow)} (fastest profiled p99: {shown})",
                                             "none: add a faster node type or relax the deadline"))
            continue
        if not users:
            result.append(ServiceRequirement(service, model, (), 0.0, None, None, 0, None, (),
                                             "no consumer may use it (models list or accuracy floor)", "-"))
            continue
        load = sum(c.required_throughput for c in users)
        deadlines = [c.deadline_ms for c in users if c.deadline_ms is not None]
        deadline = min(deadlines) if deadlines else None
        ceilings = [x for c in users if (x := _cost_ceiling(c)) is not None]
        ceiling = min(ceilings) if ceilings else None
        allowed = set(catalog.node_types if node_types is None else node_types)
        for c in users:
            if c.node_types is not None:
                allowed &= set(c.node_types)
        profiles = [p for p in catalog.profiles if p.model == model and p.node_type in allowed]
        options = [_option(p, load, deadline, ceiling, utilisation) for p in profiles]
        feasible = sorted((o for o in options if o.replicas is not None),
                          key=lambda o: (not o.within_budget, o.cost or 0.0, o.replicas or 0, o.p99_ms or 0.0))
        result.append(_requirement(service, model, users, load, deadline, ceiling, utilisation, options, feasible))
    return result


def _requirement(service: str, model: str, users: list[ConsumerContract], load: float, deadline: float | None,
                 ceiling: float | None, utilisation: float, options: list[NodeTypeOption],
                 feasible: list[NodeTypeOption]) -> ServiceRequirement:
    names = tuple(c.consumer for c in users)
    by = " + ".join(f"{c.consumer} {c.required_throughput:g}" for c in users)
    if not feasible:
        fastest = min((o for o in options if o.p99_ms is not None), key=lambda o: o.p99_ms or math.inf, default=None)
        why = (f"no node type meets the {deadline:g} ms deadline" if deadline is not None else "no usable profile")
        if fastest is not None and fastest.p99_ms is not None:
            why += f" (fastest profiled p99: {fastest.p99_ms:.1f} ms on {fastest.node_type})"
        return ServiceRequirement(service, model, names, load, deadline, ceiling, None, None, (), why,
                                  "none: add a faster node type or relax the deadline", options=tuple(options))
    best = feasible[0]
    mu = load / (best.replicas or 1)
    why = (f"{load:g} req/s ({by}) over {best.replicas} replica(s) on {best.node_type} = {mu:.0f} req/s each, "
           f"<= {utilisation:.0%} of capacity; p99 est. {best.p99_ms:.1f} ms")
    why += f" <= {deadline:g} ms deadline" if deadline is not None else " (no deadline)"
    over = not best.within_budget
    shown = ", ".join(f"{o.node_type} ({o.replicas}x, cost {o.cost:.4g})" for o in feasible[:3])
    why_nodes = f"meet the deadline, cheapest first: {shown}"
    if ceiling is not None:
        why_nodes += f"; ceiling {ceiling:g}" + (" EXCEEDED by every option" if over else "")
    return ServiceRequirement(service, model, names, load, deadline, ceiling, best.replicas, best.node_type,
                              tuple(o.node_type for o in feasible), why, why_nodes, over, tuple(options))


def apply(services: Sequence[Service], requirements: Sequence[ServiceRequirement]) -> list[Service]:
    """The services with the derived replica counts (services without a requirement or a count are unchanged)."""
    counts = {r.service: r.replicas for r in requirements if r.replicas is not None}
    return [s.model_copy(update={"replicas": counts[s.name]}) if s.name in counts else s for s in services]


def preferences(requirements: Sequence[ServiceRequirement]) -> dict[str, tuple[str, ...]]:
    """Service -> preferred node types, for the observed-load score."""
    return {r.service: r.preferred for r in requirements if r.preferred}
