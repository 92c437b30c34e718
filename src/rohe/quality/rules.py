"""Tier 1: rules over windowed metric streams, from a small YAML format.

```yaml
rules:
  - name: p99-high
    metric: end_to_end.p99_ms      # any name quality.series understands
    consumer: "*"                  # optional: only this consumer's windows (default: every window)
    when: threshold                # threshold | rate_of_change | missing
    operator: ">"                  # threshold / rate_of_change: fire when value (or change) OP value
    value: 500
    for: 3                         # consecutive windows the condition must hold (default 1)
    severity: warning              # info | warning | critical
  - {name: accuracy-falling, metric: accuracy, when: rate_of_change, operator: "<", value: -0.05, per: window}
  - {name: silent, metric: throughput_rps, when: missing, for: 2, after_s: 60}
```

`rate_of_change` compares with the previous window of the same stream (per window, or per second with
`per: second`). `missing` fires when `for` consecutive windows have no value for the metric, and, through
`check_silence(now)`, when a stream has sent no window at all for `after_s` seconds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rohe.core.contracts import Comparison
from rohe.core.errors import InvalidInput, Problem
from rohe.core.loading import load_document, problems_from_validation
from rohe.observation.evaluation.clauses import compare
from rohe.observation.metrics import WindowMetrics
from rohe.quality.series import MetricReader, metric_reader


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1)
    metric: str = Field(min_length=1)
    consumer: str | None = None
    when: Literal["threshold", "rate_of_change", "missing"] = "threshold"
    operator: Comparison | None = None
    value: float | None = None
    consecutive: int = Field(default=1, ge=1, alias="for")
    per: Literal["window", "second"] = "window"
    after_s: float | None = Field(default=None, gt=0)
    severity: Severity = Severity.WARNING

    @model_validator(mode="after")
    def _complete(self) -> Rule:
        if self.when != "missing" and (self.operator is None or self.value is None):
            raise ValueError(f"a {self.when} rule needs 'operator' and 'value'")
        return self


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[Rule] = Field(min_length=1)


@dataclass(frozen=True)
class RuleAlert:
    rule: str
    severity: Severity
    app: str
    run: str
    consumer: str
    metric: str
    observed: float | None
    window_end: datetime
    message: str


def parse_rules(document: Any, source: str = "<rules>") -> list[Rule]:
    try:
        rules = RuleSet.model_validate(document).rules
    except ValidationError as exc:
        raise InvalidInput(f"invalid rules in {source}", problems_from_validation(exc)) from None
    names = [r.name for r in rules]
    for i, rule in enumerate(rules):
        metric_reader(rule.metric, f"rules[{i}].metric")  # unknown metric names fail at load time
        if names.count(rule.name) > 1:
            raise InvalidInput(f"invalid rules in {source}", [
                Problem(f"rules[{i}].name", f"{rule.name!r} is used twice", "give every rule its own name")])
    return rules


def load_rules(path: Path) -> list[Rule]:
    return parse_rules(load_document(path), str(path))


StreamKey = tuple[str, str, str, str]  # app, run, consumer, rule


@dataclass
class _State:
    streak: int = 0
    previous: tuple[datetime, float] | None = None
    last_end: datetime | None = None
    silent_reported: bool = False


@dataclass
class RuleEngine:
    """Evaluates every rule on every window it is given; also usable as a WindowListener."""

    rules: Sequence[Rule]
    on_alert: Callable[[RuleAlert], None] | None = None
    recent: deque[RuleAlert] = field(default_factory=lambda: deque(maxlen=1000))

    def __post_init__(self) -> None:
        self._readers: dict[str, MetricReader] = {r.name: metric_reader(r.metric) for r in self.rules}
        self._state: dict[StreamKey, _State] = {}

    def __call__(self, window: WindowMetrics) -> None:
        self.observe(window)

    def observe(self, window: WindowMetrics) -> list[RuleAlert]:
        alerts = []
        for rule in self.rules:
            if rule.consumer is not None and rule.consumer != window.consumer:
                continue
            state = self._state.setdefault((window.app, window.run, window.consumer, rule.name), _State())
            alert = self._check(rule, state, window)
            state.last_end, state.silent_reported = window.end, False
            if alert is not None:
                alerts.append(alert)
        self._emit(alerts)
        return alerts

    def _check(self, rule: Rule, state: _State, window: WindowMetrics) -> RuleAlert | None:
        value = self._readers[rule.name](window)
        if rule.when == "missing":
            condition, shown = value is None, None
            detail = f"no value for {rule.metric}"
        elif value is None:
            condition, shown, detail = False, None, ""
        elif rule.when == "threshold":
            assert rule.operator is not None and rule.value is not None
            condition, shown = compare(value, rule.operator, rule.value), value
            detail = f"{rule.metric} = {value:.4g} {rule.operator.value} {rule.value:g}"
        else:
            assert rule.operator is not None and rule.value is not None
            change = None
            if state.previous is not None:
                seconds = (window.end - state.previous[0]).total_seconds()
                delta = value - state.previous[1]
                change = delta / seconds if rule.per == "second" and seconds > 0 else delta
            state.previous = (window.end, value)
            condition = change is not None and compare(change, rule.operator, rule.value)
            shown = change
            detail = f"{rule.metric} changed by {change:+.4g} per {rule.per}" if change is not None else ""
        state.streak = state.streak + 1 if condition else 0
        if state.streak < rule.consecutive:
            return None
        streak = f" for {state.streak} windows" if rule.consecutive > 1 else ""
        return RuleAlert(rule.name, rule.severity, window.app, window.run, window.consumer, rule.metric, shown,
                         window.end, f"{rule.name}: {detail}{streak}")

    def check_silence(self, now: datetime) -> list[RuleAlert]:
        """`missing` rules with `after_s`: streams that sent no window for that long (once per silence)."""
        alerts = []
        by_name = {r.name: r for r in self.rules}
        for (app, run, consumer, name), state in self._state.items():
            rule = by_name[name]
            if rule.when != "missing" or rule.after_s is None or state.last_end is None or state.silent_reported:
                continue
            silent = (now - state.last_end).total_seconds()
            if silent >= rule.after_s:
                state.silent_reported = True
                alerts.append(RuleAlert(name, rule.severity, app, run, consumer, rule.metric, None, now,
                                        f"{name}: no window for {silent:.0f} s (limit {rule.after_s:g} s)"))
        self._emit(alerts)
        return alerts

    def _emit(self, alerts: list[RuleAlert]) -> None:
        self.recent.extend(alerts)
        if self.on_alert is not None:
            for alert in alerts:
                self.on_alert(alert)
