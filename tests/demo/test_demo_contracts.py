"""The demo's contracts are fitted to the machine it runs on: only latency and cost bounds move, and say so."""

from __future__ import annotations

from pathlib import Path

from rohe.core.contracts import ConsumerContract, load_contract
from rohe.core.profiles import ModelProfile, ProfileCatalog
from rohe.demo.contracts import fit_contract, write_contracts
from rohe.examples.object_classification import CONTRACT_FILES, data_file
from rohe.examples.smart_building import PIPELINE_FILE
from rohe.examples.smart_building import data_file as smart_building_file
from rohe.serving.gateway.consumers import modality_need
from rohe.serving.pipeline import load_pipeline, modality_budgets
from rohe.serving.selection import RoheEnsemble


def slow_machine(p50: float, p99: float) -> ProfileCatalog:
    """The five example models as a loaded machine measures them through HTTP (cost grows with latency)."""
    accuracy = {"logistic-regression": 0.92, "knn": 0.96, "random-forest": 0.97, "rbf-svm": 0.99, "mlp": 0.98}
    profiles = [
        ModelProfile(
            model=name,
            node_type="local",
            latency_p50_ms=p50 * (1 + i),
            latency_p95_ms=p99 * (1 + i),
            latency_p99_ms=p99 * (1 + i),
            throughput_rps=5000.0,
            accuracy=acc,
            confidence=0.9,
            class_accuracy={c: acc for c in range(10)},
            cost_base=0.0001,
            cost_per_request=0.0001 * p50 * (1 + i) / 1000,
        )
        for i, (name, acc) in enumerate(accuracy.items())
    ]
    return ProfileCatalog.of(profiles, {c: f"digit-{c}" for c in range(10)})


def contract(name: str) -> ConsumerContract:
    return load_contract(data_file(name))


def test_a_loaded_machine_gets_a_satisfiable_fast_and_cheap_contract_and_is_told_why() -> None:
    catalog = slow_machine(p50=15.0, p99=25.0)
    original = contract("fast-and-cheap.yaml")
    fitted = fit_contract(original, catalog)
    assert fitted.satisfiable
    RoheEnsemble().search(fitted.contract, catalog)  # no NotFound
    assert fitted.contract.deadline_ms == 40.0  # 1.5 x 25 ms, rounded up to 5 ms
    assert any(c.startswith("deadline 20 ms -> 40 ms") for c in fitted.changes)
    assert any(c.startswith("cost ceiling 0.0005/s ->") for c in fitted.changes)
    # Quality is not the machine's doing: the accuracy objective and every non-cost bound stay as written.
    assert [o for o in fitted.contract.objectives if o.metric.value != "cost"] == [
        o for o in original.objectives if o.metric.value != "cost"
    ]


def test_a_fast_machine_keeps_the_contracts_as_written() -> None:
    catalog = slow_machine(p50=0.5, p99=1.0)
    for name in CONTRACT_FILES:
        fitted = fit_contract(contract(name), catalog)
        assert fitted.changes == () and fitted.satisfiable
        assert fitted.contract == contract(name)


def test_fitted_contracts_are_written_and_read_back_unchanged(tmp_path: Path) -> None:
    fitted = [fit_contract(contract(name), slow_machine(15.0, 25.0)).contract for name in CONTRACT_FILES]
    paths = write_contracts(fitted, tmp_path)
    assert [load_contract(p) for p in paths] == fitted


def test_a_multimodal_deadline_gives_every_modality_room_for_its_fastest_model() -> None:
    """The gateway splits a multimodal deadline over the modalities: fitting it to the single fastest model
    (the video one here) left the time-series share below every time-series model, so nothing answered."""
    latency = {"MINI_ROCKET": (255.0, 452.0), "MINI_ROCKET_S": (24.0, 56.6),
               "FRAME_LINEAR": (0.4, 25.0), "FRAME_MLP": (0.35, 33.1)}
    profiles = [
        ModelProfile(model=name, node_type="local", latency_p50_ms=p50, latency_p95_ms=p99, latency_p99_ms=p99,
                     throughput_rps=5000.0, accuracy=0.9, confidence=0.9, class_accuracy={c: 0.9 for c in range(4)},
                     cost_base=0.00001, cost_per_request=0.0)
        for name, (p50, p99) in latency.items()
    ]
    catalog = ProfileCatalog.of(profiles, {c: f"activity-{c}" for c in range(4)})
    spec = load_pipeline(smart_building_file(PIPELINE_FILE))
    modalities = {m.name: tuple(m.models) for m in spec.modalities}
    fitted = fit_contract(load_contract(smart_building_file("hvac-control.yaml")), catalog, modalities)
    deadline = fitted.contract.deadline_ms
    assert deadline is not None and deadline > 1.5 * 56.6
    assert any("timeseries modality's fastest model has p99 56.6 ms" in c for c in fitted.changes)

    def split(total: float) -> dict[str, float]:
        needs = {name: modality_need(fitted.contract, catalog, models) for name, models in modalities.items()}
        return modality_budgets(total, needs, fitted.contract.modality_budgets)

    assert split(deadline)["timeseries"] >= 1.5 * 56.6 and split(deadline)["video"] >= 1.5 * 25.0
    assert split(deadline - 5.0)["timeseries"] < 1.5 * 56.6  # the smallest such deadline, in 5 ms steps
