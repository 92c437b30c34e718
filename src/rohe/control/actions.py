"""Actions the controller can take, behind one small Protocol and a registry keyed by name.

An action proposes concrete remedies for a situation (from the newest violation's ranked causes, or from the
contract holding with room to spare) and applies one through an `Actuator`. Remedies are absolute (scale to N,
exclude exactly these models), so applying one twice changes nothing the second time. To add an action:
implement `ControlAction` (name, phase, propose, apply) and `register()` it (docs/adaptation.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

from rohe.control.records import Remedy
from rohe.control.situation import Situation
from rohe.core.errors import InvalidInput, Problem
from rohe.observation.violations import CauseKind
from rohe.orchestration.queueing import replicas_for

TARGET_UTILISATION = 0.7  # sizing point when scaling out: headroom for the next burst
SCALE_IN_UTILISATION = 0.3  # below this everywhere, one replica fewer is considered
MAX_REPLICAS = 32


@runtime_checkable
class Actuator(Protocol):
    """How actions reach the platform: the orchestration service's Python API and the gateway's policy route."""

    def scale(self, service: str, replicas: int) -> str: ...

    def move(self, service: str, index: int, node_type: str) -> str: ...

    def set_policy(self, consumer: str, *, degrade: bool, exclude: Sequence[str]) -> str: ...


Phase = Literal["corrective", "relaxing"]


@runtime_checkable
class ControlAction(Protocol):
    name: str
    phase: Phase  # corrective: answers a violation; relaxing: runs once the contract has held for a while

    def propose(self, situation: Situation) -> list[Remedy]:
        """Remedies this action offers now (may be none)."""
        ...

    def apply(self, remedy: Remedy, actuator: Actuator) -> str:
        """Carry `remedy` out; returns a line for the decision record, raises on failure."""
        ...


def _causes(s: Situation, kind: CauseKind) -> list[tuple[str, str, str]]:
    """(cause name, evidence, violated metric) of every cause of `kind`, highest share first across violations."""
    found = [(c.share, c.name, c.evidence, v.metric) for v in s.violations for c in v.causes if c.kind is kind]
    found.sort(key=lambda item: -item[0])
    return [(name, evidence, metric) for _, name, evidence, metric in found]


def _service_of(s: Situation, service: str) -> str | None:
    return next((m for m, v in s.services.items() if v.name == service), None)


def _latency(metric: str) -> bool:
    return metric.startswith("end_to_end.") or metric in ("throughput_rps", "availability_percent", "error_rate")


def _needed(s: Situation, model: str, node_type: str | None, utilisation: float) -> int | None:
    profile = s.profile(model, node_type)
    if profile is None or profile.throughput_rps is None:
        return None
    p99 = profile.latency_p99_ms or profile.latency_p95_ms or profile.latency_p50_ms or 0.0
    return replicas_for(s.load(model), profile.throughput_rps, p99, s.contract.deadline_ms, utilisation, MAX_REPLICAS)


def _hot_models(s: Situation) -> list[tuple[str, str]]:
    """Models blamed for a latency or delivery violation: saturated service@node first, then slow/late members."""
    hot: list[tuple[str, str]] = []
    for name, evidence, _ in _causes(s, CauseKind.NODE):
        model = _service_of(s, name.partition("@")[0])
        if model is not None and model not in [m for m, _ in hot]:
            hot.append((model, evidence))
    for name, evidence, metric in _causes(s, CauseKind.MODEL):
        if _latency(metric) and name in s.services and name not in [m for m, _ in hot]:
            hot.append((name, evidence))
    return hot


class ScaleOut:
    """Every blamed service alone, and all of them together (one queue fixed while another stays saturated
    restores nothing: the ensemble waits for its slowest member)."""

    name = "scale-out"
    phase: Phase = "corrective"

    def propose(self, s: Situation) -> list[Remedy]:
        remedies = []
        sizes: dict[str, int] = {}
        for model, evidence in _hot_models(s):
            view = s.services[model]
            needed = _needed(s, model, view.node_type, TARGET_UTILISATION) or view.replicas + 1
            target = min(MAX_REPLICAS, max(view.replicas + 1, needed))
            if target > view.replicas:
                sizes[model] = target
                remedies.append(Remedy(kind=self.name, target=view.name,
                                       params={"scale": {model: target}}, reason=evidence))
        if len(sizes) > 1:
            names = "+".join(s.services[m].name for m in sizes)
            remedies.append(Remedy(kind=self.name, target=names, params={"scale": sizes},
                                   reason="; ".join(r.reason for r in remedies)))
        return remedies

    def apply(self, remedy: Remedy, actuator: Actuator) -> str:
        return scale_all(remedy, actuator)


def scale_all(remedy: Remedy, actuator: Actuator) -> str:
    sizes: dict[str, int] = remedy.params["scale"]
    services = remedy.target.split("+")
    return "; ".join(actuator.scale(service, int(count)) for service, count in zip(services, sizes.values(),
                                                                                     strict=True))


class ScaleIn:
    name = "scale-in"
    phase: Phase = "relaxing"

    def propose(self, s: Situation) -> list[Remedy]:
        if s.violations:
            return []
        remedies = []
        for model in s.members():
            view = s.services[model]
            needed = _needed(s, model, view.node_type, TARGET_UTILISATION)
            profile = s.profile(model, view.node_type)
            if needed is None or profile is None or profile.throughput_rps is None or view.replicas <= 1:
                continue
            busy = s.load(model) / (view.replicas * profile.throughput_rps)
            if needed < view.replicas and busy < SCALE_IN_UTILISATION:
                remedies.append(Remedy(kind=self.name, target=view.name,
                                       params={"scale": {model: view.replicas - 1}},
                                       reason=f"{model} at {busy:.0%} of {view.replicas} replicas' capacity; "
                                              f"{needed} suffice for the contract"))
        return remedies

    def apply(self, remedy: Remedy, actuator: Actuator) -> str:
        return scale_all(remedy, actuator)


class Move:
    """A replica on a saturated node goes to a node type whose profile is faster for its model."""

    name = "move"
    phase: Phase = "corrective"

    def propose(self, s: Situation) -> list[Remedy]:
        remedies = []
        for name, evidence, _ in _causes(s, CauseKind.NODE):
            service, _, node = name.partition("@")
            model = _service_of(s, service)
            if model is None:
                continue
            view = s.services[model]
            here = next(((i, t) for i, n, t in view.placed if n == node), None)
            if here is None:
                continue
            current = s.profile(model, here[1])
            faster = [p for p in s.catalog.profiles if p.model == model and p.node_type in s.node_types
                      and p.node_type != here[1] and current is not None and p.throughput_rps is not None
                      and current.throughput_rps is not None and p.throughput_rps > current.throughput_rps]
            for profile in sorted(faster, key=lambda p: -(p.throughput_rps or 0.0))[:1]:
                remedies.append(Remedy(kind=self.name, target=service,
                                       params={"model": model, "index": here[0], "node_type": profile.node_type},
                                       reason=evidence))
        return remedies

    def apply(self, remedy: Remedy, actuator: Actuator) -> str:
        return actuator.move(remedy.target, int(remedy.params["index"]), str(remedy.params["node_type"]))


class Reselect:
    """Drop a member from the consumer's ensemble: the slow one (latency) or the one whose accuracy fell."""

    name = "reselect"
    phase: Phase = "corrective"

    def propose(self, s: Situation) -> list[Remedy]:
        remedies = []
        members = s.members()
        for name, evidence, _metric in _causes(s, CauseKind.MODEL):
            if name in members and len(members) > max(1, s.contract.ensemble.min):
                exclude = sorted({*s.excluded, name})
                remedies.append(Remedy(kind=self.name, target=s.consumer, params={"exclude": exclude, "model": name},
                                       reason=evidence))
        return remedies

    def apply(self, remedy: Remedy, actuator: Actuator) -> str:
        return actuator.set_policy(remedy.target, degrade=False, exclude=list(remedy.params["exclude"]))


