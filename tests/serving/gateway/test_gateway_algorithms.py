"""Every scheduler through the gateway's HTTP API, each choosing its own members; policies and plug-ins."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from gateway_farm import BASE_PROFILES, Farm, catalog, contract, pipeline, served
from gateway_plugins import SEEN_WAITING_MS

from rohe.core.errors import NotFound
from rohe.serving.dataplane import ModelEndpoints
from rohe.serving.gateway import ServingGateway
from rohe.serving.scheduling import available_schedulers
from rohe.serving.selection.algorithms import RoheEnsemble

MODELS = ("logreg", "tree", "bayes")


GATEWAY_TOKEN = "s3cret-gateway-token-0123"


def gateway(farm: Farm, models: tuple[str, ...] = MODELS, **options: object) -> ServingGateway:
    return ServingGateway(
        pipeline(models),
        catalog(*models),
        [contract()],
        ModelEndpoints(farm.endpoints(*models)),
        **options,  # type: ignore[arg-type]
    )


def by(metric: str, models: tuple[str, ...] = MODELS) -> list[str]:
    """Models in decreasing order of a profile field."""
    return sorted(models, key=lambda m: -getattr(BASE_PROFILES[m], metric))


def expected_members(algorithm: str) -> list[str]:
    """What each algorithm should dispatch, in order, derived from the profiles and the contract (max 2)."""
    p99 = {m: BASE_PROFILES[m].latency_p99_ms or 0.0 for m in MODELS}
    cost = {m: BASE_PROFILES[m].cost_per_request or 0.0 for m in MODELS}
    most_accurate = by("accuracy")
    return {
        "adaptive": [min(MODELS, key=lambda m: cost[m])],  # cheapest of size min=1; phase 1 checked elsewhere
        "single-best": most_accurate[:1],
        "fastest": [min(MODELS, key=lambda m: p99[m])],
        "all-models": list(MODELS),
        "dream": sorted(most_accurate[:2], key=lambda m: -p99[m]),  # the slower one is the more urgent
        "llf": sorted(MODELS, key=lambda m: -p99[m])[:2],  # least laxity = largest p99 first
        "oracle": sorted(MODELS, key=lambda m: -BASE_PROFILES[m].class_accuracy[3])[:2],
        # The published per-consumer search, whose equality with plain enumeration is tested in tests/serving.
        "rohe-ensemble": [m.model for m in RoheEnsemble().search(contract(), catalog(*MODELS)).members],
    }[algorithm]


@pytest.mark.parametrize(
    "algorithm", ["adaptive", "single-best", "fastest", "all-models", "dream", "llf", "oracle", "rohe-ensemble"]
)
def test_each_algorithm_dispatches_its_own_members_over_http(farm: Farm, algorithm: str) -> None:
    g = gateway(farm)
    sample = farm.samples[11]
    with served(g) as client:
        reply = client.post(
            "/infer",
            json={"consumer": "cam", "algorithm": algorithm, "input": sample.tolist(), "ground_truth": 3},
        )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    wanted = expected_members(algorithm)
    assert body["algorithm"] == algorithm and body["status"] == "ok"
    dispatched = body["answered"] + body["late"] + body["failed"]
    if algorithm == "adaptive":
        assert dispatched[0] == wanted[0]  # phase 0; an escalation may add members after it
    else:
        assert dispatched == wanted
    assert body["ensemble_size"] == len(dispatched)
    assert body["cost"] == pytest.approx(sum(BASE_PROFILES[m].cost_per_request or 0 for m in dispatched))
    mean = np.mean([farm.models[m].predict_proba(sample.reshape(1, -1))[0] for m in body["answered"]], axis=0)
    assert body["predicted_class"] == int(np.argmax(mean))
    assert set(body["timings_ms"]) == {"scheduling", "preprocessing", "queueing", "fanout", "aggregation", "total"}


def test_the_algorithms_really_differ(farm: Farm) -> None:
    chosen = {a: tuple(expected_members(a)) for a in ("single-best", "fastest", "all-models", "dream", "llf", "oracle")}
    assert len(set(chosen.values())) == len(chosen), chosen  # the fixture would not tell them apart otherwise


def test_random_draws_seeded_subsets_within_the_ensemble_range(farm: Farm) -> None:
    seen: set[tuple[str, ...]] = set()
    with served(gateway(farm, seed=3)) as client:
        for i in range(8):
            body = client.post(
                "/infer", json={"consumer": "cam", "algorithm": "random", "input": farm.samples[i].tolist()}
            ).json()
            members = tuple(body["answered"])
            assert 1 <= len(members) <= 2 and set(members) <= set(MODELS)
            seen.add(members)
    assert len(seen) > 1


def test_every_installed_scheduler_is_listed_and_reachable(farm: Farm) -> None:
    with served(gateway(farm)) as client:
        listed = client.get("/algorithms").json()
        assert set(available_schedulers()) <= set(listed["algorithms"]) and listed["default"] == "adaptive"
        for name in listed["algorithms"]:
            reply = client.post(
                "/infer",
                json={"consumer": "cam", "algorithm": name, "input": farm.samples[0].tolist(), "ground_truth": 0},
            )
            assert reply.status_code == 200 and reply.json()["algorithm"] == name


def test_a_plugin_scheduler_by_dotted_path_and_dream_sees_the_oldest_waiting_request(farm: Farm) -> None:
    models = ("slow", "tree")
    g = ServingGateway(
        pipeline(models),
        catalog(*models),
        [contract(deadline_ms=2000)],
        ModelEndpoints(farm.endpoints(*models)),
        plugins=["gateway_plugins:RecordingDream"],
    )
    assert "gateway_plugins:RecordingDream" in g.algorithms()
    SEEN_WAITING_MS.clear()
    with served(g) as client:
        # Hold one request in the gateway on the slow model, then plan another while it waits.
        first = threading.Thread(
            target=client.post,
            args=("/infer",),
            kwargs={"json": {"consumer": "cam", "algorithm": "all-models", "input": farm.samples[0].tolist()}},
        )
        first.start()
        threading.Event().wait(0.25)
        reply = client.post(
            "/infer",
            json={"consumer": "cam", "algorithm": "gateway_plugins:RecordingDream", "input": farm.samples[1].tolist()},
        )
        first.join()
    assert reply.status_code == 200
    assert SEEN_WAITING_MS and SEEN_WAITING_MS[-1] >= 150  # the first request had waited ~250 ms


def test_requests_cannot_name_a_module_the_gateway_was_not_configured_with(farm: Farm) -> None:
    with served(gateway(farm)) as client:
        reply = client.post(
            "/infer", json={"consumer": "cam", "algorithm": "gateway_plugins:RecordingDream", "input": [1.0] * 64}
        )
    assert reply.status_code == 404 and reply.json()["detail"][0]["location"] == "algorithm"
    with pytest.raises(NotFound):
        gateway(farm, default_algorithm="no-such-thing")


def test_policy_degrades_a_consumer_to_the_fastest_model_and_routes_need_the_token(farm: Farm) -> None:
    fastest = expected_members("fastest")
    with served(gateway(farm), token=GATEWAY_TOKEN) as client:
        assert client.post("/consumers/cam/policy", json={"degrade": True}).status_code == 401
        auth = {"Authorization": f"Bearer {GATEWAY_TOKEN}"}
        reply = client.post("/consumers/cam/policy", json={"degrade": True}, headers=auth)
        assert reply.status_code == 200 and reply.json()["degrade"] is True
        body = client.post(
            "/infer", json={"consumer": "cam", "algorithm": "all-models", "input": farm.samples[2].tolist()},
            headers=auth,
        ).json()
        assert body["degraded"] is True and body["algorithm"] == "fastest" and body["answered"] == fastest
        reply = client.post("/consumers/cam/policy", json={"algorithm": "single-best", "degrade": False}, headers=auth)
        assert reply.json() == {"consumer": "cam", "algorithm": "single-best", "degrade": False, "exclude": []}
        body = client.post("/infer", json={"consumer": "cam", "input": farm.samples[2].tolist()}, headers=auth).json()
        assert body["algorithm"] == "single-best" and body["answered"] == expected_members("single-best")
        assert client.get("/consumers").status_code == 401  # with a token set, every route but /health needs it
        consumers = client.get("/consumers", headers=auth).json()
        assert consumers[0]["consumer"] == "cam" and consumers[0]["algorithm"] == "single-best"
        unknown = client.post("/consumers/nobody/policy", json={"degrade": True}, headers=auth)
        assert unknown.status_code == 404 and unknown.json()["detail"][0]["location"] == "consumer"
        bad = client.post("/consumers/cam/policy", json={"algorithm": "nope"}, headers=auth)
        assert bad.status_code == 404 and bad.json()["detail"][0]["location"] == "algorithm"


def test_policy_excludes_models_from_a_consumer_until_cleared(farm: Farm) -> None:
    with served(gateway(farm), token=GATEWAY_TOKEN) as client:
        auth = {"Authorization": f"Bearer {GATEWAY_TOKEN}"}
        sample = farm.samples[2].tolist()
        every = client.post(
            "/infer", json={"consumer": "cam", "algorithm": "all-models", "input": sample}, headers=auth
        )
        assert sorted(every.json()["answered"]) == sorted(MODELS)
        reply = client.post("/consumers/cam/policy", json={"exclude": ["tree"]}, headers=auth)
        assert reply.status_code == 200 and reply.json()["exclude"] == ["tree"]
        body = client.post("/infer", json={"consumer": "cam", "algorithm": "all-models", "input": sample}, headers=auth)
        assert sorted(body.json()["answered"]) == sorted(m for m in MODELS if m != "tree")
        unknown = client.post("/consumers/cam/policy", json={"exclude": ["nope"]}, headers=auth)
        assert unknown.status_code == 422 and unknown.json()["detail"][0]["location"] == "exclude"
        nothing_left = client.post("/consumers/cam/policy", json={"exclude": list(MODELS)}, headers=auth)
        assert nothing_left.status_code == 422 and nothing_left.json()["detail"][0]["location"] == "exclude"
        assert client.post("/consumers/cam/policy", json={"exclude": []}, headers=auth).json()["exclude"] == []
        body = client.post("/infer", json={"consumer": "cam", "algorithm": "all-models", "input": sample}, headers=auth)
        assert sorted(body.json()["answered"]) == sorted(MODELS)


def test_an_unsatisfiable_contract_is_served_best_effort_and_the_answer_says_it_breaches(farm: Farm) -> None:
    impossible = contract(constraints=[{"metric": "accuracy", "aggregate": "max", "min": 0.99999}])
    served_gateway = ServingGateway(
        pipeline(MODELS), catalog(*MODELS), [impossible], ModelEndpoints(farm.endpoints(*MODELS))
    )
    with served(served_gateway) as client:
        body = client.post(
            "/infer", json={"consumer": "cam", "algorithm": "rohe-ensemble", "input": farm.samples[1].tolist()}
        ).json()
    assert body["status"] == "ok" and body["answered"]
    assert body["breach"] and "no ensemble satisfies the contract of 'cam'" in body["breach"]
    assert next(iter(body["modalities"].values()))["breach"]
