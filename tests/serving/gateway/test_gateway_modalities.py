"""Two modalities fused, per-modality budgets within the deadline, and phase 1 only when phase 0 is unsure."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from gateway_farm import Farm, catalog, contract, pipeline, profile, series_for, served

from rohe.core.contracts import parse_contract
from rohe.core.errors import InvalidInput
from rohe.serving.dataplane import ModelEndpoints
from rohe.serving.gateway import InferRequest, ServingGateway

IMAGE = ("logreg", "tree")


def two_modalities(farm: Farm, **contract_options: object) -> ServingGateway:
    return ServingGateway(
        pipeline(IMAGE, series=True),
        catalog(*IMAGE, "series"),
        [contract(**contract_options)],  # type: ignore[arg-type]
        ModelEndpoints(farm.endpoints(*IMAGE, "series")),
    )


def series_vector(label: int) -> np.ndarray:
    vector = np.full(10, 0.2 / 9)
    vector[label] = 0.8
    return vector


def test_image_and_time_series_are_fused_into_one_answer(farm: Farm) -> None:
    sample, label = farm.samples[7], int(farm.labels[7])
    other = (label + 1) % 10
    with served(two_modalities(farm)) as client:
        body = client.post(
            "/infer",
            json={
                "consumer": "cam",
                "algorithm": "single-best",
                "inputs": {"image": sample.tolist(), "series": series_for(other)},
            },
        ).json()
    assert body["status"] == "ok", body
    assert set(body["modalities"]) == {"image", "series"}
    assert body["modalities"]["series"]["predicted_class"] == other  # preprocessing ran: 16 points -> 8 features
    assert body["modalities"]["image"]["answered"] == ["logreg"] and body["answered"] == ["logreg", "series"]
    image = farm.models["logreg"].predict_proba(sample.reshape(1, -1))[0]
    fused = (image + series_vector(other)) / 2  # fusion: mean over the modalities' answers
    assert body["predicted_class"] == int(np.argmax(fused))
    assert body["confidence"] == pytest.approx(float(fused.max()), abs=1e-9)


def test_a_request_may_carry_some_of_the_modalities(farm: Farm) -> None:
    with served(two_modalities(farm)) as client:
        body = client.post("/infer", json={"consumer": "cam", "inputs": {"series": series_for(4)}}).json()
        assert body["status"] == "ok" and list(body["modalities"]) == ["series"] and body["predicted_class"] == 4
        shorthand = client.post("/infer", json={"consumer": "cam", "input": series_for(4)})
        assert shorthand.status_code == 422 and shorthand.json()["detail"][0]["location"] == "input"
        short = client.post("/infer", json={"consumer": "cam", "inputs": {"series": [1.0, 2.0]}})
        assert short.status_code == 422 and short.json()["detail"][0]["location"] == "inputs.series"


@pytest.mark.parametrize("shares", [None, {"image": 3.0, "series": 1.0}])
def test_modality_budgets_follow_the_shares_and_sum_within_the_deadline(
    farm: Farm, shares: dict[str, float] | None
) -> None:
    g = two_modalities(farm, deadline_ms=300, modality_budgets=shares)
    request = InferRequest(
        consumer="cam", algorithm="fastest", inputs={"image": farm.samples[0].tolist(), "series": series_for(2)}
    )
    body = asyncio.run(g.infer(request))
    budgets = {m: a.budget_ms for m, a in body.modalities.items()}
    assert sum(budgets.values()) <= 300 + 1e-6
    assert sum(budgets.values()) >= 300 - body.timings_ms.preprocessing - 50  # only what had passed is missing
    weights = shares or {"image": 1.0, "series": 1.0}
    # Each modality is first capped at twice its slowest model's p99 (logreg 40 ms, series 10 ms); the time
    # left over is then shared by weight, so what exceeds the caps follows the shares exactly.
    over_image, over_series = budgets["image"] - 2 * 40, budgets["series"] - 2 * 10
    assert over_image / over_series == pytest.approx(weights["image"] / weights["series"], rel=1e-6)


def test_modality_budgets_must_name_modalities_of_the_pipeline(farm: Farm) -> None:
    with pytest.raises(InvalidInput) as caught:
        two_modalities(farm, modality_budgets={"sound": 1.0})
    assert caught.value.problems[0].location == "contracts[0].modality_budgets.sound"


def escalating(farm: Farm, cheapest: str) -> ServingGateway:
    models = ("unsure", "sure", "tree")
    cheap = {m: profile(m, 1, 15, 0.9, 0.0001 if m == cheapest else 0.001) for m in ("sure", "unsure")}
    return ServingGateway(
        pipeline(models),
        catalog(*models, **cheap),
        [contract(low=1, high=3)],
        ModelEndpoints(farm.endpoints(*models)),
    )


def test_phase_one_runs_only_when_phase_zero_is_unsure(farm: Farm) -> None:
    sample = farm.samples[5].tolist()
    with served(escalating(farm, cheapest="unsure")) as client:
        body = client.post("/infer", json={"consumer": "cam", "algorithm": "adaptive", "input": sample}).json()
    # 0.3 confidence is below the default threshold (0.8): specialists are added in a second phase.
    assert body["phases"] == 2 and body["answered"][0] == "unsure" and len(body["answered"]) == 3
    with served(escalating(farm, cheapest="sure")) as client:
        body = client.post("/infer", json={"consumer": "cam", "algorithm": "adaptive", "input": sample}).json()
    assert body["phases"] == 1 and body["answered"] == ["sure"]


@pytest.mark.parametrize("shares", [{}, {"image": 0.0}, {"image": -1.0}, {"image": float("inf")}])
def test_modality_shares_must_be_positive_numbers(shares: dict[str, float]) -> None:
    document = contract().model_dump(mode="json", exclude_none=True)
    with pytest.raises(InvalidInput) as caught:
        parse_contract({**document, "modality_budgets": shares})
    assert caught.value.problems[0].location == "modality_budgets"
