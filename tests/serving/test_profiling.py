"""Measuring models: quality against ground truth, latency and throughput shapes, cost, CSV and the command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.typing import NDArray
from sklearn.metrics import accuracy_score, recall_score  # type: ignore[import-untyped]

from rohe.cli.profile import profile_command
from rohe.core.errors import InvalidInput
from rohe.core.profiles import ModelProfile, load_catalog
from rohe.examples import workload as workload_module
from rohe.examples.workload import Workload
from rohe.serving.model_service import Predictor, from_callable
from rohe.serving.profiling import measure_profile, measure_quality, profile_models

CLASSES = [0, 1, 2, 3]


def quick(
    predictor: Predictor,
    inputs: NDArray[np.float64],
    labels: NDArray[np.int64],
    node_type: str = "local",
    price_per_second: float | None = None,
) -> ModelProfile:
    """A short measurement: these tests check what is measured, not how precisely."""
    return measure_profile(
        predictor, inputs, labels, node_type, repeats=10, warmup=1, rounds=1, price_per_second=price_per_second
    )


def _noisy_predictor(seed: int, flip: float) -> tuple[NDArray[np.float64], NDArray[np.int64], Predictor]:
    """Inputs carry their label in column 0; the model reads it, but is wrong on a `flip` share of inputs."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASSES), size=300)
    wrong = rng.random(300) < flip
    answer = np.where(wrong, (labels + 1) % len(CLASSES), labels)
    inputs = np.column_stack([answer, rng.random(300)]).astype(np.float64)

    def predict(batch: NDArray[np.float64]) -> NDArray[np.float64]:
        probabilities = np.full((len(batch), len(CLASSES)), 0.1)
        probabilities[np.arange(len(batch)), batch[:, 0].astype(int)] = 0.7
        return probabilities

    return inputs, labels, from_callable("noisy", predict, CLASSES, n_features=2)


def test_accuracy_matches_an_independent_computation() -> None:
    inputs, labels, predictor = _noisy_predictor(seed=3, flip=0.2)
    profile = quick(predictor, inputs, labels, "edge-box")
    predicted = inputs[:, 0].astype(int)
    assert profile.accuracy == pytest.approx(accuracy_score(labels, predicted))
    recalls = recall_score(labels, predicted, average=None, labels=CLASSES)
    assert profile.class_accuracy == pytest.approx(dict(zip(CLASSES, recalls, strict=True)))
    assert set(profile.class_accuracy) == set(CLASSES) == set(profile.class_confidence)
    assert profile.accuracy is not None and 0.7 < profile.accuracy < 0.9
    assert profile.model == "noisy" and profile.node_type == "edge-box"


def test_confidence_is_reported_beside_accuracy_never_instead_of_it() -> None:
    inputs, labels, predictor = _noisy_predictor(seed=4, flip=1.0)  # confidently wrong every time
    profile = quick(predictor, inputs, labels)
    assert profile.accuracy == 0.0
    assert profile.confidence == pytest.approx(0.7)
    assert profile.class_confidence == pytest.approx(dict.fromkeys(CLASSES, 0.7))


def test_latency_throughput_and_cost_are_filled_in() -> None:
    inputs, labels, predictor = _noisy_predictor(seed=5, flip=0.1)
    priced = quick(predictor, inputs, labels, price_per_second=0.25)
    assert priced.latency_p50_ms is not None and priced.latency_p99_ms is not None
    assert 0 <= priced.latency_p50_ms <= (priced.latency_p95_ms or 0) <= priced.latency_p99_ms
    assert priced.throughput_rps is not None and priced.throughput_rps > 0
    assert priced.cost_base == 0.25 and priced.cost_per_request is None
    unpriced = quick(predictor, inputs, labels)
    assert unpriced.cost_base is None


def test_a_label_the_model_cannot_predict_counts_as_a_miss() -> None:
    predictor = from_callable("binary", lambda b: np.tile([0.6, 0.4], (len(b), 1)), [0, 1])
    profile = quick(predictor, np.zeros((4, 1)), np.array([0, 0, 7, 7]))
    assert profile.accuracy == 0.5
    assert profile.class_accuracy == {0: 1.0, 7: 0.0}  # class 1 has no sample: unknown, not zero


