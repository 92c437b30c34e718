"""How the observation service builds an agent from its config: the contract evaluator (or, with a `quality`
section, a QualityWatch around it whose incidents are stored) as the window listener, the contracts' derived
metrics as window functions, and clock ticks that notice consumers gone silent."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from rohe.core.errors import InvalidInput, Problem
from rohe.observation.agent import AgentConfig, ObservationAgent
from rohe.observation.metrics import WindowKind, WindowMetrics
from rohe.observation.store import ObservationStore
from rohe.observation.violations import Violation

if TYPE_CHECKING:
    from rohe.observation.evaluation.evaluator import ContractEvaluator
    from rohe.quality import Detector, Diagnoser, Incident, QualityWatch, RuleAlert

logger = logging.getLogger(__name__)

SILENCE_MARGIN_S = 1.5  # the agent's clock tick plus delivery jitter, beyond a window's expected close

WindowListener = Callable[[WindowMetrics], None]


def default_listeners(config: AgentConfig, store: ObservationStore) -> list[WindowListener]:
    """The contract evaluator when the config lists contracts: it saves violations into `store` and acts on
    them (webhook alerts, gateway degrade/reroute) as the config's `actions` say. With a `quality` section the
    evaluator runs inside a QualityWatch whose incidents (rule alerts and anomalies as their symptoms) are saved
    into `store` too."""
    evaluator = None
    if config.contracts:
        # Imported here: evaluation pulls in the serving contracts, which agents without contracts never need.
        from rohe.observation.evaluation.wiring import evaluation_for

        token = os.environ.get(config.actions.gateway_token_env) if config.actions.gateway_token_env else None
        evaluator = evaluation_for(config, store, token=token).evaluator
    if config.quality is not None:
        return [quality_listener(config, store, evaluator)]
    return [] if evaluator is None else [evaluator]


def default_agent(
    config: AgentConfig, store: ObservationStore, listeners: Sequence[WindowListener]
) -> ObservationAgent:
    functions = {}
    if config.contracts:
        # The contracts' derived metrics (cdm_definitions) are computed by the agent, per window, from the raw
        # reports; the evaluator then judges them like any other metric.
        from rohe.observation.evaluation import load_contracts
        from rohe.observation.evaluation.cdm import contract_window_functions

        functions = contract_window_functions(load_contracts(config.contracts).values())
    return ObservationAgent(config, store, listeners=listeners, window_functions=functions,
                            tickers=silence_tickers(config, listeners))


@runtime_checkable
class SilenceChecker(Protocol):
    """What the contract evaluator offers for consumers that stopped sending (see ContractEvaluator)."""

    def check_silence(self, now: datetime, after_s: float = ...) -> Sequence[Violation]: ...


def silence_after_s(config: AgentConfig) -> float:
    """How long after a consumer's last window it counts as silent. A sending consumer's next window closes
    one window length plus the allowed lateness after the last one ended; the margin covers the agent's clock
    tick (1 s) and delivery, so a healthy consumer is never flagged and a silent one is within about a window."""
    evaluated = config.windows[0]  # the evaluator judges windows of the first configured kind
    sizes = [w.size_s for w in config.windows if w.kind is evaluated.kind]
    return max(sizes) + config.allowed_lateness_s + SILENCE_MARGIN_S


class SilenceTicker:
    """Asks a silence checker, on every agent tick, which consumers went quiet for longer than `after_s`."""

    def __init__(self, checker: SilenceChecker, after_s: float) -> None:
        self.checker = checker
        self.after_s = after_s

    def __call__(self, now: datetime) -> None:
        self.checker.check_silence(now, self.after_s)


def silence_tickers(config: AgentConfig, listeners: Sequence[object]) -> list[SilenceTicker]:
    """A clock tick for every listener that can detect silent consumers (the contract evaluator): the agent
    emits no window for a consumer that sends nothing, so only the clock can tell that it stopped."""
    after_s = silence_after_s(config)
    return [SilenceTicker(listener, after_s) for listener in listeners if isinstance(listener, SilenceChecker)]


class QualityListener:
    """The window listener of an agent with a `quality` section: a QualityWatch (evaluator, rules, anomaly
    monitor, diagnoser) over windows of the first configured kind, whose incidents are saved into the store,
    again once an LLM narrative arrives. It is also the silence checker: the evaluator's silent consumers and the
    rules' `missing ... after_s` become violations, rule alerts and an incident."""

    def __init__(self, watch: QualityWatch, store: ObservationStore, window_kind: WindowKind) -> None:
        self.watch = watch
        self.store = store
        self.window_kind = window_kind
        watch.on_incident = self.save
        watch.diagnoser.on_update = self.save
        # The service closes `listener.actions` when the agent stops (see ObservationService._halt).
        self.actions = self

    def __call__(self, window: WindowMetrics) -> None:
        # One stream per metric: windows of other shapes would mix sizes in the detectors' history.
        if window.kind is self.window_kind:
            self.watch(window)

    def save(self, incident: Incident) -> None:
        try:
            self.store.save_incidents([incident])
        except Exception:  # storage trouble must not take the agent (or the narrator thread) down
            logger.exception("saving incident %s failed", incident.incident_id)

    def check_silence(self, now: datetime, after_s: float = 60.0) -> Sequence[Violation]:
        evaluator, rules = self.watch.evaluator, self.watch.rules
        violations = evaluator.check_silence(now, after_s) if evaluator is not None else []
        alerts = rules.check_silence(now) if rules is not None else []
        by_run: dict[tuple[str, str], tuple[list[Violation], list[RuleAlert]]] = {}
        for violation in violations:
            by_run.setdefault((violation.app, violation.run), ([], []))[0].append(violation)
        for alert in alerts:
            by_run.setdefault((alert.app, alert.run), ([], []))[1].append(alert)
        for found, fired in by_run.values():
            incident = self.watch.diagnoser.diagnose(found, (), (), fired)
            if incident is not None:
                self.save(incident)
        return violations

    def close(self, timeout: float = 10.0) -> None:
        """Let queued webhook/gateway actions and LLM narratives finish (within `timeout`), then stop."""
        deadline = time.monotonic() + timeout
        evaluator = self.watch.evaluator
        if evaluator is not None and evaluator.actions is not None:
            evaluator.actions.close(timeout)
        diagnoser: Diagnoser = self.watch.diagnoser
        for incident in diagnoser.incidents():
            diagnoser.wait(incident.incident_id, max(0.0, deadline - time.monotonic()))
        diagnoser.close()


