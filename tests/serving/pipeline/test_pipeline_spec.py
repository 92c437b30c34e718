"""Pipeline specs: modalities, the format without them, and faults located by field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rohe.core.errors import InvalidInput
from rohe.core.loading import load_document
from rohe.examples.object_classification import MODEL_NAMES, PIPELINE_FILE, data_file
from rohe.serving.pipeline import DEFAULT_MODALITY, load_pipeline, parse_pipeline, resolve_preprocessors


def document() -> dict[str, Any]:
    return {
        "application": "multi",
        "stages": [
            {"name": "preprocessing", "entrypoint": "math:fabs", "services": ["pre"]},
            {"name": "inference", "services": ["cam-a", "cam-b", "vib-a"]},
        ],
        "modalities": [
            {"name": "image", "models": {"a": "cam-a", "b": "cam-b"}, "aggregation": "majority"},
            {"name": "vibration", "preprocessing": "statistics:fmean", "models": {"v": "vib-a"}},
        ],
        "fusion": "max-confidence",
        "services": [
            {"name": n, "image": "x", "ports": [9000 + i]} for i, n in enumerate(["pre", "cam-a", "cam-b", "vib-a"])
        ],
    }


def faults(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        parse_pipeline(data)
    found: dict[str, str] = {}
    for problem in caught.value.problems:
        found[problem.location] = f"{found.get(problem.location, '')} {problem.message}".strip()
    return found


def test_modalities_name_their_models_services_and_strategies() -> None:
    spec = parse_pipeline(document())
    assert spec.modality_names == ("image", "vibration") and spec.models == ("a", "b", "v")
    assert spec.modality("image").aggregation == "majority" and spec.fusion == "max-confidence"
    assert spec.modality("vibration").preprocessing == "statistics:fmean"
    assert [s.name for s in spec.services_of("inference")] == ["cam-a", "cam-b", "vib-a"]


def test_a_spec_without_modalities_has_one_over_the_inference_services() -> None:
    data = document()
    del data["modalities"], data["fusion"]
    spec = parse_pipeline(data)
    (only,) = spec.modalities
    assert only.name == DEFAULT_MODALITY and only.preprocessing == "math:fabs"
    assert only.models == {"cam-a": "cam-a", "cam-b": "cam-b", "vib-a": "vib-a"} and spec.fusion == "mean"


def test_the_example_has_one_image_modality_over_its_five_models() -> None:
    spec = load_pipeline(data_file(PIPELINE_FILE))
    (image,) = spec.modalities
    assert image.name == "image" and sorted(image.models) == sorted(MODEL_NAMES)
    assert all(image.models[m] == f"oc-{m}" for m in MODEL_NAMES)
    assert image.preprocessing is not None
    assert callable(resolve_preprocessors(spec)["image"])


@pytest.mark.parametrize(
    ("change", "location", "message"),
    [
        (
            lambda d: d["modalities"][0]["models"].update({"c": "cam-z"}),
            "modalities[0].models.c",
            "not in the 'inference'",
        ),
        (lambda d: d["modalities"][1]["models"].update({"a": "cam-b"}), "modalities[1].models.a", "already belongs"),
        (lambda d: d["modalities"][1].update({"models": {"w": "cam-a"}}), "modalities[1].models.w", "already serves"),
        (lambda d: d["modalities"][1].update({"name": "image"}), "modalities[1].name", "listed twice"),
        (lambda d: d["modalities"][1].update({"models": {}}), "modalities[1].models", "is empty"),
        (lambda d: d["modalities"][0].update({"aggregation": "loudest"}), "modalities[0].aggregation", "unknown"),
        (lambda d: d["modalities"][0].update({"preprocessing": "nocolon"}), "modalities[0].preprocessing", "module"),
        (lambda d: d.update({"fusion": "loudest"}), "fusion", "unknown strategy"),
        (lambda d: d.update({"modalities": []}), "modalities", "is empty"),
        (lambda d: d["modalities"][0].update({"colour": 1}), "modalities[0].colour", "Extra inputs"),
    ],
)
def test_faults_are_located_by_field(change: Any, location: str, message: str) -> None:
    data = copy.deepcopy(document())
    change(data)
    found = faults(data)
    assert location in found, found
    assert message in found[location]


def test_no_inference_stage_means_no_modality() -> None:
    data = document()
    del data["modalities"]
    data["stages"] = [{"name": "preprocessing", "services": ["pre", "cam-a", "cam-b", "vib-a"]}]
    assert "no 'inference' stage" in faults(data)["stages"]


def doubled(sample: list[float]) -> list[float]:
    return [2 * x for x in sample]


def test_preprocessing_entrypoints_resolve_or_fail_clearly() -> None:
    spec = parse_pipeline(document())
    resolved = resolve_preprocessors(spec)
    assert resolved["image"] is None and resolved["vibration"] is not None
    assert resolve_preprocessors(spec, {"image": doubled})["image"] is doubled
    with pytest.raises(InvalidInput) as caught:
        resolve_preprocessors(spec, {"sound": doubled})
    assert caught.value.problems[0].location == "preprocessors.sound"
    data = document()
    data["modalities"][1]["preprocessing"] = "statistics:no_such_function"
    with pytest.raises(InvalidInput) as caught:
        resolve_preprocessors(parse_pipeline(data))
    assert caught.value.problems[0].location == "modalities[1].preprocessing"


def test_the_example_file_still_reads_as_a_plain_service_list() -> None:
    raw = load_document(data_file(PIPELINE_FILE))
    assert sorted(s["name"] for s in raw["services"]) == sorted(["oc-gateway", *(f"oc-{m}" for m in MODEL_NAMES)])


def with_gateway_stages() -> dict[str, Any]:
    """The multi-modality document with ingestion and aggregation run by the gateway."""
    data = document()
    data["stages"] = [
        {"name": "ingestion", "executor": "gateway"},
        *data["stages"],
        {"name": "aggregation", "executor": "gateway", "description": "fusion"},
    ]
    return data


def test_gateway_stages_have_no_services_and_keep_their_order() -> None:
    spec = parse_pipeline(with_gateway_stages())
    assert [s.name for s in spec.stages] == ["ingestion", "preprocessing", "inference", "aggregation"]
    assert spec.gateway_stages == ("ingestion", "aggregation")
    assert spec.stage("ingestion").services == () and spec.services_of("aggregation") == []
    assert spec.stage("preprocessing").executor == "services" and spec.gateway is None
    assert spec.gateway_service is None


def test_the_example_runs_ingestion_preprocessing_and_aggregation_in_the_gateway() -> None:
    spec = load_pipeline(data_file(PIPELINE_FILE))
    assert spec.gateway_stages == ("ingestion", "preprocessing", "aggregation")
    # No stand-in processes: the services are the models the gateway fans out to and the gateway itself.
    assert {s.name for s in spec.services} == {s.name for s in spec.services_of("inference")} | {"oc-gateway"}
    assert all(s.command and "http.server" not in s.command for s in spec.services)
    assert spec.gateway_service is not None and spec.gateway_service.command is not None
    assert "rohe.examples.object_classification.gateway" in spec.gateway_service.command
    # The preprocessing stage's entrypoint is what the gateway runs for the modality.
    assert spec.stage("preprocessing").entrypoint == spec.modality("image").preprocessing


@pytest.mark.parametrize(
    ("change", "location", "message"),
    [
        (lambda d: d["stages"][0].update({"services": ["pre"]}), "stages[0].services", "run by the gateway"),
        (lambda d: d["stages"][1].update({"services": []}), "stages[1].services", "is empty"),
        (lambda d: d["stages"][1].pop("services"), "stages[1].services", "is empty"),
        (lambda d: d["stages"][2].update({"executor": "gateway"}), "stages[2].executor", "cannot be run by"),
        (lambda d: d["stages"][0].update({"executor": "sidecar"}), "stages[0].executor", "'services' or 'gateway'"),
        (lambda d: d.update({"gateway": "gw"}), "gateway", "no service named 'gw'"),
        (lambda d: d.update({"gateway": "pre"}), "gateway", "already runs stage 'preprocessing'"),
    ],
)
def test_executor_and_gateway_faults_are_located_by_field(change: Any, location: str, message: str) -> None:
    data = copy.deepcopy(with_gateway_stages())
    change(data)
    found = faults(data)
    assert location in found, found
    assert message in found[location]


def test_a_declared_gateway_service_runs_no_stage_and_is_an_ordinary_service() -> None:
    data = with_gateway_stages()
    data["services"].append({"name": "gw", "image": "rohe/gw:1", "ports": [5020], "command": ["gw", "{port}"]})
    assert "runs no stage" in faults(data)["services[4]"]  # undeclared, it is an orphan
    data["gateway"] = "gw"
    spec = parse_pipeline(data)
    assert spec.gateway == "gw" and spec.gateway_service is not None
    assert spec.gateway_service.ports == [5020] and spec.gateway_service.application == "multi"
    assert "gw" in {s.name for s in spec.services}  # so orchestration places it with the others
