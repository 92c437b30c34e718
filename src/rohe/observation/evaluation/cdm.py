"""Consumer-defined metrics (ROHE `cdm_definitions`) compiled into window functions over reports.

Grammar (ROHE's, with rohe's reading of it):

* window aggregates: `ratio` (two aggregates: numerator, denominator), `count` (rows matching `filters`),
  `mean` / `sum` / `variance` / `min` / `max` of one per-row value;
* per-row values: `field` (a report field or attribute, parsed as a number), `abs_difference` and
  `difference` (`fields: {predicted: A, actual: B}`).

Rows are requests: one per aggregated request report (`model_id` empty), with the attributes and
`true_class` of a feedback report for the same `request_id` in the window merged in, plus a derived
`correct` ("true"/"false") when the request is labelled. `scope: members` (or `group_by: model`) switches to
one row per member answer. `variance` with `group_by: model` is the disagreement between members: the
variance across the members' values of one request, averaged over requests.

The function returns the metric and its parts (`name.numerator`/`.denominator`, `.sum`/`.count`,
`.sumsq`), so evaluation over a longer span recombines them exactly (see `span.PART_SUFFIXES`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rohe.core.contracts import (
    CDMDefinition,
    ConsumerContract,
    MetricKind,
    miss_rate_definition,
    miss_rate_name,
    rohe_metric_kind,
)
from rohe.core.errors import Conflict, InvalidInput, Problem
from rohe.observation.evaluation.cdm_expressions import derive_rows
from rohe.observation.evaluation.span import COUNT, DENOMINATOR, NUMERATOR, SUM, SUMSQ
from rohe.observation.reports import Report, ReportKind

WindowFunction = Callable[[Sequence[Report]], dict[str, float]]
Row = dict[str, str]
RowValue = Callable[[Row], float | None]

REQUESTS, MEMBERS = "requests", "members"
_AGGREGATES = ("ratio", "count", "mean", "sum", "variance", "min", "max")
_VALUES = ("field", "abs_difference", "difference")


@dataclass(frozen=True)
class Rows:
    requests: list[Row]
    members: list[Row]

    def of(self, scope: str) -> list[Row]:
        return self.members if scope == MEMBERS else self.requests


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _row(report: Report, feedback: Report | None) -> Row:
    row: Row = {}
    for key in ("app", "run", "consumer", "service", "node", "request_id", "model_id", "predicted_class",
                "confidence", "end_to_end_ms", "cost"):
        value = getattr(report, key)
        if value is not None:
            row[key] = str(value)
    row["kind"] = report.kind.value
    if report.status is not None:
        row["status"] = report.status.value
    if report.model_id is not None:
        row["model"] = report.model_id
    row["members"] = str(len(report.members))
    row["late"] = str(len(report.late))
    for stage, ms in report.stage_latency_ms.items():
        row[f"stage.{stage}"] = str(ms)
    if feedback is not None:
        row.update(feedback.attributes)
        row["true_class"] = str(feedback.true_class)
    row.update(report.attributes)  # the request's own labels win over the feedback's
    if "true_class" in row and report.predicted_class is not None:
        row.setdefault("correct", _flag(report.predicted_class == row["true_class"]))
    return row


def report_rows(reports: Sequence[Report]) -> Rows:
    """Requests and member answers of a window, joined with the feedback that arrived in it."""
    feedback = {r.request_id: r for r in reports if r.kind is ReportKind.FEEDBACK and r.request_id is not None}
    requests: list[Row] = []
    members: list[Row] = []
    for report in reports:
        if report.kind is not ReportKind.REQUEST:
            continue
        row = _row(report, feedback.get(report.request_id) if report.request_id else None)
        (requests if report.model_id is None else members).append(row)
    return Rows(*derive_rows(requests, members))  # an application's own vocabulary (cdm_expressions.py)


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _normalised(value: Any) -> str:
    if isinstance(value, bool):
        return _flag(value)
    return str(value).strip().lower()


def _matcher(filters: Any, where: str) -> Callable[[Row], bool]:
    if filters is None:
        return lambda row: True
    if not isinstance(filters, Mapping):
        raise InvalidInput("malformed metric expression",
                           [Problem(f"{where}.filters", "expected a mapping of field: value", "e.g. correct: 'false'")])
    wanted: dict[str, set[str]] = {}
    for key, value in filters.items():
        options = value if isinstance(value, list) else [value]
        wanted[str(key)] = {_normalised(v) for v in options}

    def matches(row: Row) -> bool:
        return all(key in row and row[key].strip().lower() in values for key, values in wanted.items())

    return matches


def _problem(where: str, message: str, hint: str) -> InvalidInput:
    return InvalidInput("malformed metric expression", [Problem(where, message, hint)])


def _operands(node: Mapping[str, Any], where: str, count: int) -> list[Mapping[str, Any]]:
    operands = node.get("operands")
    if not isinstance(operands, (list, tuple)) or len(operands) != count:
        raise _problem(f"{where}.operands", f"'{node.get('type')}' needs exactly {count} operand(s)",
                       "list them under 'operands'")
    for i, operand in enumerate(operands):
        if not isinstance(operand, Mapping):
            raise _problem(f"{where}.operands[{i}]", "expected a mapping with a 'type'", "")
    return list(operands)


def _value(node: Mapping[str, Any], where: str) -> tuple[RowValue, str, bool]:
    """A per-row number, the scope its rows come from, and whether it is grouped by model."""
    kind = node.get("type")
    grouped = node.get("group_by") in ("model", "model_id")
    scope = MEMBERS if grouped or node.get("scope") == MEMBERS else REQUESTS
    if kind == "field":
        field = node.get("field")
        if not isinstance(field, str) or not field:
            raise _problem(f"{where}.field", "missing", "name a report field or attribute")
        return (lambda row: _number(row.get(field))), scope, grouped
    if kind in ("abs_difference", "difference"):
        fields = node.get("fields")
        if not isinstance(fields, Mapping) or not {"predicted", "actual"} <= set(fields):
            raise _problem(f"{where}.fields", "needs 'predicted' and 'actual'", "name the two fields to subtract")
        predicted, actual, absolute = str(fields["predicted"]), str(fields["actual"]), kind == "abs_difference"

        def difference(row: Row) -> float | None:
            a, b = _number(row.get(predicted)), _number(row.get(actual))
            if a is None or b is None:
                return None
            return abs(a - b) if absolute else a - b

        return difference, scope, grouped
    raise _problem(f"{where}.type", f"{kind!r} is not a per-row value", f"use one of: {', '.join(_VALUES)}")


Aggregate = Callable[[Rows], dict[str, float]]  # keys: "" for the value, part suffixes for its parts


def _aggregate(node: Mapping[str, Any], where: str, require: frozenset[str] = frozenset()) -> Aggregate:
    kind = node.get("type")
    if kind == "count":
        matches = _matcher(node.get("filters"), where)
        scope = MEMBERS if node.get("scope") == MEMBERS else REQUESTS
        return lambda rows: {"": float(sum(1 for row in rows.of(scope) if matches(row) and require <= row.keys()))}
    if kind == "ratio":
        first, second = _operands(node, where, 2)
        # The denominator counts only rows where the numerator can be judged: a request whose label
        # (e.g. `correct`) is unknown is neither a hit nor a miss.
        filters = first.get("filters")
        judged = frozenset(str(k) for k in filters) if isinstance(filters, Mapping) else frozenset()
        top = _aggregate(first, f"{where}.operands[0]")
        bottom = _aggregate(second, f"{where}.operands[1]", judged)

        def ratio(rows: Rows) -> dict[str, float]:
            numerator, denominator = top(rows)[""], bottom(rows)[""]
            out = {NUMERATOR: numerator, DENOMINATOR: denominator}
            if denominator > 0:
                out[""] = numerator / denominator
            return out

        return ratio
    if kind in ("mean", "sum", "variance", "min", "max"):
        (operand,) = _operands(node, where, 1)
        value, scope, grouped = _value(operand, f"{where}.operands[0]")
        matches = _matcher(node.get("filters"), where)
        return _statistic(str(kind), value, scope, grouped, matches)
    raise _problem(f"{where}.type", f"unknown expression type {kind!r}",
                   f"use one of: {', '.join(_AGGREGATES)} (per-row values: {', '.join(_VALUES)})")


def _statistic(kind: str, value: RowValue, scope: str, grouped: bool, matches: Callable[[Row], bool]) -> Aggregate:
    def compute(rows: Rows) -> dict[str, float]:
        selected = [row for row in rows.of(scope) if matches(row)]
        if kind == "variance" and grouped:
            per_request: dict[str, list[float]] = {}
            for row in selected:
                number = value(row)
                if number is not None:
                    per_request.setdefault(row.get("request_id", ""), []).append(number)
            values = [_variance(v) for v in per_request.values() if len(v) > 1]
            kind_now = "mean"
        else:
            values = [v for v in (value(row) for row in selected) if v is not None]
            kind_now = kind
        total = sum(values)
        out = {SUM: total, COUNT: float(len(values))}
        if kind_now == "sum":
            return {"": total}
        if kind_now in ("min", "max"):
            return {"": (min if kind_now == "min" else max)(values)} if values else {}
        if values:
            out[""] = total / len(values) if kind_now == "mean" else _variance(values)
        if kind_now == "variance":
            out[SUMSQ] = sum(v * v for v in values)
        return out

    return compute


def _variance(values: Sequence[float]) -> float:
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


def compile_definition(name: str, expression: Mapping[str, Any], where: str | None = None) -> Aggregate:
    """Check and compile one expression; InvalidInput names the faulty field under `where`."""
    location = where if where is not None else f"cdm_definitions.{name}.expression"
    if not isinstance(expression, Mapping):
        raise _problem(location, "expected a mapping with 'type' and 'operands'", "")
    return _aggregate(expression, location)


def _compiled(definitions: Mapping[str, CDMDefinition | Mapping[str, Any]]) -> dict[str, Aggregate]:
    compiled: dict[str, Aggregate] = {}
    for name, definition in definitions.items():
        expression = (definition.expression.model_dump() if isinstance(definition, CDMDefinition)
                      else definition.get("expression", definition))
        compiled[name] = compile_definition(name, expression)
    return compiled


def cdm_window_function(definitions: Mapping[str, CDMDefinition | Mapping[str, Any]]) -> WindowFunction:
    """One window function computing every definition and its parts (`name`, `name.numerator`, ...)."""
    compiled = _compiled(definitions)

    def window_function(reports: Sequence[Report]) -> dict[str, float]:
        rows = report_rows(reports)
        return {name + suffix: value
                for name, aggregate in compiled.items() for suffix, value in aggregate(rows).items()}

    return window_function


def metric_window_function(name: str, definition: CDMDefinition | Mapping[str, Any]) -> WindowFunction:
    """A window function for one metric in the agent's naming: it returns `{name: value, "numerator": ...}`,
    which the agent stores as `custom[name]` and `custom["name.numerator"]`."""
    aggregate = _compiled({name: definition})[name]

    def window_function(reports: Sequence[Report]) -> dict[str, float]:
        return {(suffix.lstrip(".") or name): value for suffix, value in aggregate(report_rows(reports)).items()}

    return window_function


def _confusion_miss_rates(contract: ConsumerContract) -> dict[str, CDMDefinition]:
    """ROHE's "miss rate of class A as B" metrics the contract checks: not window fields, so computed here."""
    wanted: list[tuple[int, ...]] = [c.classes for c in contract.constraints
                                     if c.metric is MetricKind.MISS_RATE and len(c.classes) > 1]
    if contract.slo is not None:
        for name in contract.slo.quality_slo.builtin_metrics:
            recognised = rohe_metric_kind(name)
            if recognised is not None and recognised[0] is MetricKind.MISS_RATE and len(recognised[1]) > 1:
                wanted.append(recognised[1])
    return {miss_rate_name(classes): miss_rate_definition(classes) for classes in wanted}


def contract_window_functions(contracts: Iterable[ConsumerContract]) -> dict[str, WindowFunction]:
    """The window functions (metric name -> function) the agent must run for these contracts' consumer-defined
    metrics and ROHE-style "miss rate of class A as B" clauses. Two contracts defining the same metric name
    differently would overwrite each other's values, so that is a Conflict."""
    seen: dict[str, tuple[str, CDMDefinition]] = {}
    out: dict[str, WindowFunction] = {}
    for contract in contracts:
        definitions = dict(contract.slo.cdm_definitions) if contract.slo is not None else {}
        for name, definition in _confusion_miss_rates(contract).items():
            definitions.setdefault(name, definition)
        for name, definition in definitions.items():
            if name in seen and seen[name][1] != definition:
                raise Conflict("two contracts define the same metric differently", [
                    Problem(f"cdm_definitions.{name}", f"defined by {seen[name][0]} and {contract.consumer}",
                            "rename one of them")])
            seen[name] = (contract.consumer, definition)
            out[name] = metric_window_function(name, definition)
    return out
