"""The example's pipeline spec and consumer contracts, and what selection makes of them on measured profiles."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rohe.core.contracts import MetricKind, load_contract, parse_contract
from rohe.core.errors import InvalidInput
from rohe.core.loading import load_document
from rohe.core.profiles import ProfileCatalog
from rohe.examples.object_classification import CONTRACT_FILES, MODEL_NAMES, PIPELINE_FILE, data_file
from rohe.examples.object_classification.pipeline import load_pipeline, parse_pipeline
from rohe.orchestration.inputs import load_services
from rohe.serving.selection import get_search

REPO_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "object_classification"


@pytest.mark.parametrize("name", [*CONTRACT_FILES, PIPELINE_FILE])
def test_repository_files_are_the_shipped_package_data(name: str) -> None:
    assert (REPO_EXAMPLE / name).resolve() == data_file(name).resolve()


def test_both_contracts_validate_in_rohes_schema() -> None:
    accuracy_first = parse_contract(load_document(data_file("accuracy-first.yaml")))
    fast_and_cheap = load_contract(data_file("fast-and-cheap.yaml"))
    assert accuracy_first.consumer == "accuracy-first" and fast_and_cheap.consumer == "fast-and-cheap"
    assert fast_and_cheap.deadline_ms is not None and accuracy_first.deadline_ms is not None
    assert fast_and_cheap.deadline_ms < accuracy_first.deadline_ms
    assert fast_and_cheap.ensemble.max < accuracy_first.ensemble.max
    weights = {o.metric: o.weight for o in accuracy_first.objectives}
    assert weights[MetricKind.ACCURACY] > weights[MetricKind.COST]


def test_pipeline_has_four_stages_in_order_and_a_service_per_model() -> None:
    pipeline = load_pipeline(data_file(PIPELINE_FILE))
    assert [s.name for s in pipeline.stages] == ["ingestion", "preprocessing", "inference", "aggregation"]
    assert pipeline.gateway_stages == ("ingestion", "preprocessing", "aggregation")
    inference = pipeline.services_of("inference")
    assert sorted(s.name for s in inference) == sorted(f"oc-{m}" for m in MODEL_NAMES)
    # The gateway stages declare no processes; the gateway itself is one service, named by `gateway`.
    assert [s.name for s in pipeline.services if s not in inference] == [pipeline.gateway] == ["oc-gateway"]
    for service in inference:
        assert service.command is not None
        model = service.command[service.command.index("--model") + 1]
        assert service.name == f"oc-{model}"
    assert {s.application for s in pipeline.services} == {"object-classification"}


def test_pipeline_services_section_is_what_the_orchestrator_reads(tmp_path: Path) -> None:
    document = load_document(data_file(PIPELINE_FILE))
    services_only = tmp_path / "services.yaml"
    services_only.write_text(yaml.safe_dump({"services": document["services"]}))
    assert [s.name for s in load_services(services_only)] == [s["name"] for s in document["services"]]


def test_pipeline_faults_are_located_by_field() -> None:
    document = load_document(data_file(PIPELINE_FILE))
    document["stages"][2]["services"].append("oc-resnet")
    document["stages"][3]["services"] = ["oc-mlp"]
    document["stages"][0]["executor"] = "services"
    with pytest.raises(InvalidInput) as caught:
        parse_pipeline(document)
    located = {p.location: p.message for p in caught.value.problems}
    assert located["stages[0].services"] == "is empty"
    assert "no service named 'oc-resnet'" in located["stages[2].services[5]"]
    assert "run by the gateway" in located["stages[3].services"]
    assert "already runs stage 'inference'" in located["stages[3].services[0]"]


def test_consumers_get_different_ensembles_on_the_measured_catalog(measured_catalog: ProfileCatalog) -> None:
    search = get_search("rohe-ensemble")
    accuracy_first = search.search(load_contract(data_file("accuracy-first.yaml")), measured_catalog)
    fast_and_cheap = search.search(load_contract(data_file("fast-and-cheap.yaml")), measured_catalog)
    assert accuracy_first.key != fast_and_cheap.key
    assert len(accuracy_first.members) > len(fast_and_cheap.members)
    # Voting members make the ensemble more accurate than any one model, the cheap choice included.
    assert accuracy_first.metrics["accuracy"].aggregated > max(
        p.accuracy or 0.0 for p in measured_catalog.profiles if p.model in {m.model for m in fast_and_cheap.members}
    )
    assert fast_and_cheap.cost < accuracy_first.cost
