"""The adaptation controller: a level-triggered loop from observed windows and violations to platform actions.

Each `reconcile()` pass, per consumer: read the newest windows and the violations stored for them, compare what
the contract wants with what is observed, and when the guard allows, pick one remedy and act. Nothing is carried
from pass to pass but the persisted records and guard memory, so a restarted controller continues where it left
off, and a pass repeated on the same window decides nothing new. Remedies come from the action registry
(rohe.control.actions), are weighed by a RemedyPredictor (least predicted cost among those that restore the
contract; if none does, the best predicted p99) and recorded with trigger, evidence, prediction and, one window
later, the observed effect.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rohe.control.actions import Actuator, actions
from rohe.control.guard import Guard, GuardSettings
from rohe.control.predictor import QueueingPredictor, RemedyPredictor
from rohe.control.records import ControlState, DecisionRecord, Observed, Prediction, Remedy, utc
from rohe.control.situation import ServiceView, Situation
from rohe.core.contracts import ConsumerContract
from rohe.core.profiles import ProfileCatalog
from rohe.core.storage import Store
from rohe.observation.metrics import WindowMetrics
from rohe.observation.store import ObservationStore
from rohe.observation.violations import Violation
from rohe.orchestration.requirements import model_of
from rohe.orchestration.scaling import node_type_of
from rohe.orchestration.service import OrchestrationService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ControlSettings:
    guard: GuardSettings = field(default_factory=GuardSettings)
    dry_run: bool = False
    history: int = 20  # newest windows read per consumer and pass


@dataclass(frozen=True)
class Condition:
    type: str
    status: bool
    reason: str
    message: str = ""


class Controller:
    def __init__(
        self,
        store: Store,
        observations: ObservationStore,
        orchestration: OrchestrationService,
        *,
        app: str,
        contracts: Sequence[ConsumerContract],
        catalog: ProfileCatalog,
        actuator: Actuator,
        run: str = "default",
        predictor: RemedyPredictor | None = None,
        settings: ControlSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.observations = observations
        self.orchestration = orchestration
        self.app, self.run = app, run
        self.contracts = list(contracts)
        self.catalog = catalog
        self.actuator = actuator
        self.predictor = predictor or QueueingPredictor()
        self.settings = settings or ControlSettings()
        self.clock = clock
        self.state = ControlState(store, app, run)

    # -- one pass ------------------------------------------------------------------------------------
    def reconcile(self) -> list[DecisionRecord]:
        now = self.clock()
        override = self.state.override()
        memory = self.state.guard()
        guard = Guard(self.settings.guard, memory.setdefault("guard", {}))
        policies: dict[str, Any] = memory.setdefault("policy", {})
        status: dict[str, list[dict[str, Any]]] = {}
        records = self.state.decisions()
        new: list[DecisionRecord] = []
        services = self._services()
        node_types = tuple(sorted({node_type_of(n) for n in self.orchestration.store.list_nodes() if n.schedulable}))
        for contract in self.contracts:
            windows = self.observations.list_windows(self.app, self.run, contract.consumer,
                                                     limit=self.settings.history)
            if not windows:
                status[contract.consumer] = [vars(Condition("Observed", False, "NoWindows"))]
                continue
            violations = [v for v in self.observations.list_violations(self.app, self.run, contract.consumer)
                          if utc(v.window_end) >= utc(windows[0].start)]
            _fill_observed(records, contract, windows, {utc(v.window_end) for v in violations})
            situation = self._situation(contract, windows, violations, services, node_types,
                                        policies.get(contract.consumer, {}))
            conditions, record = self._decide(situation, override, guard, records + new, now)
            status[contract.consumer] = [vars(c) for c in conditions]
            if record is not None:
                new.append(record)
                if record.status == "applied":
                    policies[contract.consumer] = _policy_after(record.action, situation)
        self.state.save_decisions(records + new)
        memory["status"] = {"at": now, "consumers": status, "dry_run": self.settings.dry_run}
        self.state.save_guard(memory)
        return new

    def _decide(self, s: Situation, override: Any, guard: Guard, records: list[DecisionRecord],
                now: float) -> tuple[list[Condition], DecisionRecord | None]:
        violated = bool(s.violations)
        conditions = [Condition("ContractHolds", not violated, "Violated" if violated else "Holds",
                                s.violations[0].explanation if violated else "")]
        if override.paused:
            return [*conditions, Condition("Paused", True, "OperatorPause", override.note)], None
        if any(r.consumer == s.consumer and utc(r.window_end) == utc(s.window.end) for r in records):
            return [*conditions, Condition("Decided", True, "AlreadyDecidedThisWindow")], None
        blocked = guard.blocked(s.consumer, now)
        if blocked is not None:
            reason = "BackingOff" if blocked.startswith("backing") else "CoolingDown"
            return [*conditions, Condition(reason, True, reason, blocked)], None
        if not guard.ripe(violated, s.violated_streak, s.healthy_streak):
            return [*conditions, Condition("Hysteresis", True, "Waiting",
                                           f"violated {s.violated_streak}, healthy {s.healthy_streak} window(s)")], None
        phase = "corrective" if violated else "relaxing"
        candidates = [(a, r) for a in actions() if a.phase == phase for r in a.propose(s)]
        kinds = [a.name for a in actions()]
        if not candidates:
            return [*conditions, Condition("Remedy", False, "NoneApplies" if violated else "Steady")], None
        weighed = [(a, r, self.predictor.predict(r, s)) for a, r in candidates]
        ceiling = s.cost_ceiling()
        usable = [(a, r, p) for a, r, p in weighed if guard.allowed(r, p, override, ceiling) is None]
        refused = [f"{r.text}: {why}" for _, r, p in weighed if (why := guard.allowed(r, p, override, ceiling))]
        if not violated:
            usable = [(a, r, p) for a, r, p in usable if p.restores]  # relax only when the contract keeps holding
        if not usable:
            return [*conditions, Condition("Remedy", False, "AllRefused", "; ".join(refused))], None
        action, remedy, prediction = _choose(usable, kinds)
        alternatives = [f"{r.text}: p99 {_ms(p.p99_ms)}, cost {p.cost:.4g}, restores {p.restores}"
                        for _, r, p in weighed if r is not remedy] + refused
        record = self._record(s, remedy, prediction, alternatives)
        if self.settings.dry_run:
            record.status, record.detail = "dry-run", "dry run: recorded, not applied"
        else:
            try:
                record.detail = action.apply(remedy, self.actuator)
                record.status = "applied"
            except Exception as exc:  # any failure is recorded and backed off, never raised into the loop
                log.warning("control action %s failed: %s", remedy.text, exc)
                record.status, record.detail = "failed", f"{type(exc).__name__}: {exc}"
        guard.acted(s.consumer, now, failed=record.status == "failed")
        return [*conditions, Condition("Acted", True, record.status, remedy.text)], record

    def _record(self, s: Situation, remedy: Remedy, prediction: Prediction, alternatives: list[str]) -> DecisionRecord:
        first = s.violations[0] if s.violations else None
        evidence = [f"{v.clause}: observed {v.observed}" for v in s.violations]
        evidence += [c.evidence for v in s.violations for c in v.causes[:3]]
        if first is None:
            evidence.append(f"contract held for {s.healthy_streak} window(s); p99 "
                            f"{_ms(s.window.end_to_end.p99_ms if s.window.end_to_end else None)}")
        return DecisionRecord(
            at=datetime.fromtimestamp(self.clock(), UTC), app=self.app, run=self.run, consumer=s.consumer,
            trigger=(f"{first.clause} broken: {first.metric} = {_value(first.observed)}" if first is not None
                     else "contract holds with room to spare"),
            violation_id=str(first.violation_id) if first is not None else None, window_end=utc(s.window.end),
            evidence=evidence, action=remedy, status="skipped", expected=prediction, alternatives=alternatives)

    # -- what is deployed ----------------------------------------------------------------------------
    def _services(self) -> dict[str, ServiceView]:
        nodes = {n.name: n for n in self.orchestration.store.list_nodes()}
        replicas = self.orchestration.replicas()
        views = {}
        for service in self.orchestration.list_services():
            model = model_of(service, self.catalog.models)
            if model not in self.catalog.models:
                continue
            mine = [r for r in replicas if r.service == service.name]
            placed = tuple((r.index, r.node, node_type_of(nodes[r.node])) for r in mine
                           if r.node is not None and r.node in nodes)
            views[model] = ServiceView(service.name, model, len(mine), placed, service)
        return views

    def _situation(self, contract: ConsumerContract, windows: list[WindowMetrics], violations: list[Violation],
                   services: dict[str, ServiceView], node_types: tuple[str, ...],
                   policy: dict[str, Any]) -> Situation:
        ends = {utc(v.window_end) for v in violations}
        newest = [v for v in violations if utc(v.window_end) == utc(windows[-1].end)]
        violated = healthy = 0
        for window in reversed(windows):
            if utc(window.end) in ends:
                if healthy:
                    break
                violated += 1
            else:
                if violated:
                    break
                healthy += 1
        return Situation(self.app, self.run, contract, self.catalog, windows, newest, services, node_types,
                         degraded=bool(policy.get("degraded", False)), excluded=tuple(policy.get("excluded", ())),
                         violated_streak=violated, healthy_streak=healthy)

    # -- for CLI and API -----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return self.state.status()


def _choose(usable: list[tuple[Any, Remedy, Prediction]], order: list[str]) -> tuple[Any, Remedy, Prediction]:
    restoring = [u for u in usable if u[2].restores]
    if restoring:
        return min(restoring, key=lambda u: (u[2].cost, order.index(u[1].kind)))
    return min(usable, key=lambda u: (u[2].p99_ms if u[2].p99_ms is not None else float("inf"), u[2].cost))


def _policy_after(remedy: Remedy, s: Situation) -> dict[str, Any]:
    degraded, excluded = s.degraded, list(s.excluded)
    if remedy.kind == "degrade":
        degraded = True
    elif remedy.kind == "reselect":
        excluded = list(remedy.params["exclude"])
    elif remedy.kind == "restore":
        degraded, excluded = False, []
    return {"degraded": degraded, "excluded": excluded}


def _fill_observed(records: list[DecisionRecord], contract: ConsumerContract, windows: list[WindowMetrics],
                   violated: set[datetime]) -> None:
    """Give each record still waiting the first window that ended after it (its "one window later")."""
    for record in records:
        if record.consumer != contract.consumer or record.observed is not None:
            continue
        later = [w for w in windows if utc(w.end) > record.window_end]
        if not later:
            continue
        window = later[0]
        p99 = window.end_to_end.p99_ms if window.end_to_end is not None else None
        holds = utc(window.end) not in violated
        record.observed = Observed(window_end=utc(window.end), p99_ms=p99, accuracy=window.accuracy,
                                   throughput_rps=window.throughput_rps, holds=holds)


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def _value(value: float | None) -> str:
    return "no data" if value is None else f"{value:.4g}"
