"""Invariants every scheduler keeps on random catalogs, contracts and deadlines."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scheduling_cases import contract, profile, said

from rohe.core.profiles import ProfileCatalog
from rohe.serving.scheduling import RequestContext, get_scheduler, prepare

NAMES = ["adaptive", "dream", "llf", "single-best", "all-models", "random", "oracle"]


@st.composite
def situations(draw: st.DrawFn) -> tuple[ProfileCatalog, int, int, float, int]:
    count = draw(st.integers(1, 8))
    profiles = []
    for i in range(count):
        p50 = draw(st.floats(0.5, 100))
        p99 = p50 + draw(st.floats(0, 200))
        accuracy = draw(st.floats(0, 1))
        per_class = {c: draw(st.floats(0, 1)) for c in range(3)}
        profiles.append(profile(f"m{i}", p50, p99, accuracy, cost=draw(st.floats(0, 5)), class_accuracy=per_class))
    low = draw(st.integers(1, 4))
    high = draw(st.integers(low, 5))
    remaining = draw(st.floats(1, 400))
    return ProfileCatalog.of(profiles), low, high, remaining, draw(st.integers(0, 2))


@settings(max_examples=60, deadline=None)
@given(situations(), st.sampled_from(NAMES), st.integers(0, 2**16))
def test_plans_respect_size_deadline_and_budget(
    case: tuple[ProfileCatalog, int, int, float, int], name: str, seed: int
) -> None:
    catalog, low, high, remaining, truth = case
    consumer = prepare(contract(low, high), catalog)
    ctx = RequestContext(consumer, remaining, np.random.default_rng(seed), ground_truth=truth)
    plan = get_scheduler(name).plan(ctx)
    p99 = {p.model: p.latency_p99_ms or math.inf for p in catalog.profiles}
    assert len(set(plan.members)) == len(plan.members)
    assert math.fsum(t.budget_ms for t in plan.phase0) <= remaining * (1 + 1e-9)
    assert all(t.budget_ms >= 0 for t in plan.phase0)
    if name == "all-models":  # documented: ignores the deadline and the maximum
        assert len(plan.members) == len(catalog.models)
        return
    assert len(plan.members) <= high
    assert all(p99[m] <= remaining for m in plan.members)
    if plan.phase1 is not None:
        votes = [said(plan.members[0], (0.4, 0.35, 0.25))] if plan.members else []
        added = plan.phase1.after(votes)
        assert len(plan.members) + len(added) <= high
        assert not set(added) & set(plan.members)
        assert all(p99[m] <= remaining for m in added)
