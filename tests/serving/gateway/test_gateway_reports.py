"""The reports the gateway emits follow the report convention (docs/serving-gateway.md, "Reports")."""

from __future__ import annotations

import asyncio

import numpy as np
from gateway_farm import Farm, RecordingSink, catalog, contract, pipeline, served

from rohe.observation.reports import Report, ReportKind, RequestStatus, decode_batch, encode_batch
from rohe.serving.dataplane import ModelEndpoints
from rohe.serving.gateway import InferRequest, ServingGateway

MODELS = ("logreg", "tree", "bayes")


def gateway(farm: Farm, sink: RecordingSink, endpoints: dict[str, list[str]]) -> ServingGateway:
    return ServingGateway(
        pipeline(MODELS), catalog(*MODELS), [contract()], ModelEndpoints(endpoints), sink=sink, run="r1"
    )


def test_one_aggregated_report_one_per_member_and_one_per_label(farm: Farm) -> None:
    sink = RecordingSink()
    endpoints = {**farm.endpoints("tree", "bayes"), "logreg": [farm.dead_url]}
    sample = farm.samples[9]
    with served(gateway(farm, sink, endpoints)) as client:
        body = client.post(
            "/infer", json={"consumer": "cam", "algorithm": "all-models", "input": sample.tolist()}
        ).json()
        client.post("/feedback", json={"request_id": body["request_id"], "true_class": int(farm.labels[9])})
    reports: list[Report] = sink.reports
    assert all(r.app == "gateway-test" and r.run == "r1" and r.request_id == body["request_id"] for r in reports)
    assert all(r.consumer == "cam" for r in reports)
    # The wire format round-trips what the gateway emits.
    assert decode_batch(encode_batch(reports)) == reports

    aggregated = [r for r in reports if r.kind is ReportKind.REQUEST and r.model_id is None]
    assert len(aggregated) == 1
    top = aggregated[0]
    assert top.status is RequestStatus.PARTIAL and top.members == ["tree", "bayes"] and top.late == ["logreg"]
    assert top.predicted_class == str(body["predicted_class"]) and top.confidence == body["confidence"]
    assert set(top.stage_latency_ms) == {"scheduling", "preprocessing", "queueing", "fanout", "aggregation"}
    assert top.end_to_end_ms == body["timings_ms"]["total"] and top.cost == body["cost"]
    assert top.attributes["algorithm"] == "all-models" and top.attributes["ensemble_size"] == "3"
    assert top.attributes["deadline_missed"] in {"true", "false"}

    members = {r.model_id: r for r in reports if r.kind is ReportKind.REQUEST and r.model_id is not None}
    assert set(members) == set(MODELS)
    for model in ("tree", "bayes"):
        own = int(np.argmax(farm.models[model].predict_proba(sample.reshape(1, -1))[0]))
        report = members[model]
        assert report.status is RequestStatus.OK and report.predicted_class == str(own)
        assert set(report.stage_latency_ms) == {"inference"} and report.confidence is not None
    assert members["logreg"].status is RequestStatus.ERROR and members["logreg"].predicted_class is None

    feedback = [r for r in reports if r.kind is ReportKind.FEEDBACK]
    assert len(feedback) == 1 and feedback[0].true_class == str(int(farm.labels[9]))


def test_an_unanswered_request_is_reported_as_an_error(farm: Farm) -> None:
    sink = RecordingSink()
    g = gateway(farm, sink, {m: [farm.dead_url] for m in MODELS})
    response = asyncio.run(g.infer(InferRequest(consumer="cam", algorithm="single-best", input=[0.0] * 64)))
    assert response.status == "error"
    top = next(r for r in sink.reports if r.model_id is None)
    assert top.status is RequestStatus.ERROR and top.predicted_class is None and top.members == []
    assert [r.status for r in sink.reports if r.model_id is not None] == [RequestStatus.ERROR]


def test_a_failing_sink_never_breaks_serving(farm: Farm) -> None:
    class Exploding:
        def submit(self, report: Report) -> None:
            raise RuntimeError("broker down")

    g = ServingGateway(
        pipeline(MODELS), catalog(*MODELS), [contract()], ModelEndpoints(farm.endpoints(*MODELS)), sink=Exploding()
    )
    response = asyncio.run(g.infer(InferRequest(consumer="cam", input=farm.samples[0].tolist())))
    assert response.status == "ok"
