"""What the controller remembers: decision records, the operator's override, and guard state, all in the Store.

A decision record keeps the whole story of one action: what triggered it (a violation, the contract holding
again, idle capacity), the evidence, the remedy chosen and the ones weighed against it, the predicted effect,
and the effect observed one window later. Everything lives in the Store's key/value state (one JSON document
per app run and kind), so it survives a restart and works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from rohe.core.storage import Store
from rohe.observation.site_events import SiteEvent

KEEP = 500  # decision records kept per app run (oldest dropped first)
Status = Literal["applied", "dry-run", "failed", "skipped"]


class Prediction(BaseModel):
    """What a remedy is expected to do, from a RemedyPredictor."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    p99_ms: float | None = None
    accuracy: float | None = None
    cost: float = 0.0
    restores: bool = False
    method: str = ""


class Remedy(BaseModel):
    """One concrete action: `kind` names an action plugin, `target` what it acts on (service, consumer)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    target: str
    params: dict[str, Any] = Field(default_factory=dict)
    reason: str = ""

    @property
    def text(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.kind} {self.target}" + (f" ({shown})" if shown else "")


class Observed(BaseModel):
    """The effect seen in the first window that ended after the action."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_end: datetime
    p99_ms: float | None
    accuracy: float | None
    throughput_rps: float
    holds: bool


class DecisionRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    at: datetime
    app: str
    run: str
    consumer: str
    trigger: str
    violation_id: str | None = None
    window_end: datetime
    evidence: list[str] = Field(default_factory=list)
    action: Remedy
    status: Status
    detail: str = ""
    expected: Prediction | None = None
    alternatives: list[str] = Field(default_factory=list)
    observed: Observed | None = None


class Override(BaseModel):
    """The operator's hand on the loop: `paused` stops all actions; a pinned target is never acted on."""

    model_config = ConfigDict(extra="forbid")

    paused: bool = False
    pins: list[str] = Field(default_factory=list)
    note: str = ""


_records = TypeAdapter(list[DecisionRecord])


def _key(kind: str, app: str, run: str) -> str:
    return f"control/{kind}/{app}/{run}"[:200]


class ControlState:
    """Decision records, override and guard memory of one app run, read from and written to the Store."""

    def __init__(self, store: Store, app: str, run: str = "default") -> None:
        self.store, self.app, self.run = store, app, run

    def decisions(self, consumer: str | None = None, limit: int | None = None) -> list[DecisionRecord]:
        text = self.store.get_state(_key("decisions", self.app, self.run))
        records = _records.validate_json(text) if text else []
        if consumer is not None:
            records = [r for r in records if r.consumer == consumer]
        return records[-limit:] if limit else records

    def save_decisions(self, records: list[DecisionRecord]) -> None:
        self.store.set_state(_key("decisions", self.app, self.run),
                             _records.dump_json(records[-KEEP:]).decode())

    def append(self, new: list[DecisionRecord]) -> None:
        if new:
            self.save_decisions(self.decisions() + new)

    def override(self) -> Override:
        text = self.store.get_state(_key("override", self.app, self.run))
        return Override.model_validate_json(text) if text else Override()

    def set_override(self, override: Override) -> Override:
        self.store.set_state(_key("override", self.app, self.run), override.model_dump_json())
        return override

    def guard(self) -> dict[str, Any]:
        text = self.store.get_state(_key("guard", self.app, self.run))
        loaded: dict[str, Any] = json.loads(text) if text else {}
        return loaded

    def save_guard(self, memory: dict[str, Any]) -> None:
        self.store.set_state(_key("guard", self.app, self.run), json.dumps(memory, sort_keys=True))

    def status(self) -> dict[str, Any]:
        """Override, ensemble policy the controller set, and the conditions of its last pass per consumer."""
        memory = self.guard()
        return {"app": self.app, "run": self.run, "override": self.override().model_dump(),
                "policy": memory.get("policy", {}), **memory.get("status", {})}

    def pause(self, paused: bool, note: str = "") -> Override:
        return self.set_override(self.override().model_copy(update={"paused": paused, "note": note}))

    def pin(self, target: str, pinned: bool) -> Override:
        current = self.override()
        pins = sorted({*current.pins, target} if pinned else set(current.pins) - {target})
        return self.set_override(current.model_copy(update={"pins": pins}))


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def decision_events(state: ControlState) -> list[SiteEvent]:
    """The app run's decision records as site events for an edge site's outbox (rohe.edge.outbox): one when the
    action is taken, one more when its effect is observed (a record gains `observed` one window later)."""
    events = []
    for record in state.decisions():
        payload = record.model_dump(mode="json")
        events.append(SiteEvent(event_id=f"decision:{record.decision_id}", kind="decision", app=record.app,
                                run=record.run, occurred_at=utc(record.at), payload=payload))
        if record.observed is not None:
            events.append(SiteEvent(event_id=f"decision-observed:{record.decision_id}", kind="decision-observed",
                                    app=record.app, run=record.run, occurred_at=utc(record.observed.window_end),
                                    payload=payload))
    return events
