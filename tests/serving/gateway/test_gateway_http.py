"""How requests end over HTTP: answers, partial answers, explicit errors, 4xx for bad requests, feedback."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pytest
from gateway_farm import Farm, catalog, contract, pipeline, served

from rohe.serving.dataplane import ModelEndpoints
from rohe.serving.gateway import ServingGateway, create_gateway_app

MODELS = ("logreg", "tree", "bayes")


def gateway(farm: Farm, endpoints: dict[str, list[str]] | None = None, **contract_options: object) -> ServingGateway:
    return ServingGateway(
        pipeline(MODELS),
        catalog(*MODELS),
        [contract(**contract_options), contract("other")],  # type: ignore[arg-type]
        ModelEndpoints(endpoints or farm.endpoints(*MODELS)),
    )


def infer(client: httpx.Client, **body: object) -> httpx.Response:
    return client.post("/infer", json={"consumer": "cam", **body})


def test_a_dead_model_service_gives_a_partial_answer_naming_it(farm: Farm) -> None:
    endpoints = {**farm.endpoints("tree", "bayes"), "logreg": [farm.dead_url]}
    with served(gateway(farm, endpoints)) as client:
        reply = infer(client, algorithm="all-models", input=farm.samples[3].tolist())
        assert reply.status_code == 200
        body = reply.json()
        assert body["status"] == "partial" and body["failed"] == ["logreg"]
        assert body["answered"] == ["tree", "bayes"] and body["predicted_class"] is not None
        assert client.get("/stats").json()["rows"][0]["partial"] == 1


def test_a_late_model_is_reported_late_and_the_deadline_holds(farm: Farm) -> None:
    models = ("slow", "tree")
    g = ServingGateway(
        pipeline(models), catalog(*models), [contract(deadline_ms=400)], ModelEndpoints(farm.endpoints(*models))
    )
    with served(g) as client:
        # 400 ms, not less: the first call to a member also opens its connection, and a busy CI box is slow.
        body = infer(client, algorithm="all-models", input=farm.samples[3].tolist()).json()
    assert body["status"] == "partial" and body["late"] == ["slow"] and body["answered"] == ["tree"]
    assert body["timings_ms"]["total"] < 400 + 150  # the slow member (600 ms) was not waited for


def test_all_models_dead_is_a_503_error_never_an_empty_success(farm: Farm) -> None:
    endpoints = {m: [farm.dead_url] for m in MODELS}
    with served(gateway(farm, endpoints)) as client:
        reply = infer(client, algorithm="all-models", input=farm.samples[3].tolist())
        assert reply.status_code == 503
        body = reply.json()
        assert body["status"] == "error" and body["predicted_class"] is None and body["answered"] == []
        assert sorted(body["failed"]) == sorted(MODELS)
        assert "no member answered" in body["error"] and "logreg" in body["error"]
        stats = client.get("/stats").json()
        assert stats["rows"][0]["error"] == 1 and stats["requests"] == 1
        # Nothing was served, so there is nothing to label.
        assert client.post("/feedback", json={"request_id": body["request_id"], "true_class": 1}).status_code == 404


def test_a_deadline_no_model_can_meet_is_an_explicit_error(farm: Farm) -> None:
    with served(gateway(farm)) as client:
        reply = infer(client, algorithm="single-best", input=farm.samples[0].tolist(), deadline_ms=5)
    assert reply.status_code == 503
    # The fastest model's p99 is 10 ms; on a very busy machine the 5 ms may even be gone before planning.
    error = reply.json()["error"]
    assert "no model of modality 'image' can answer within" in error or "passed before scheduling" in error


@pytest.mark.parametrize(
    ("body", "status", "location"),
    [
        ({"consumer": "nobody", "input": [1.0] * 64}, 404, "consumer"),
        ({"consumer": "cam", "algorithm": "nope", "input": [1.0] * 64}, 404, "algorithm"),
        ({"consumer": "cam"}, 422, "inputs"),
        ({"consumer": "cam", "input": [1.0] * 64, "inputs": {"image": [1.0]}}, 422, "inputs"),
        ({"consumer": "cam", "input": []}, 422, "input"),
        ({"consumer": "cam", "inputs": {"sound": [1.0]}}, 422, "inputs.sound"),
        ({"consumer": "cam", "input": ["a", 2]}, 422, "input.0"),
        ({"consumer": "cam", "input": [1.0] * 64, "deadline_ms": -5}, 422, "deadline_ms"),
        ({"consumer": "cam", "input": [1.0] * 64, "colour": "red"}, 422, "colour"),
        ({"consumer": "cam", "algorithm": "oracle", "input": [1.0] * 64}, 422, "ground_truth"),
    ],
)
def test_bad_requests_get_a_4xx_naming_the_field(
    farm: Farm, body: dict[str, object], status: int, location: str
) -> None:
    transport = httpx.ASGITransport(app=create_gateway_app(gateway(farm)))

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            return await client.post("/infer", json=body)

    reply = asyncio.run(call())
    assert reply.status_code == status, reply.text
    locations = [p["location"] for p in reply.json()["detail"]]
    assert location in locations, locations


def test_feedback_turns_into_accuracy_per_consumer_and_algorithm(farm: Farm) -> None:
    with served(gateway(farm)) as client:
        right = 0
        for i in range(12):
            body = infer(client, algorithm="single-best", input=farm.samples[i].tolist()).json()
            label = int(farm.labels[i])
            reply = client.post("/feedback", json={"request_id": body["request_id"], "true_class": label})
            assert reply.status_code == 200 and reply.json()["correct"] == (body["predicted_class"] == label)
            right += body["predicted_class"] == label
        # One more request, never labelled: accuracy counts labelled requests only.
        infer(client, algorithm="single-best", input=farm.samples[20].tolist())
        stats = client.get("/stats").json()
        row = next(r for r in stats["rows"] if r["algorithm"] == "single-best")
        assert row["requests"] == 13 and row["labelled"] == 12 and row["correct"] == right
        assert row["accuracy"] == pytest.approx(right / 12)
        expected_logreg = np.mean(farm.models["logreg"].predict(farm.samples[:12]) == farm.labels[:12])
        assert stats["model_accuracy"]["logreg"] == pytest.approx(expected_logreg)
        assert client.post("/feedback", json={"request_id": "never-served", "true_class": 1}).status_code == 404
        again = client.post("/feedback", json={"request_id": body["request_id"], "true_class": 1})
        assert again.status_code == 409
        bad = client.post("/feedback", json={"request_id": "x", "true_class": -1})
        assert bad.status_code == 422 and bad.json()["detail"][0]["location"] == "true_class"


def test_request_ids_are_kept_and_rejected_requests_are_counted(farm: Farm) -> None:
    with served(gateway(farm)) as client:
        body = infer(client, input=farm.samples[0].tolist(), request_id="frame-17").json()
        assert body["request_id"] == "frame-17" and body["consumer"] == "cam"
        assert infer(client, input="nonsense").status_code == 422
        assert client.post("/infer", json={"consumer": "ghost", "input": [1.0]}).status_code == 404
        stats = client.get("/stats").json()
        assert stats["requests"] == 1 and stats["rejected"] == 2
        assert client.get("/health").json()["status"] == "ok"
        assert [c["consumer"] for c in client.get("/consumers").json()] == ["cam", "other"]


def test_infer_keeps_its_documented_body_and_answer_and_rejects_non_json(farm: Farm) -> None:
    """/infer validates its raw body itself (one pydantic-core pass): the OpenAPI document still shows the
    request and response schemas, and a body that is not JSON is a 422 naming the body, never a 500."""
    app = create_gateway_app(gateway(farm))
    operation = app.openapi()["paths"]["/infer"]["post"]
    body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert {"consumer", "input", "deadline_ms"} <= set(body_schema["properties"])
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/InferResponse")

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
            return await client.post("/infer", content=b"{not json", headers={"content-type": "application/json"})

    response = asyncio.run(call())
    assert response.status_code == 422
    assert response.json()["problems"][0]["message"]
