"""How long phase 0 may take when a phase-1 rule is waiting."""

from __future__ import annotations

from rohe.serving.dataplane import MemberPrediction
from rohe.serving.pipeline import phase0_deadline
from rohe.serving.scheduling import ExecutionPlan, MemberTask


class _Never:
    def after(self, phase0_predictions: list[MemberPrediction]) -> list[str]:
        return []


def test_without_a_phase_one_rule_phase_zero_has_the_whole_budget() -> None:
    plan = ExecutionPlan("x", (MemberTask("a", "n", 10.0),))
    assert phase0_deadline(plan, 100) == 100


def test_with_a_rule_phase_zero_keeps_time_for_the_escalation() -> None:
    short = ExecutionPlan("x", (MemberTask("a", "n", 10.0),), _Never())
    assert phase0_deadline(short, 100) == 50  # half the budget when the members need less
    long = ExecutionPlan("x", (MemberTask("a", "n", 70.0),), _Never())
    assert phase0_deadline(long, 100) == 70  # the members' own budget when they need more
    assert phase0_deadline(ExecutionPlan("x", (MemberTask("a", "n", 170.0),), _Never()), 100) == 100
