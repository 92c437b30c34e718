"""ContractEvaluator: the window listener that checks every closed window against its consumer's contract.

Each clause is evaluated over its own span (`window: 5m`) by combining the consumer's recent windows; a broken
clause becomes a `Violation` with ranked causes, is saved to the violation sink and handed to the action
dispatcher. Listener calls never raise into the agent: storage and action failures are logged.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol

from rohe.core.contracts import ConsumerContract, load_contract
from rohe.core.errors import Conflict, Problem
from rohe.core.profiles.catalog import ProfileCatalog
from rohe.observation.evaluation.actions import ActionDispatcher
from rohe.observation.evaluation.clauses import Clause, Family, clauses_for
from rohe.observation.evaluation.explain import explain
from rohe.observation.evaluation.span import combine_windows, select_span
from rohe.observation.metrics import ALL_CONSUMERS, WindowKind, WindowMetrics
from rohe.observation.violations import Violation

logger = logging.getLogger(__name__)

StreamKey = tuple[str, str, str, WindowKind]
_VIOLATION_NAMESPACE = uuid.UUID("0b6f5d1e-3c2a-4e8f-9d7b-2a4c6e8f0a1b")


class ViolationSink(Protocol):
    def save_violations(self, violations: Sequence[Violation]) -> None: ...


def load_contracts(paths: Sequence[Path]) -> dict[str, ConsumerContract]:
    """Contracts keyed by the consumer they bind to (a ROHE application contract binds to its contract_id)."""
    out: dict[str, ConsumerContract] = {}
    for path in paths:
        contract = load_contract(Path(path))
        if contract.consumer in out:
            problem = Problem(str(path), f"consumer {contract.consumer!r} already has a contract",
                              "keep one file per consumer")
            raise Conflict("two contracts for one consumer", [problem])
        out[contract.consumer] = contract
    return out


class ContractEvaluator:
    """A WindowListener. Contracts are keyed by consumer name; a contract keyed `*` judges the all-consumer window."""

    def __init__(
        self,
        contracts: Mapping[str, ConsumerContract] | Sequence[ConsumerContract],
        sink: ViolationSink | None = None,
        profiles: ProfileCatalog | None = None,
        actions: ActionDispatcher | None = None,
        *,
        capacity: Mapping[str, float] | None = None,
        missing_data: Literal["violation", "ignore"] = "violation",
        window_kind: WindowKind | None = None,
        keep: int = 1000,
    ) -> None:
        keyed = contracts if isinstance(contracts, Mapping) else {c.consumer: c for c in contracts}
        self.clauses: dict[str, list[Clause]] = {consumer: clauses_for(c) for consumer, c in keyed.items()}
        self.sink = sink
        self.profiles = profiles
        self.actions = actions
        self.capacity = dict(capacity or {})
        self.missing_data = missing_data
        self.window_kind = window_kind
        self.recent: deque[Violation] = deque(maxlen=keep)
        self.evaluated = 0
        self._history: dict[StreamKey, list[WindowMetrics]] = {}
        self._first_start: dict[StreamKey, datetime] = {}
        self._silent: set[StreamKey] = set()
        self._horizon_s = {consumer: max([c.window_s for c in cs] + [0.0]) for consumer, cs in self.clauses.items()}

    @classmethod
    def from_paths(cls, paths: Sequence[Path], **kwargs: object) -> ContractEvaluator:
        return cls(load_contracts(paths), **kwargs)  # type: ignore[arg-type]

    # -- WindowListener -------------------------------------------------------------------------------
    def __call__(self, window: WindowMetrics) -> None:
        try:
            violations = self.evaluate(window)
        except Exception:  # a bug here must not take the agent down; it is logged with its traceback
            logger.exception("contract evaluation failed for window %s-%s", window.start, window.end)
            return
        self.publish(violations)

    def publish(self, violations: Sequence[Violation]) -> None:
        if not violations:
            return
        self.recent.extend(violations)
        if self.sink is not None:
            try:
                self.sink.save_violations(violations)
            except Exception:
                logger.exception("saving %d violations failed", len(violations))
        if self.actions is not None:
            for violation in violations:
                self.actions.dispatch(violation)

    # -- evaluation -----------------------------------------------------------------------------------
    def evaluate(self, window: WindowMetrics) -> list[Violation]:
        """Violations of `window`'s consumer contract, judged over each clause's span ending with this window."""
        clauses = self.clauses.get(window.consumer)
        if not clauses or (self.window_kind is not None and window.kind is not self.window_kind):
            return []
        key: StreamKey = (window.app, window.run, window.consumer, window.kind)
        history = self._remember(key, window)
        self.evaluated += 1
        spans: dict[float, tuple[WindowMetrics, int]] = {}
        violations = []
        idle = False
        for clause in clauses:
            if clause.window_s not in spans:
                spans[clause.window_s] = self._span(key, history, window, clause.window_s)
            span, count = spans[clause.window_s]
            observed = clause.metric.extract(span)
            if span.requests == 0 and clause.metric.family is not Family.THROUGHPUT:
                # An idle span is one violation (throughput), not one per clause whose metric has no data.
                idle = True
                continue
            if observed is None and self.missing_data == "ignore":
                continue
            if observed is not None and clause.holds(observed):
                continue
            violations.append(self._violation(window, clause, span, observed, count))
        if idle and not any(c.metric.family is Family.THROUGHPUT for c in clauses) and self.missing_data == "violation":
            first = clauses[0]
            span, count = spans[first.window_s]
            violations.append(self._violation(window, first, span, None, count))
        return violations

    def _violation(self, window: WindowMetrics, clause: Clause, span: WindowMetrics, observed: float | None,
                   count: int) -> Violation:
        causes, sentence = explain(clause, span, observed, count, self.profiles, self.capacity)
        # The id is derived from what was judged, so a window the agent re-emits (restart, late flush) yields
        # the same violation and the store's idempotent insert keeps one.
        identity = "|".join((window.app, window.run, window.consumer, window.kind.value, clause.text,
                             span.start.isoformat(), span.end.isoformat()))
        return Violation(
            violation_id=uuid.uuid5(_VIOLATION_NAMESPACE, identity), app=window.app, run=window.run,
            consumer=window.consumer, clause=clause.text,
            metric=clause.metric.label, operator=clause.operator.value, threshold=clause.threshold,
            observed=observed, window_start=span.start, window_end=span.end, action=clause.action,
            causes=causes, explanation=sentence,
        )

    def _span(self, key: StreamKey, history: list[WindowMetrics], window: WindowMetrics,
              span_s: float) -> tuple[WindowMetrics, int]:
        if span_s <= window.seconds:
            return window, 1
        chosen = select_span(history, window, span_s)
        start = max(window.end - timedelta(seconds=span_s), self._first_start[key])
        return combine_windows(chosen, start=start), len(chosen)

    def _remember(self, key: StreamKey, window: WindowMetrics) -> list[WindowMetrics]:
        history = [w for w in self._history.get(key, []) if (w.start, w.end) != (window.start, window.end)]
        history.append(window)
        history.sort(key=lambda w: w.end)
        keep_from = history[-1].end - timedelta(seconds=self._horizon_s.get(window.consumer, 0.0) + window.seconds)
        history = [w for w in history if w.end > keep_from]
        self._history[key] = history
        self._silent.discard(key)
        first = self._first_start.get(key)
        self._first_start[key] = window.start if first is None else min(first, window.start)
        return history

    def check_silence(self, now: datetime, after_s: float = 60.0) -> list[Violation]:
        """Throughput violations for consumers whose windows stopped coming (the agent emits no window without
        reports, so silence is only visible by the clock). Once per silent stretch; call it periodically."""
        found = []
        for key, history in self._history.items():
            consumer, latest = key[2], history[-1]
            silent = (now - latest.end).total_seconds()
            if silent < after_s or key in self._silent:
                continue
            clause = next((c for c in self.clauses[consumer] if c.metric.family is Family.THROUGHPUT), None)
            if clause is None:
                continue
            self._silent.add(key)
            empty = WindowMetrics(app=latest.app, run=latest.run, consumer=consumer, kind=latest.kind,
                                  start=latest.end, end=now, requests=0, throughput_rps=0.0)
            found.append(self._violation(empty, clause, empty, 0.0, 0))
        self.publish(found)
        return found

    def consumers(self) -> list[str]:
        return sorted(self.clauses)

    def judges_all_consumers(self) -> bool:
        return ALL_CONSUMERS in self.clauses
