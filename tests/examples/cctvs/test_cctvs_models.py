"""The cctvs members: window accuracy, whole-frame detection (precision, recall, mAP@0.5 per class) per
member and fused, the metric itself on hand-made boxes, and the cache."""

from __future__ import annotations

import numpy as np
import pytest
from cctvs_fixtures import TrainedCctvs

from rohe.examples.cctvs.detect import Detection, detect, evaluate, fuse, mean_average_precision, nms, scan
from rohe.examples.cctvs.models import MODEL_NAMES, SCANS, ensure_models
from rohe.examples.cctvs.scenes import PERSON, VEHICLE, Scene


def classifiers(trained: TrainedCctvs) -> dict[str, object]:
    predictors = trained.first.predictors()
    return {n: (lambda w, p=predictors[n]: p.predict_proba(trained.first.scaler(w))) for n in MODEL_NAMES}


def test_each_member_classifies_held_out_windows(cctvs: TrainedCctvs) -> None:
    x, y = cctvs.dataset.test_patches
    for name, predictor in cctvs.first.predictors().items():
        accuracy = float(np.mean(predictor.predict_proba(cctvs.first.scaler(x)).argmax(axis=1) == y))
        assert accuracy > 0.9, (name, accuracy)


def test_detection_map_per_member_and_fused(cctvs: TrainedCctvs) -> None:
    scenes = cctvs.dataset.test_scenes
    classify = classifiers(cctvs)
    per_member = {n: [scan(s.frame, classify[n], SCANS[n]) for s in scenes] for n in MODEL_NAMES}  # type: ignore[arg-type]
    scores = {n: mean_average_precision(evaluate(scenes, d)) for n, d in per_member.items()}
    assert scores["hog-svm-fine"] > 0.4 and scores["mlp"] > 0.3, scores
    assert scores["hog-svm-coarse"] < scores["hog-svm-fine"]  # the cheap scan pays in accuracy
    fused = [detect(s.frame, {n: classify[n] for n in ("hog-svm-fine", "mlp")}) for s in scenes]  # type: ignore[misc]
    quality = evaluate(scenes, fused)
    assert mean_average_precision(quality) > 0.4
    assert all(q.recall > 0.5 for q in quality.values())


def test_map_precision_and_recall_on_hand_made_boxes() -> None:
    scenes = [Scene(np.zeros((48, 48)), ((0, 0, 10, 10, PERSON), (20, 20, 30, 30, VEHICLE)))]
    detections = [[
        Detection((0, 0, 10, 10), PERSON, 0.9),  # hit
        Detection((1, 0, 11, 10), PERSON, 0.8),  # duplicate: a false positive
        Detection((30, 30, 40, 40), VEHICLE, 0.7),  # miss: nothing there
    ]]
    quality = evaluate(scenes, detections)
    assert quality[PERSON].precision == pytest.approx(0.5) and quality[PERSON].recall == 1.0
    assert quality[PERSON].average_precision == pytest.approx(1.0)
    assert quality[VEHICLE].precision == 0.0 and quality[VEHICLE].average_precision == 0.0
    assert mean_average_precision(quality) == pytest.approx(0.5)


def test_fusion_merges_agreeing_members_and_discounts_a_lone_one() -> None:
    a = [Detection((0, 0, 10, 10), PERSON, 0.8)]
    b = [Detection((1, 1, 11, 11), PERSON, 0.6), Detection((30, 30, 40, 40), VEHICLE, 0.9)]
    fused = sorted(fuse([a, b]), key=lambda d: d.label)
    assert len(fused) == 2
    assert fused[0].score == pytest.approx(0.7) and fused[0].box[0] == pytest.approx((0 * 0.8 + 1 * 0.6) / 1.4)
    assert fused[1].score == pytest.approx(0.45)
    assert len(nms([*a, Detection((1, 0, 11, 10), PERSON, 0.5)])) == 1


def test_a_truncated_cache_file_is_rebuilt(cctvs: TrainedCctvs) -> None:
    assert cctvs.first.trained
    assert not ensure_models(cctvs.data_dir, cctvs.dataset).trained
    victim = cctvs.first.directory / "hog-svm-coarse.joblib"
    victim.write_bytes(victim.read_bytes()[: len(victim.read_bytes()) // 2])
    assert ensure_models(cctvs.data_dir, cctvs.dataset).trained
