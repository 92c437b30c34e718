"""Contract-derived requirements: replica counts from required throughput and the p99 deadline (M/M/c), node-type
preference by cost within the ceiling, the accuracy floor, and `plan --from-contracts` on the command line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from rohe.cli.main import app
from rohe.core.contracts import parse_contract
from rohe.core.domain import Service
from rohe.core.profiles import ModelProfile, ProfileCatalog, save_catalog
from rohe.orchestration.queueing import erlang_c, replicas_for, response_p99_ms
from rohe.orchestration.requirements import apply, derive, model_of, preferences

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "object_classification"


def profiles() -> ProfileCatalog:
    rows = [("fast", "pi", 20, 100, 0.90, 1.0), ("fast", "nuc", 8, 400, 0.90, 3.0),
            ("slow", "pi", 300, 20, 0.99, 1.0), ("slow", "nuc", 90, 80, 0.99, 3.0)]
    return ProfileCatalog.of(ModelProfile(model=m, node_type=t, latency_p99_ms=p, throughput_rps=r, accuracy=a,
                                          cost_base=c) for m, t, p, r, a, c in rows)


def contract(**fields: object) -> object:
    body = {"consumer": "c", "ensemble": {"min": 1, "max": 2}, "required_throughput": 150, "deadline_ms": 150,
            "objectives": [{"metric": "accuracy", "direction": "maximize", "min": 0.8, "max": 1}], **fields}
    return parse_contract(body)


def test_replicas_cover_the_load_at_the_target_utilisation_and_the_deadline() -> None:
    [fast, slow] = derive([contract()], profiles())
    # 150 req/s on pi (100/s each) at <= 80%: 2 replicas; cost 2 beats nuc's 1 x 3
    assert (fast.replicas, fast.node_type, fast.preferred) == (2, "pi", ("pi", "nuc"))
    assert "150 req/s" in fast.why_replicas and "<= 150 ms deadline" in fast.why_replicas
    # slow misses 150 ms on pi whatever the count; on nuc 150/80 -> 3 replicas at 62.5%
    assert (slow.replicas, slow.node_type, slow.preferred) == (3, "nuc", ("nuc",))


def test_cost_ceiling_reorders_and_flags_over_budget() -> None:
    tight = contract(constraints=[{"metric": "cost", "aggregate": "sum", "max": 2.5}])
    [fast, slow] = derive([tight], profiles())
    assert fast.node_type == "pi" and not fast.over_budget
    assert slow.over_budget and "EXCEEDED" in slow.why_nodes


def test_accuracy_floor_binding_every_member_leaves_a_weak_model_unsized() -> None:
    floor = contract(constraints=[{"metric": "accuracy", "aggregate": "min", "min": 0.95}])
    fast = derive([floor], profiles())[0]
    assert fast.replicas == 0 and fast.consumers == () and "accuracy floor" in fast.why_replicas


def test_a_consumer_too_strict_for_a_model_does_not_load_it() -> None:
    strict = parse_contract({"consumer": "strict", "ensemble": {"min": 1, "max": 1}, "required_throughput": 1000,
                             "deadline_ms": 30, "objectives": [{"metric": "cost", "direction": "minimize",
                                                                "min": 0, "max": 1}]})
    slow = derive([contract(), strict], profiles())[1]
    assert slow.consumers == ("c",) and slow.load_rps == 150


def test_a_model_profiled_on_none_of_the_clusters_node_types_is_not_called_too_slow() -> None:
    [fast, _] = derive([contract()], profiles(), node_types=["jetson"])
    assert fast.replicas is None or fast.replicas == 0
    assert "not profiled on this cluster's node types (profiled on: nuc, pi)" in fast.why_replicas
    assert "too slow" not in fast.why_replicas and "jetson" in fast.why_nodes


def test_apply_and_preferences_hand_the_result_to_placement() -> None:
    services = [Service(name="svc-fast", env={"ROHE_MODEL": "fast"}), Service(name="oc-slow")]
    requirements = derive([contract()], profiles(), services)
    assert [s.replicas for s in apply(services, requirements)] == [2, 3]
    assert preferences(requirements) == {"svc-fast": ("pi", "nuc"), "oc-slow": ("nuc",)}
    assert model_of(services[1], ("fast", "slow")) == "slow"


@given(lam=st.floats(0.1, 500), mu=st.floats(5, 200), p99=st.floats(1, 50), deadline=st.floats(60, 2000))
def test_sized_replicas_meet_their_own_estimate_and_one_fewer_would_not(lam: float, mu: float, p99: float,
                                                                       deadline: float) -> None:
    count = replicas_for(lam, mu, p99, deadline, utilisation=0.8)
    assert count is not None
    assert lam / (count * mu) <= 0.8 + 1e-9 and response_p99_ms(count, lam, mu, p99) <= deadline
    if count > 1:
        fewer = count - 1
        assert lam / (fewer * mu) > 0.8 or response_p99_ms(fewer, lam, mu, p99) > deadline


def test_erlang_c_known_values() -> None:
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert math.isinf(response_p99_ms(1, 10, 5, 1))


runner = CliRunner()


def test_plan_from_contracts_shows_the_derivation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROHE_DATA_DIR", str(tmp_path / "data"))
    save_catalog(profiles(), tmp_path / "p.csv")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({
        "consumer": "c", "ensemble": {"min": 1, "max": 2}, "required_throughput": 150, "deadline_ms": 150,
        "objectives": [{"metric": "accuracy", "direction": "maximize", "min": 0.8, "max": 1}]}))
    args = ["orchestration", "plan", "--from-contracts", "c.yaml", "--profiles", "p.csv", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["service"], r["replicas"], r["preferred"]) for r in rows] == [("fast", 2, ["pi", "nuc"]),
                                                                            ("slow", 3, ["nuc"])]
    table = runner.invoke(app, ["orchestration", "plan", "--from-contracts", str(EXAMPLES / "accuracy-first.yaml"),
                                "--profiles", str(EXAMPLES / "profiles.csv")])
    assert table.exit_code == 0 and "why N replicas" in table.output and "knn" in table.output


def test_plan_from_contracts_without_profiles_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROHE_DATA_DIR", str(tmp_path / "data"))
    result = runner.invoke(app, ["orchestration", "plan", "--from-contracts", "c.yaml"])
    assert result.exit_code != 0 and "--profiles" in result.output and "Traceback" not in result.output
