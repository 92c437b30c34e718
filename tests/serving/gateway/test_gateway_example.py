"""The example's pipeline spec and contracts drive the gateway (stand-in model services, no training)."""

from __future__ import annotations

import pytest
from gateway_farm import Farm, profile, served

from rohe.core.errors import InvalidInput
from rohe.core.profiles import ProfileCatalog
from rohe.examples.object_classification import CONTRACT_FILES, MODEL_NAMES, PIPELINE_FILE, data_file
from rohe.serving.gateway import build_gateway, endpoints_for_services
from rohe.serving.pipeline import load_pipeline

# Each example model name is served by one of the farm's digit models (they read raw pixels).
STAND_INS = {
    "logistic-regression": "logreg",
    "knn": "tree",
    "random-forest": "bayes",
    "rbf-svm": "logreg",
    "mlp": "tree",
}


def test_example_spec_and_contracts_build_a_gateway_that_serves_both_consumers(farm: Farm) -> None:
    catalog = ProfileCatalog.of(
        profile(m, 1 + i, 5 + 3 * i, 0.9 + i / 100, 0.00001 * (i + 1)) for i, m in enumerate(MODEL_NAMES)
    )
    gateway = build_gateway(
        data_file(PIPELINE_FILE),
        catalog,
        [data_file(name) for name in CONTRACT_FILES],
        {m: farm.urls[STAND_INS[m]] for m in MODEL_NAMES},
        preprocessors={"image": lambda sample: sample},  # the stand-ins read raw pixels
        seed=0,
    )
    assert gateway.consumers() == ["accuracy-first", "fast-and-cheap"]
    with served(gateway) as client:
        for consumer, most in (("accuracy-first", 3), ("fast-and-cheap", 2)):
            reply = client.post(
                "/infer",
                json={
                    "consumer": consumer,
                    "algorithm": "dream",
                    "input": farm.samples[0].tolist(),
                    "deadline_ms": 400,
                },
            )
            body = reply.json()
            assert reply.status_code == 200 and body["status"] == "ok", body
            assert body["ensemble_size"] == most and list(body["modalities"]) == ["image"]


def test_endpoints_come_from_the_inference_services_replicas() -> None:
    spec = load_pipeline(data_file(PIPELINE_FILE))
    endpoints = endpoints_for_services(
        spec,
        {"oc-knn": ["http://127.0.0.1:8221", "http://127.0.0.1:9221"], "oc-mlp": ["http://127.0.0.1:8224"],
         "camera-feed": ["http://127.0.0.1:8200"]},
    )  # fmt: skip
    assert endpoints.models() == ["knn", "mlp"] and len(endpoints.replicas("knn")) == 2
    with pytest.raises(InvalidInput) as caught:
        endpoints_for_services(spec, {"camera-feed": ["http://127.0.0.1:8200"]})
    assert caught.value.problems[0].location == "services"
