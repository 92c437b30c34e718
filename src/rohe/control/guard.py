"""Guard rails between "a remedy looks right" and "act": hysteresis, cool-down, back-off, budget, override.

- hysteresis: a corrective action needs `act_after` violating windows in a row; a relaxing one (restore, scale
  in) `relax_after` healthy windows in a row, so a load that flips every window moves nothing;
- cool-down: at most one action per consumer per `cooldown_s` (dry-run records count too, so a dry run
  shows exactly what a live run would have done);
- back-off: after a failed action the consumer waits `backoff_s * 2^(failures-1)`, at most `backoff_max_s`;
- budget: a remedy whose predicted cost is above the contract's cost ceiling is never chosen;
- override: `paused` stops everything; a pinned target (service or consumer) is never acted on.
The memory (last action, failures) is a plain dict so the controller can persist it across restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rohe.control.records import Override, Prediction, Remedy


@dataclass(frozen=True)
class GuardSettings:
    cooldown_s: float = 60.0
    act_after: int = 2
    relax_after: int = 3
    backoff_s: float = 30.0
    backoff_max_s: float = 600.0


class Guard:
    def __init__(self, settings: GuardSettings, memory: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.memory: dict[str, Any] = memory if memory is not None else {}

    def _entry(self, consumer: str) -> dict[str, Any]:
        entry: dict[str, Any] = self.memory.setdefault(consumer, {"last": None, "failures": 0, "retry_at": None})
        return entry

    def blocked(self, consumer: str, now: float) -> str | None:
        """Why nothing may be done for `consumer` at `now` (seconds), or None."""
        entry = self._entry(consumer)
        if entry["retry_at"] is not None and now < entry["retry_at"]:
            return f"backing off after {entry['failures']} failed action(s) until +{entry['retry_at'] - now:.0f} s"
        if entry["last"] is not None and now - entry["last"] < self.settings.cooldown_s:
            return (f"cooling down: last action {now - entry['last']:.0f} s ago "
                    f"(cool-down {self.settings.cooldown_s:g} s)")
        return None

    def ripe(self, corrective: bool, violated_streak: int, healthy_streak: int) -> bool:
        if corrective:
            return violated_streak >= self.settings.act_after
        return healthy_streak >= self.settings.relax_after

    @staticmethod
    def allowed(remedy: Remedy, prediction: Prediction, override: Override, ceiling: float | None) -> str | None:
        """Why this remedy may not be chosen, or None."""
        pinned = [t for t in remedy.target.split("+") if t in override.pins]
        if pinned:
            return f"{', '.join(pinned)} pinned by the operator"
        if ceiling is not None and prediction.cost > ceiling + 1e-12:
            return f"predicted cost {prediction.cost:.4g} exceeds the contract's ceiling {ceiling:.4g}"
        return None

    def acted(self, consumer: str, now: float, failed: bool) -> None:
        entry = self._entry(consumer)
        entry["last"] = now
        if failed:
            entry["failures"] += 1
            delay = min(self.settings.backoff_max_s, self.settings.backoff_s * 2 ** (entry["failures"] - 1))
            entry["retry_at"] = now + delay
        else:
            entry["failures"], entry["retry_at"] = 0, None
