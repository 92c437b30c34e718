"""Each action path of the controller, end to end over a real store, real contract evaluation and a policy route
on a real port: the violation's ranked causes choose the remedy, the platform changes, the record says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from rohe.control import Actuator, Remedy, actions, register
from rohe.control.actions import unregister
from rohe.control.situation import Situation
from rohe.core.errors import InvalidInput
from rohe.observation.metrics import ModelStats

from .world import WINDOW_S, hot_fast, latency, saturated, window, world


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'rohe.db'}"


def test_saturated_service_is_scaled_out_after_hysteresis_and_the_effect_is_observed(tmp_path: Path) -> None:
    with world(_url(tmp_path), contract_overrides={"models": ["fast"]}) as w:
        controller = w.controller()
        hot = {"models": hot_fast(150), "resources": saturated("svc-fast", "small-1"), "p99": 600.0}
        w.feed(window(0, rps=150, **hot))
        assert controller.reconcile() == []  # one violating window is not enough (act_after=2)
        assert w.replicas("svc-fast") == 1

        w.feed(window(1, rps=150, **hot))
        [record] = controller.reconcile()

        assert record.status == "applied" and record.action.kind == "scale-out"
        assert record.action.target == "svc-fast" and record.action.params["scale"] == {"fast": 3}
        assert record.trigger.startswith("performance") or "p99" in record.trigger or "deadline" in record.trigger
        assert any("svc-fast@small-1" in line for line in record.evidence)
        assert record.expected is not None and record.expected.restores and record.expected.method == "m/m/c"
        placed = [r for r in w.orchestration.replicas(service="svc-fast") if r.node is not None]
        assert len(placed) == 3  # placed at once by the observed-load round
        assert record.observed is None

        w.feed(window(2, rps=150, p99=90.0, models=hot_fast(150)))
        controller.reconcile()
        [stored] = controller.state.decisions()
        assert stored.observed is not None and stored.observed.holds and stored.observed.p99_ms == 90.0


def test_saturated_replica_moves_to_a_faster_node_type_when_that_is_cheaper(tmp_path: Path) -> None:
    with world(_url(tmp_path), big=True, big_cost=1.5, contract_overrides={"models": ["fast"]}) as w:
        controller = w.controller()
        node = w.orchestration.replicas(service="svc-fast")[0].node
        assert node is not None and node.startswith("small")
        hot = {"models": hot_fast(150), "resources": saturated("svc-fast", node), "p99": 600.0}
        w.feed(window(0, rps=150, **hot))
        w.feed(window(1, rps=150, **hot))
        records = controller.reconcile()
        [record] = records
        assert record.action.kind == "move" and record.action.params["node_type"] == "big", record.alternatives
        [replica] = w.orchestration.replicas(service="svc-fast")
        assert replica.node == "big-1"
        assert w.orchestration.get_service("svc-fast").node_selector == {"rohe.io/node-type": "big"}


def test_slow_member_is_dropped_from_the_ensemble_through_the_gateway_policy(tmp_path: Path) -> None:
    with world(_url(tmp_path)) as w:
        controller = w.controller()
        requests = int(50 * WINDOW_S)
        slow = {
            "fast": ModelStats(requests=requests, latency=latency(20), labelled=requests, accuracy=0.9),
            "accurate": ModelStats(requests=requests, latency=latency(450), labelled=requests, accuracy=0.97),
        }
        w.feed(window(0, p99=500.0, models=slow))
        w.feed(window(1, p99=500.0, models=slow))
        [record] = controller.reconcile()

        assert record.action.kind == "reselect" and record.action.params["exclude"] == ["accurate"]
        assert w.recorder.bodies == [{"consumer": "c1", "algorithm": None, "degrade": False, "exclude": ["accurate"]}]
        assert controller.status()["policy"]["c1"] == {"degraded": False, "excluded": ["accurate"]}


def test_accuracy_drop_of_a_model_reselects_without_it(tmp_path: Path) -> None:
    with world(_url(tmp_path)) as w:
        controller = w.controller()
        requests = int(50 * WINDOW_S)
        dropped = {
            "fast": ModelStats(requests=requests, latency=latency(20), labelled=requests, accuracy=0.6),
            "accurate": ModelStats(requests=requests, latency=latency(60), labelled=requests, accuracy=0.97),
        }
        w.feed(window(0, accuracy=0.8, models=dropped))
        w.feed(window(1, accuracy=0.8, models=dropped))
        [record] = controller.reconcile()

        assert record.trigger.startswith("accuracy") or "accuracy" in record.trigger
        assert record.action.kind == "reselect" and record.action.params["exclude"] == ["fast"]
        assert w.recorder.bodies[-1]["exclude"] == ["fast"]


def test_degrade_when_nothing_else_applies_then_restore_after_the_contract_holds(tmp_path: Path) -> None:
    with world(_url(tmp_path)) as w:
        controller = w.controller(cooldown_s=5.0)
        quiet = {"fast": ModelStats(requests=500), "accurate": ModelStats(requests=500)}  # no timings: no member blamed
        w.feed(window(0, p99=400.0, models=quiet))
        w.feed(window(1, p99=400.0, models=quiet))
        [degrade] = controller.reconcile()
        assert degrade.action.kind == "degrade" and degrade.status == "applied"
        assert w.recorder.bodies[-1] == {"consumer": "c1", "algorithm": None, "degrade": True, "exclude": []}

        for i in (2, 3):
            w.feed(window(i, p99=50.0))
            assert controller.reconcile() == []  # relax_after=3 healthy windows
        w.feed(window(4, p99=50.0))
        [restore] = controller.reconcile()
        assert restore.action.kind == "restore" and restore.trigger == "contract holds with room to spare"
        assert w.recorder.bodies[-1]["degrade"] is False
        assert controller.status()["policy"]["c1"] == {"degraded": False, "excluded": []}


def test_idle_capacity_is_scaled_in_one_replica_at_a_time(tmp_path: Path) -> None:
    with world(_url(tmp_path), fast_replicas=3, contract_overrides={"models": ["fast"]}) as w:
        controller = w.controller(cooldown_s=5.0)
        calm = {"models": hot_fast(20), "p99": 40.0}
        for i in range(3):
            w.feed(window(i, rps=20, **calm))
        [record] = controller.reconcile()
        assert record.action.kind == "scale-in" and record.action.params["scale"] == {"fast": 2}
        assert w.replicas("svc-fast") == 2


class _Reroute:
    name = "reroute"
    phase = "corrective"

    def propose(self, s: Situation) -> list[Remedy]:
        return [Remedy(kind=self.name, target=s.consumer, reason="plug-in")] if s.violations else []

    def apply(self, remedy: Remedy, actuator: Actuator) -> str:
        return actuator.set_policy(remedy.target, degrade=False, exclude=["accurate"])


def test_a_registered_action_takes_part_and_a_non_action_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        register(object())  # type: ignore[arg-type]
    register(_Reroute())
    try:
        with world(_url(tmp_path), contract_overrides={"models": ["fast"]}) as w:
            controller = w.controller()
            quiet = {"fast": ModelStats(requests=500)}
            for i in range(2):
                w.feed(window(i, p99=400.0, models=quiet))
            [record] = controller.reconcile()
            assert any(line.startswith("reroute c1") for line in record.alternatives) or \
                record.action.kind == "reroute"
    finally:
        unregister("reroute")
    assert "reroute" not in [a.name for a in actions()]
