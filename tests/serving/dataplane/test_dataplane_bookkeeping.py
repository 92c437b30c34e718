"""Replica registry and feedback store, without the network."""

from __future__ import annotations

import pytest

from rohe.core.errors import Conflict, InvalidInput, NotFound
from rohe.serving.dataplane import FeedbackStore, ModelEndpoints, ServedPrediction


def test_rotation_is_round_robin_and_covers_every_replica() -> None:
    endpoints = ModelEndpoints({"m": ["http://a:1/", "http://b:2", "http://c:3"]})
    assert endpoints.rotation("m") == ("http://a:1", "http://b:2", "http://c:3")
    assert endpoints.rotation("m") == ("http://b:2", "http://c:3", "http://a:1")
    assert endpoints.rotation("m") == ("http://c:3", "http://a:1", "http://b:2")
    assert endpoints.rotation("m")[0] == "http://a:1"
    assert endpoints.models() == ["m"]


def test_bad_registrations_and_unknown_models_are_clear_errors() -> None:
    endpoints = ModelEndpoints()
    with pytest.raises(InvalidInput) as caught:
        endpoints.register("m", [])
    assert caught.value.problems[0].location == "endpoints.m"
    with pytest.raises(InvalidInput):
        endpoints.register("m", ["a:1"])
    with pytest.raises(NotFound) as missing:
        endpoints.rotation("m")
    assert "register" in missing.value.problems[0].hint
    endpoints.register("m", ["http://a:1"])
    endpoints.remove("m")
    assert endpoints.models() == []


def served(request_id: str, predicted: int, *members: tuple[str, int]) -> ServedPrediction:
    return ServedPrediction(request_id, "mean", predicted, members)


def test_feedback_joins_labels_to_predictions_and_scores_ensemble_and_members() -> None:
    store = FeedbackStore()
    store.remember(served("r1", 3, ("a", 3), ("b", 2)))
    store.remember(served("r2", 1, ("a", 0), ("b", 1)))
    assert store.accuracy() is None
    assert store.record("r1", 3).correct
    assert not store.record("r2", 0).correct
    assert store.accuracy() == 0.5
    assert store.model_accuracy() == {"a": 1.0, "b": 0.0}
    with pytest.raises(Conflict):
        store.record("r1", 3)
    with pytest.raises(InvalidInput):
        store.record("r3", -1)


def test_feedback_memory_is_bounded_oldest_first() -> None:
    store = FeedbackStore(max_pending=2, max_records=2)
    for index in range(3):
        store.remember(served(f"r{index}", 0))
    with pytest.raises(NotFound) as caught:
        store.record("r0", 0)  # evicted before its label came
    assert "max_pending" in caught.value.problems[0].hint
    store.record("r1", 0)
    store.record("r2", 1)
    store.remember(served("r3", 0))
    store.record("r3", 0)
    assert [r.served.request_id for r in store.records()] == ["r2", "r3"]
    assert store.accuracy() == 0.5
    with pytest.raises(InvalidInput):
        FeedbackStore(max_pending=0)
