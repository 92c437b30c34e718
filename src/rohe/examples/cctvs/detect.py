"""Detection on whole frames: sliding windows per member, non-maximum suppression, fusion across members,
and precision, recall and mAP@0.5 per class against the ground-truth boxes.

A member scans the frame at its own stride and scales (models.SCANS): every window gets its class
probabilities; windows whose best non-background class scores at least `threshold` become boxes of that
class's nominal size (divided by the scale) centred on the window, in frame coordinates. Per member,
class-wise NMS keeps the locally best box (suppressing at IoU 0.1: objects in these scenes never overlap).

Fusion across members (`fuse`) is detection-shaped, unlike the gateway's per-window aggregation: boxes of
all members are clustered greedily by class and IoU >= 0.3 (most confident first); a cluster becomes one
box whose coordinates are the score-weighted mean of its members' boxes and whose score is the sum of
their scores divided by the number of members that ran (a box only one of three members saw scores a
third of its confidence).

Evaluation (`evaluate`): per class, detections sorted by score are matched to unmatched ground truth of
that class at IoU >= 0.5; AP is the area under the all-point interpolated precision/recall curve (the
PASCAL VOC 2010+ rule); mAP is the mean over the object classes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rohe.examples.cctvs.models import SCANS, Scan
from rohe.examples.cctvs.scenes import BACKGROUND, CLASS_NAMES, NOMINAL_SIZE, PATCH, FloatArray, Scene, iou

Classify = Callable[[FloatArray], FloatArray]  # (n, PATCH * PATCH) raw windows -> (n, classes)


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]
    label: int
    score: float


def _resize(frame: FloatArray, scale: float) -> FloatArray:
    height, width = frame.shape
    rows = np.minimum((np.arange(round(height * scale)) / scale).astype(np.int64), height - 1)
    cols = np.minimum((np.arange(round(width * scale)) / scale).astype(np.int64), width - 1)
    return np.asarray(frame[np.ix_(rows, cols)])


def nms(detections: Sequence[Detection], threshold: float = 0.1) -> list[Detection]:
    kept: list[Detection] = []
    for d in sorted(detections, key=lambda d: -d.score):
        if all(k.label != d.label or iou(k.box, d.box) < threshold for k in kept):
            kept.append(d)
    return kept


def scan(frame: FloatArray, classify: Classify, plan: Scan, threshold: float = 0.5) -> list[Detection]:
    """One member's detections on one frame, after its own NMS."""
    found: list[Detection] = []
    for scale in plan.scales:
        image = _resize(frame, scale) if scale != 1.0 else frame
        corners = [
            (x, y)
            for y in range(0, image.shape[0] - PATCH + 1, plan.stride)
            for x in range(0, image.shape[1] - PATCH + 1, plan.stride)
        ]
        if not corners:
            continue
        windows = np.stack([image[y : y + PATCH, x : x + PATCH].ravel() for x, y in corners])
        probabilities = classify(windows)
        for (x, y), p in zip(corners, probabilities, strict=True):
            objects = p.copy()
            objects[BACKGROUND] = -1.0
            label = int(np.argmax(objects))
            if p[label] >= threshold:
                w, h = NOMINAL_SIZE[label]
                cx, cy = (x + PATCH / 2) / scale, (y + PATCH / 2) / scale
                box = (cx - w / 2 / scale, cy - h / 2 / scale, cx + w / 2 / scale, cy + h / 2 / scale)
                found.append(Detection(box, label, float(p[label])))
    return nms(found)


def fuse(per_member: Sequence[Sequence[Detection]], match: float = 0.3) -> list[Detection]:
    """Weighted box fusion across members (see the module docstring)."""
    members = max(1, len(per_member))
    everything = sorted((d for ds in per_member for d in ds), key=lambda d: -d.score)
    clusters: list[list[Detection]] = []
    for d in everything:
        for cluster in clusters:
            if cluster[0].label == d.label and iou(cluster[0].box, d.box) >= match:
                cluster.append(d)
                break
        else:
            clusters.append([d])
    fused = []
    for cluster in clusters:
        weights = np.array([d.score for d in cluster])
        box = tuple(float(v) for v in np.average(np.array([d.box for d in cluster]), axis=0, weights=weights))
        fused.append(Detection((box[0], box[1], box[2], box[3]), cluster[0].label, float(weights.sum() / members)))
    return fused


def detect(frame: FloatArray, classifiers: Mapping[str, Classify], threshold: float = 0.5) -> list[Detection]:
    """The ensemble's detections: every named member scans with its own plan, then `fuse`."""
    return fuse([scan(frame, classify, SCANS[name], threshold) for name, classify in classifiers.items()])


@dataclass(frozen=True)
class ClassQuality:
    precision: float
    recall: float
    average_precision: float


def _average_precision(hits: list[bool], positives: int) -> float:
    if positives == 0 or not hits:
        return 0.0
    tp = np.cumsum(hits)
    precision = tp / np.arange(1, len(hits) + 1)
    recall = np.concatenate([[0.0], tp / positives])
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum(np.diff(recall) * envelope))


def evaluate(scenes: Sequence[Scene], detections: Sequence[Sequence[Detection]]) -> dict[int, ClassQuality]:
    """Per object class: precision and recall of all detections, and AP@0.5 (see the module docstring)."""
    out: dict[int, ClassQuality] = {}
    for label in (c for c in CLASS_NAMES if c != BACKGROUND):
        ranked = sorted(
            ((d, i) for i, ds in enumerate(detections) for d in ds if d.label == label), key=lambda di: -di[0].score
        )
        truth = {i: [b for b in scene.boxes if b[4] == label] for i, scene in enumerate(scenes)}
        used = {i: [False] * len(boxes) for i, boxes in truth.items()}
        positives = sum(len(b) for b in truth.values())
        hits = []
        for d, i in ranked:
            overlaps = [iou(d.box, b[:4]) if not used[i][j] else -1.0 for j, b in enumerate(truth[i])]
            best = int(np.argmax(overlaps)) if overlaps else -1
            hit = best >= 0 and overlaps[best] >= 0.5
            if hit:
                used[i][best] = True
            hits.append(hit)
        true_positives = sum(hits)
        out[label] = ClassQuality(
            precision=true_positives / len(hits) if hits else 0.0,
            recall=true_positives / positives if positives else 0.0,
            average_precision=_average_precision(hits, positives),
        )
    return out


def mean_average_precision(quality: Mapping[int, ClassQuality]) -> float:
    return float(np.mean([q.average_precision for q in quality.values()])) if quality else 0.0
