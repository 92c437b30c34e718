"""Malformed input counted, never dropped in silence: every skipped or doubtful row is tallied by reason.

A reader that meets a bad row adds it here (file, line, reason) and carries on; the figures and the CLI print
the tally, and the first few examples of each reason, next to the numbers they did not enter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EXAMPLES_PER_REASON = 3


@dataclass
class Issues:
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, where: str) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < EXAMPLES_PER_REASON:
            shown.append(where)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, object]:
        return {"total": self.total, "counts": dict(sorted(self.counts.items())), "examples": self.examples}