@pytest.mark.parametrize(
    ("inputs", "labels", "options", "location"),
    [
        (np.zeros((0, 2)), np.zeros(0, dtype=int), {}, "inputs"),
        (np.zeros((3, 2)), np.zeros(2, dtype=int), {}, "labels"),
        (np.zeros((3, 2)), np.zeros(3), {}, "labels"),
        (np.zeros((3, 2)), np.zeros(3, dtype=int), {"repeats": 0}, "repeats"),
        (np.zeros((3, 2)), np.zeros(3, dtype=int), {"batch_size": 0}, "batch_size"),
        (np.zeros((3, 2)), np.zeros(3, dtype=int), {"price_per_second": -1.0}, "price_per_second"),
    ],
)
def test_bad_input_names_the_field(
    inputs: NDArray[np.float64], labels: NDArray[np.int64], options: dict[str, float], location: str
) -> None:
    predictor = from_callable("flat", lambda b: np.full((len(b), 2), 0.5), [0, 1])
    with pytest.raises(InvalidInput) as caught:
        measure_profile(predictor, inputs, labels, **options)  # type: ignore[arg-type]
    assert [p.location for p in caught.value.problems] == [location]


def test_a_model_answering_in_the_wrong_shape_is_reported() -> None:
    predictor = from_callable("short", lambda b: np.full((len(b), 3), 1 / 3), [0, 1, 2])
    predictor.predict_proba = lambda batch: np.full((len(batch), 2), 0.5)  # type: ignore[method-assign]
    with pytest.raises(InvalidInput) as caught:
        quick(predictor, np.zeros((3, 1)), np.zeros(3, dtype=np.int64))
    assert caught.value.problems[0].location == "predict_proba"


@settings(max_examples=60, deadline=None)
@given(
    probabilities=arrays(np.float64, (40, 3), elements=st.floats(0, 1)),
    labels=arrays(np.int64, 40, elements=st.integers(0, 2)),
)
def test_overall_accuracy_is_the_sample_weighted_mean_of_class_accuracies(
    probabilities: NDArray[np.float64], labels: NDArray[np.int64]
) -> None:
    quality = measure_quality(probabilities, [0, 1, 2], labels)
    counts = {c: int(np.sum(labels == c)) for c in quality.class_accuracy}
    assert set(quality.class_accuracy) == set(np.unique(labels).tolist())
    weighted = sum(quality.class_accuracy[c] * n for c, n in counts.items()) / len(labels)
    assert quality.accuracy == pytest.approx(weighted)
    assert all(0 <= v <= 1 for v in (*quality.class_accuracy.values(), *quality.class_confidence.values()))
    assert 0 <= quality.confidence <= 1


def test_profile_models_writes_a_catalog_that_reads_back(tmp_path: Path) -> None:
    inputs, labels, predictor = _noisy_predictor(seed=6, flip=0.3)
    other = from_callable("uniform", lambda b: np.full((len(b), 4), 0.25), CLASSES, n_features=2)
    out = tmp_path / "profiles.csv"
    catalog = profile_models(
        {"noisy": predictor, "uniform": other},
        inputs,
        labels,
        "local",
        class_names={c: f"c{c}" for c in CLASSES},
        out=out,
        repeats=10,
        warmup=1,
        rounds=1,
    )
    assert catalog.models == ("noisy", "uniform")
    read_back = load_catalog(out)
    assert read_back.profiles == catalog.profiles and read_back.classes == catalog.classes
    assert catalog.classes == {c: f"c{c}" for c in CLASSES}


def test_profile_command_prints_a_table_and_writes_the_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs, labels, predictor = _noisy_predictor(seed=7, flip=0.1)
    seen: list[Path] = []

    def tiny(data_dir: Path) -> Workload:
        seen.append(data_dir)
        return Workload({"noisy": predictor}, inputs, labels, {c: f"c{c}" for c in CLASSES})

    monkeypatch.setitem(workload_module.EXAMPLES, "tiny", tiny)
    out = tmp_path / "out" / "profiles.csv"
    profile_command("tiny", out, "bench-node", price_per_second=0.5, data_dir=tmp_path, repeats=5)
    assert seen == [tmp_path]
    (profile,) = load_catalog(out).profiles
    assert profile.node_type == "bench-node" and profile.cost_base == 0.5
    printed = capsys.readouterr().out
    assert "noisy" in printed and "bench-node" in printed and str(out.name) in printed


def test_profile_command_rejects_an_empty_node_type(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        profile_command("object_classification", tmp_path / "p.csv", " ", data_dir=tmp_path)
    assert caught.value.problems[0].location == "node_type"