def quality_listener(config: AgentConfig, store: ObservationStore,
                     evaluator: ContractEvaluator | None) -> QualityListener:
    """Tiers 1-3 as the config's `quality` section says, around `evaluator` (None without contracts)."""
    from rohe.quality import DETECTORS, AnomalyMonitor, Diagnoser, QualityWatch, RuleEngine, load_rules, parse_rules

    quality = config.quality
    assert quality is not None
    rules = None
    if isinstance(quality.rules, Path):
        try:
            rules = RuleEngine(load_rules(quality.rules))
        except InvalidInput as exc:
            raise InvalidInput(f"cannot load the quality rules of agent {config.app}/{config.run}", [
                Problem("quality.rules", str(quality.rules), "give a readable rules YAML file (see docs/quality.md)"),
                *exc.problems]) from None
    elif quality.rules is not None:
        rules = RuleEngine(parse_rules({"rules": quality.rules}, "quality.rules"))
    anomalies = None
    if quality.anomaly:
        per_metric: dict[str, dict[str, Callable[[], Detector]]] = {}
        for spec in quality.anomaly:
            make = partial(DETECTORS[spec.detector], **spec.options)
            per_metric.setdefault(spec.metric, {})[spec.detector] = make
        anomalies = AnomalyMonitor(list(per_metric), per_metric=per_metric)
    watch = QualityWatch(evaluator=evaluator, rules=rules, anomalies=anomalies, diagnoser=Diagnoser(quality.llm),
                         context_windows=quality.context_windows)
    return QualityListener(watch, store, config.windows[0].kind)
