"""Derived row fields: the vocabulary a consumer-defined metric names that the gateway's reports do not carry.

ROHE's published contracts define metrics over domain fields (`energy_forecast_kwh`, `detection_correct`,
`modality: video`, ...), while a gateway reports class ids, confidences, members and modalities. A
`RowDerivation` fills the gap for one application: before a window's metrics are computed, it adds fields
to the request and member rows (cdm.report_rows) and may add rows. Derivations are per application (the
rows' `app`), so one application's vocabulary never changes another's metrics.

Derivations are code, so only the operator chooses them: `register_derivation` from an installed package
(the example applications register theirs when imported), or the `rohe.cdm_derivations` entry-point group
(name = application, value = a zero-argument callable returning the derivation), loaded on first use.

The kinds:
- `ClassValues`: a class id stands for a number (e.g. an energy bin's centre): `predicted` field =
  offset + step * predicted_class, `actual` field = offset + step * true_class, on request and member rows.
  The values are exact to the class resolution (one bin) - the wire carries classes, not numbers.
- `Detections`: a request whose class is not `background` is a detection; it gets `detection_correct`
  (its class is the true class) and `is_false_positive` (the truth is background) once it is labelled.
  Requests answered `background` are not detections and get neither field.
- `ModalityRows`: each request gets `is_multimodal` (members of two or more modalities answered) and, when
  multimodal, `modalities_agree` (every modality's confidence-weighted vote picks the same class); and one
  extra request-scope row per answering modality with `modality`, its voted `predicted_class` and, when
  labelled, `true_class` and `correct`. Those extra rows carry no other request field, so a metric that
  counts requests without a filter on `modality` would count them too: register it only for applications
  whose metrics filter (as ROHE's smart_building contract does).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from threading import RLock
from typing import Protocol, runtime_checkable

log = logging.getLogger(__name__)
Row = dict[str, str]
ENTRY_POINT_GROUP = "rohe.cdm_derivations"


@runtime_checkable
class RowDerivation(Protocol):
    def derive(self, requests: list[Row], members: list[Row]) -> tuple[list[Row], list[Row]]: ...


_registry: dict[str, RowDerivation] = {}
_entry_points_loaded = False
# Re-entrant: an entry point loaded under the lock may be a module that registers its derivation on import.
_lock = RLock()


def register_derivation(application: str, derivation: RowDerivation) -> None:
    """Use `derivation` for the rows of `application` (replacing any before it)."""
    with _lock:
        _registry[application] = derivation


def unregister_derivation(application: str) -> None:
    with _lock:
        _registry.pop(application, None)


def _load_entry_points() -> None:
    global _entry_points_loaded
    with _lock:
        if _entry_points_loaded:
            return
        _entry_points_loaded = True
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            try:
                factory: Callable[[], RowDerivation] = entry.load()
                _registry.setdefault(entry.name, factory())
            except Exception:  # a broken plug-in must not stop every application's metrics
                log.exception("row derivation %s (%s) failed to load; its fields stay underived", entry.name,
                              entry.value)


def derivation_for(application: str) -> RowDerivation | None:
    _load_entry_points()
    with _lock:
        return _registry.get(application)


def derive_rows(requests: list[Row], members: list[Row]) -> tuple[list[Row], list[Row]]:
    """Apply each application's derivation to its own rows; rows of other applications pass unchanged."""
    apps = {row.get("app", "") for row in (*requests, *members)}
    derivations = {app: d for app in apps if (d := derivation_for(app)) is not None}
    if not derivations:
        return requests, members
    out_requests = [r for r in requests if r.get("app", "") not in derivations]
    out_members = [m for m in members if m.get("app", "") not in derivations]
    for app, derivation in sorted(derivations.items()):
        mine_r = [r for r in requests if r.get("app", "") == app]
        mine_m = [m for m in members if m.get("app", "") == app]
        derived_r, derived_m = derivation.derive(mine_r, mine_m)
        out_requests.extend(derived_r)
        out_members.extend(derived_m)
    return out_requests, out_members


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _flag(value: bool) -> str:
    return "true" if value else "false"


@dataclass(frozen=True)
class ClassValues:
    predicted: str
    actual: str
    offset: float
    step: float

    def _value(self, class_id: int | None) -> str | None:
        return None if class_id is None else repr(self.offset + self.step * class_id)

    def derive(self, requests: list[Row], members: list[Row]) -> tuple[list[Row], list[Row]]:
        for row in (*requests, *members):
            for field, source in ((self.predicted, "predicted_class"), (self.actual, "true_class")):
                value = self._value(_int(row.get(source)))
                if value is not None:
                    row.setdefault(field, value)
        return requests, members


@dataclass(frozen=True)
class Detections:
    background: int = 0

    def derive(self, requests: list[Row], members: list[Row]) -> tuple[list[Row], list[Row]]:
        for row in requests:
            predicted, truth = _int(row.get("predicted_class")), _int(row.get("true_class"))
            if predicted is None or truth is None or predicted == self.background:
                continue
            row.setdefault("detection_correct", _flag(predicted == truth))
            row.setdefault("is_false_positive", _flag(truth == self.background))
        return requests, members


def _vote(answers: Sequence[Row]) -> int | None:
    """Confidence-weighted vote of member answers; ties go to the lower class id."""
    score: dict[int, list[float]] = {}
    for answer in answers:
        predicted = _int(answer.get("predicted_class"))
        if predicted is None:
            continue
        try:
            confidence = float(answer.get("confidence", "1"))
        except ValueError:
            confidence = 1.0
        score.setdefault(predicted, []).append(confidence if math.isfinite(confidence) else 1.0)
    if not score:
        return None
    return min(score, key=lambda c: (-math.fsum(score[c]), c))


@dataclass(frozen=True)
class ModalityRows:
    def derive(self, requests: list[Row], members: list[Row]) -> tuple[list[Row], list[Row]]:
        answers: dict[str, dict[str, list[Row]]] = {}
        for member in members:
            if member.get("status") == "ok" and "modality" in member:
                answers.setdefault(member.get("request_id", ""), {}).setdefault(member["modality"], []).append(member)
        extra: list[Row] = []
        for row in requests:
            by_modality = answers.get(row.get("request_id", ""), {})
            votes = {modality: _vote(rows) for modality, rows in sorted(by_modality.items())}
            votes = {m: v for m, v in votes.items() if v is not None}
            row.setdefault("is_multimodal", _flag(len(votes) >= 2))
            if len(votes) >= 2:
                row.setdefault("modalities_agree", _flag(len(set(votes.values())) == 1))
            for modality, vote in votes.items():
                derived: Row = {k: row[k] for k in ("app", "run", "consumer", "request_id", "kind") if k in row}
                derived.update({"modality": modality, "predicted_class": str(vote), "derived": "modality"})
                if "true_class" in row:
                    derived["true_class"] = row["true_class"]
                    derived["correct"] = _flag(str(vote) == row["true_class"])
                extra.append(derived)
        return [*requests, *extra], members
