"""Guard rails of the controller: cool-down under an oscillating load (property), hysteresis, budget cap,
dry run, operator pause and pin, back-off after a failed action, and state that survives a restart."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rohe.control import ControlState, Override

from .world import WINDOW_S, World, hot_fast, saturated, window, world

HOT = {"models": hot_fast(150), "resources": saturated("svc-fast", "small-1"), "p99": 600.0}
CALM = {"models": hot_fast(20), "p99": 40.0}


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'rohe.db'}"


def _run(w: World, pattern: list[bool], cooldown_s: float, dry_run: bool = True) -> list[float]:
    controller = w.controller(dry_run=dry_run, cooldown_s=cooldown_s, act_after=1, relax_after=1)
    acted: list[float] = []
    for i, hot in enumerate(pattern):
        w.feed(window(i, rps=150 if hot else 20, **(HOT if hot else CALM)))
        acted += [r.at.timestamp() for r in controller.reconcile()]
    return acted


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pattern=st.lists(st.booleans(), min_size=4, max_size=14), cooldown_windows=st.integers(1, 4))
def test_oscillating_load_gets_at_most_one_action_per_cooldown(tmp_path: Path, pattern: list[bool],
                                                               cooldown_windows: int) -> None:
    cooldown_s = cooldown_windows * WINDOW_S
    with world(f"sqlite:///{tmp_path / (uuid.uuid4().hex + '.db')}", fast_replicas=3,
               contract_overrides={"models": ["fast"]}) as w:
        acted = _run(w, pattern, cooldown_s)
    assert all(later - earlier >= cooldown_s for earlier, later in itertools.pairwise(acted)), acted


def test_flapping_every_window_never_acts_with_hysteresis(tmp_path: Path) -> None:
    with world(_url(tmp_path), fast_replicas=3, contract_overrides={"models": ["fast"]}) as w:
        controller = w.controller(cooldown_s=0.0, act_after=2, relax_after=2)
        for i in range(10):
            w.feed(window(i, rps=150 if i % 2 else 20, **(HOT if i % 2 else CALM)))
            assert controller.reconcile() == []
        conditions = controller.status()["consumers"]["c1"]
        assert any(c["type"] == "Hysteresis" for c in conditions)


def test_cooldown_blocks_a_second_action_and_says_so(tmp_path: Path) -> None:
    with world(_url(tmp_path), contract_overrides={"models": ["fast"]}) as w:
        controller = w.controller(cooldown_s=60.0)
        for i in range(2):
            w.feed(window(i, rps=150, **HOT))
        assert len(controller.reconcile()) == 1
        w.feed(window(2, rps=400, models=hot_fast(400), resources=saturated("svc-fast", "small-2"), p99=900.0))
        assert controller.reconcile() == []
        [cooling] = [c for c in controller.status()["consumers"]["c1"] if c["type"] == "CoolingDown"]
        assert "cool-down 60 s" in cooling["message"]


def test_remedies_over_the_contract_cost_ceiling_are_never_chosen(tmp_path: Path) -> None:
    cheap = {"models": ["fast"], "constraints": [{"metric": "cost", "aggregate": "sum", "max": 2.0}]}
    with world(_url(tmp_path), contract_overrides=cheap) as w:
        controller = w.controller()
        for i in range(2):
            w.feed(window(i, rps=150, **HOT))
        [record] = controller.reconcile()  # scaling to 3 replicas costs 3 > 2: the in-budget fallback is taken
        assert record.action.kind == "degrade"
        assert any("exceeds the contract's ceiling 2" in line and line.startswith("scale-out")
                   for line in record.alternatives)
        assert w.replicas("svc-fast") == 1


def test_dry_run_records_what_it_would_do_and_changes_nothing(tmp_path: Path) -> None:
    with world(_url(tmp_path), contract_overrides={"models": ["fast"]}) as w:
        controller = w.controller(dry_run=True)
        for i in range(2):
            w.feed(window(i, rps=150, **HOT))
        [record] = controller.reconcile()
        assert record.status == "dry-run" and record.action.kind == "scale-out"
        assert w.replicas("svc-fast") == 1 and w.recorder.bodies == []
        assert controller.status()["dry_run"] is True


def test_pause_stops_every_action_and_resume_lets_it_act(tmp_path: Path) -> None:
    with world(_url(tmp_path), contract_overrides={"models": ["fast"]}) as w:
        controller = w.controller()
        controller.state.set_override(Override(paused=True, note="maintenance"))
        for i in range(2):
            w.feed(window(i, rps=150, **HOT))
        assert controller.reconcile() == []
        assert any(c["type"] == "Paused" and c["message"] == "maintenance"
                   for c in controller.status()["consumers"]["c1"])
        controller.state.set_override(Override(paused=False))
        assert [r.action.kind for r in controller.reconcile()] == ["scale-out"]


def test_a_pinned_service_is_left_alone(tmp_path: Path) -> None:
    with world(_url(tmp_path), contract_overrides={"models": ["fast"]}) as w:
        controller = w.controller()
        controller.state.set_override(Override(pins=["svc-fast"]))
        for i in range(2):
            w.feed(window(i, rps=150, **HOT))
        records = controller.reconcile()
        assert all(r.action.target != "svc-fast" for r in records)
        assert w.replicas("svc-fast") == 1


def test_failed_action_is_recorded_and_backed_off(tmp_path: Path) -> None:
    with world(_url(tmp_path)) as w:
        controller = w.controller(cooldown_s=0.0, gateway_url="http://127.0.0.1:9")  # nothing listens on port 9
        quiet = {"fast": hot_fast(50)["fast"].model_copy(update={"latency": None}),
                 "accurate": hot_fast(50)["fast"].model_copy(update={"latency": None})}
        for i in range(2):
            w.feed(window(i, p99=400.0, models=quiet))
        [failed] = controller.reconcile()
        assert failed.status == "failed" and "gateway unreachable" in failed.detail
        w.feed(window(2, p99=400.0, models=quiet))
        assert controller.reconcile() == []
        [backing] = [c for c in controller.status()["consumers"]["c1"] if c["type"] == "BackingOff"]
        assert "1 failed action" in backing["message"]


def test_records_override_and_guard_survive_a_restart(store_url: str, tmp_path: Path) -> None:
    with world(store_url, contract_overrides={"models": ["fast"]}) as w:
        first = w.controller(cooldown_s=60.0)
        for i in range(2):
            w.feed(window(i, rps=150, **HOT))
        [record] = first.reconcile()
        first.state.set_override(Override(pins=["svc-accurate"]))
        again = w.controller(cooldown_s=60.0)  # a new process: nothing but the store carries over
        assert [r.decision_id for r in again.state.decisions()] == [record.decision_id]
        assert again.state.override().pins == ["svc-accurate"]
        w.feed(window(2, rps=150, **HOT))
        assert again.reconcile() == []  # the cool-down started before the restart still holds
        assert ControlState(w.store, "vision", "r1").decisions()[0].observed is not None
