"""What an agent saves to resume after a restart or a crash, and how it is read back.

The state holds the horizons (windows ending at or before them are final and stored) and the watermark. An agent
over a durable transport also saves every report of its open windows, and acknowledges messages only after such a
save (a checkpoint), so a killed agent's successor restores the open windows whole. Otherwise only the ids of
those reports are saved, so a resent report is not counted twice.

A watermark beyond what the agent accepts (its clock plus `max_future_s`), left by a version that took reports
from a wrong clock, is replaced on restore by the watermark the agent's own clock gives.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rohe.observation.reports import Report

STATE_VERSION = 1


@dataclass(frozen=True)
class RestoredState:
    horizons: dict[str, int | None]
    max_seen: int | None
    report_ids: list[uuid.UUID]  # reports already counted: the de-duplicator must know them
    open_reports: list[Report]  # from a checkpoint: to put back into the open windows


def encode_state(max_seen: int | None, horizons: Mapping[str, int | None], *,
                 open_reports: Iterable[Report] | None = None, open_ids: list[str] | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {"version": STATE_VERSION, "max_seen_us": max_seen, "horizons": dict(horizons)}
    if open_reports is not None:
        state["open_reports"] = [r.model_dump(mode="json", exclude_none=True) for r in open_reports]
    if open_ids is not None:
        state["open_report_ids"] = open_ids
    return state


def restore_state(state: Mapping[str, Any] | None, now_us: int, max_future_us: int,
                  lateness_us: int) -> RestoredState | None:
    """The saved state, bounded by the agent's clock; None when there is none (or of another version)."""
    if not state or state.get("version") != STATE_VERSION:
        return None

    def bounded(value: Any) -> int | None:
        if value is None:
            return None
        return int(value) if int(value) <= now_us + max_future_us else now_us - lateness_us

    horizons = {key: bounded(value) for key, value in (state.get("horizons") or {}).items()}
    reports = [Report.model_validate(body) for body in state.get("open_reports", [])]
    ids = [uuid.UUID(i) for i in dict.fromkeys(state.get("open_report_ids", []))]
    return RestoredState(horizons, bounded(state.get("max_seen_us")), ids + [r.report_id for r in reports], reports)