class Degrade:
    """The last resort for a latency violation no other remedy restores: the single fastest feasible model."""

    name = "degrade"
    phase: Phase = "corrective"

    def propose(self, s: Situation) -> list[Remedy]:
        if s.degraded or not any(_latency(v.metric) for v in s.violations):
            return []
        return [Remedy(kind=self.name, target=s.consumer, params={"exclude": list(s.excluded)},
                       reason=s.violations[0].explanation)]

    def apply(self, remedy: Remedy, actuator: Actuator) -> str:
        return actuator.set_policy(remedy.target, degrade=True, exclude=list(remedy.params["exclude"]))


class Restore:
    """Undo degrade and exclusions once the contract has held for a while (the guard decides how long)."""

    name = "restore"
    phase: Phase = "relaxing"

    def propose(self, s: Situation) -> list[Remedy]:
        if s.violations or not (s.degraded or s.excluded):
            return []
        return [Remedy(kind=self.name, target=s.consumer, params={"exclude": []},
                       reason=f"contract held for {s.healthy_streak} window(s)")]

    def apply(self, remedy: Remedy, actuator: Actuator) -> str:
        return actuator.set_policy(remedy.target, degrade=False, exclude=[])


_REGISTRY: dict[str, ControlAction] = {}


def register(action: ControlAction) -> ControlAction:
    if not isinstance(action, ControlAction):
        raise InvalidInput("not a control action",
                           [Problem("action", f"{type(action).__name__} lacks name/propose/apply", "")])
    _REGISTRY[action.name] = action
    return action


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def get_action(name: str) -> ControlAction:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise InvalidInput("unknown control action",
                           [Problem("action", f"{name!r} is not registered", f"use one of: {', '.join(_REGISTRY)}")]
                           ) from None


def actions() -> list[ControlAction]:
    return list(_REGISTRY.values())


for _builtin in (ScaleOut(), Move(), Reselect(), Degrade(), Restore(), ScaleIn()):
    register(_builtin)
