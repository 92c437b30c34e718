"""The five example models: cached training, a real spread of accuracy, and the preprocessing stage."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sklearn  # type: ignore[import-untyped]
from object_classification_fixtures import TrainedExample

from rohe.core.errors import InvalidInput, NotFound
from rohe.examples.object_classification import (
    MODEL_NAMES,
    cache_dir,
    cache_key,
    ensure_models,
    load_dataset,
    load_model,
    load_models,
    load_preprocessor,
    preprocess,
)


def test_first_call_trains_and_caches_every_model_under_the_data_dir(trained_example: TrainedExample) -> None:
    first = trained_example.first
    assert first.trained
    assert first.directory == trained_example.data_dir / "models" / "object_classification" / cache_key()
    files = sorted(p.name for p in first.directory.iterdir())
    assert files == sorted([*(f"{n}.joblib" for n in MODEL_NAMES), "preprocessing.joblib", "manifest.json"])
    manifest = json.loads((first.directory / "manifest.json").read_text())
    assert sorted(manifest["sha256"]) == sorted([*MODEL_NAMES, "preprocessing"])


def test_second_call_loads_without_retraining(trained_example: TrainedExample) -> None:
    directory = trained_example.first.directory
    before = {p.name: p.stat().st_mtime_ns for p in directory.iterdir()}
    again = ensure_models(trained_example.data_dir)
    assert not again.trained
    assert {p.name: p.stat().st_mtime_ns for p in directory.iterdir()} == before
    test = load_dataset().test
    scaled = preprocess(again.preprocessor, test.features)
    for name in MODEL_NAMES:
        np.testing.assert_array_equal(
            again.estimators[name].predict_proba(scaled), trained_example.first.estimators[name].predict_proba(scaled)
        )


def test_cache_key_follows_the_sklearn_version(
    trained_example: TrainedExample, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = cache_dir(trained_example.data_dir)
    monkeypatch.setattr(sklearn, "__version__", "0.0-other")
    assert cache_dir(trained_example.data_dir) != current


def test_an_incomplete_cache_is_not_loaded(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Without the manifest (written last) the other files may be half-written: train again.
    data_dir = tmp_path_factory.mktemp("partial")
    directory = cache_dir(data_dir)
    directory.mkdir(parents=True)
    (directory / "knn.joblib").write_bytes(b"not a pickle")
    assert ensure_models(data_dir).trained
    assert not ensure_models(data_dir).trained


def test_models_are_predictors_with_the_ten_digit_classes(trained_example: TrainedExample) -> None:
    predictors = load_models(trained_example.data_dir)
    assert list(predictors) == list(MODEL_NAMES)
    for name, predictor in predictors.items():
        assert predictor.name == name
        assert list(predictor.classes) == list(range(10))
        assert predictor.n_features == 64


def test_the_five_models_differ_clearly_in_accuracy_on_the_test_split(trained_example: TrainedExample) -> None:
    test = load_dataset().test
    scaled = preprocess(load_preprocessor(trained_example.data_dir), test.features)
    accuracy = {
        name: float(np.mean(np.argmax(p.predict_proba(scaled), axis=1) == test.labels))
        for name, p in load_models(trained_example.data_dir).items()
    }
    assert max(accuracy.values()) - min(accuracy.values()) >= 0.03
    assert len({round(a, 3) for a in accuracy.values()}) == len(MODEL_NAMES)
    # The cheap, heavily regularised linear model is the weakest; the RBF SVM and the MLP are the best two.
    assert min(accuracy, key=accuracy.__getitem__) == "logistic-regression"
    assert set(sorted(accuracy, key=accuracy.__getitem__)[-2:]) == {"rbf-svm", "mlp"}
    assert all(0.85 <= a <= 1.0 for a in accuracy.values())


def test_the_split_is_fixed_and_disjoint() -> None:
    first, second = load_dataset(), load_dataset()
    np.testing.assert_array_equal(first.test.features, second.test.features)
    sizes = (len(first.train), len(first.validation), len(first.test))
    assert sum(sizes) == 1797 and all(s > 0 for s in sizes)
    assert set(np.unique(first.test.labels)) == set(range(10))


def test_preprocessing_standardises_with_training_statistics(trained_example: TrainedExample) -> None:
    dataset = load_dataset()
    scaled = preprocess(trained_example.first.preprocessor, dataset.train.features)
    informative = dataset.train.features.std(axis=0) > 0
    np.testing.assert_allclose(scaled.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(scaled.std(axis=0)[informative], 1, atol=1e-9)
    one = preprocess(trained_example.first.preprocessor, dataset.test.features[0])
    assert one.shape == (1, 64)


def test_preprocessing_rejects_the_wrong_number_of_pixels(trained_example: TrainedExample) -> None:
    with pytest.raises(InvalidInput) as caught:
        preprocess(trained_example.first.preprocessor, np.zeros((2, 63)))
    (problem,) = caught.value.problems
    assert problem.location == "inputs" and "64" in problem.hint


def test_unknown_model_name_lists_the_known_ones(trained_example: TrainedExample) -> None:
    with pytest.raises(NotFound) as caught:
        load_model(trained_example.data_dir, "resnet")
    assert "rbf-svm" in caught.value.problems[0].hint
    assert load_model(trained_example.data_dir, "knn").name == "knn"
