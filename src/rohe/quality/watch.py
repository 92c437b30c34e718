"""One window listener for all three tiers: contract evaluation, rules and anomaly detection feed one incident
per window that raised any signal, diagnosed (and, with an LLM configured, narrated in the background)."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from rohe.observation.evaluation.evaluator import ContractEvaluator
from rohe.observation.metrics import WindowMetrics
from rohe.quality.anomaly import AnomalyMonitor
from rohe.quality.diagnosis import Incident
from rohe.quality.narrator import Diagnoser
from rohe.quality.rules import RuleEngine

logger = logging.getLogger(__name__)


@dataclass
class QualityWatch:
    evaluator: ContractEvaluator | None = None
    rules: RuleEngine | None = None
    anomalies: AnomalyMonitor | None = None
    diagnoser: Diagnoser = field(default_factory=Diagnoser)
    context_windows: int = 5  # recent windows of the consumer attached as evidence
    on_incident: Callable[[Incident], None] | None = None
    _recent: dict[tuple[str, str, str], deque[WindowMetrics]] = field(default_factory=dict, init=False, repr=False)

    def __call__(self, window: WindowMetrics) -> None:
        try:
            self.observe(window)
        except Exception:  # a listener must not take the agent down
            logger.exception("quality watch failed on window %s-%s", window.start, window.end)

    def observe(self, window: WindowMetrics) -> Incident | None:
        recent = self._recent.setdefault((window.app, window.run, window.consumer),
                                         deque(maxlen=self.context_windows))
        recent.append(window)
        violations = self.evaluator.evaluate(window) if self.evaluator is not None else []
        if self.evaluator is not None:
            self.evaluator.publish(violations)  # store and act as the evaluator alone would
        alerts = self.rules.observe(window) if self.rules is not None else []
        found = self.anomalies.observe(window) if self.anomalies is not None else []
        incident = self.diagnoser.diagnose(violations, found, list(recent), alerts)
        if incident is not None and self.on_incident is not None:
            self.on_incident(incident)
        return incident
