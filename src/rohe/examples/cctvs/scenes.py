"""The cctvs example's data: generated CCTV-like grey frames with ground-truth boxes, and the patches the
window classifiers learn from.

A frame is 48 x 48 grey pixels: a lit floor gradient, fixed clutter (random dim rectangles, like furniture
or shadows), sensor noise, and 0-3 objects at sizes 0.8-1.25 of nominal: persons (a tall body with a
round head, nominal 6 x 14) and vehicles (a wide body with a cabin and two dark wheels, nominal 14 x 7).
Every object's box is its ground truth (x0, y0, x1, y1, class), pixel coordinates, x1 / y1 exclusive.

Patches are PATCH x PATCH windows (256 numbers, row by row): centred on an object (jittered by up to two
pixels) with its class, or on background (overlapping no object by more than IoU 0.1) as class 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

SIZE = 48
PATCH = 16
BACKGROUND, PERSON, VEHICLE = 0, 1, 2
CLASS_NAMES: dict[int, str] = {BACKGROUND: "background", PERSON: "person", VEHICLE: "vehicle"}
NOMINAL_SIZE: dict[int, tuple[int, int]] = {PERSON: (6, 14), VEHICLE: (14, 7)}  # width, height at scale 1
SCENE_SEED = 3

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Box = tuple[float, float, float, float, int]  # x0, y0, x1, y1, class


@dataclass(frozen=True)
class Scene:
    frame: FloatArray  # (SIZE, SIZE)
    boxes: tuple[Box, ...]


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _draw(frame: FloatArray, kind: int, x: int, y: int, scale: float) -> Box:
    if kind == PERSON:
        w, h = max(3, round(NOMINAL_SIZE[PERSON][0] * scale)), max(8, round(NOMINAL_SIZE[PERSON][1] * scale))
        frame[y + h // 4 : y + h, x + w // 6 : x + w - w // 6] += 0.9
        r = max(1.5, w / 3)
        yy, xx = np.mgrid[0:SIZE, 0:SIZE]
        frame[((xx - (x + w / 2)) ** 2 + (yy - (y + r)) ** 2) <= r * r] += 0.9
    else:
        w, h = max(8, round(NOMINAL_SIZE[VEHICLE][0] * scale)), max(4, round(NOMINAL_SIZE[VEHICLE][1] * scale))
        frame[y + h // 3 : y + h - h // 4, x : x + w] += 0.8
        frame[y : y + h // 3 + 1, x + w // 4 : x + 3 * w // 4] += 0.6
        for wheel in (x + w // 5, x + 4 * w // 5 - 1):
            frame[y + h - h // 3 : y + h, max(0, wheel - 1) : wheel + 2] -= 0.7
    return (float(x), float(y), float(x + w), float(y + h), kind)


def make_scene(rng: np.random.Generator) -> Scene:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    frame = 0.2 + 0.3 * (rng.uniform(-1, 1) * xx + rng.uniform(-1, 1) * yy)
    for _ in range(rng.integers(1, 4)):  # clutter
        x0, y0 = rng.integers(0, SIZE - 6, 2)
        frame[y0 : y0 + rng.integers(3, 10), x0 : x0 + rng.integers(3, 12)] += rng.uniform(-0.3, 0.4)
    boxes: list[Box] = []
    for _ in range(rng.integers(0, 4)):
        kind = int(rng.choice([PERSON, VEHICLE]))
        scale = float(rng.uniform(0.8, 1.25))
        for _attempt in range(10):
            x, y = int(rng.integers(0, SIZE - 18)), int(rng.integers(0, SIZE - 18))
            candidate = (x, y, x + 18, y + 18)
            if all(iou(candidate, b[:4]) == 0 for b in boxes):
                boxes.append(_draw(frame, kind, x, y, scale))
                break
    frame = frame + rng.normal(0, 0.12, frame.shape)
    return Scene(frame, tuple(boxes))


def make_scenes(count: int, seed: int = SCENE_SEED) -> list[Scene]:
    rng = np.random.default_rng(seed)
    return [make_scene(rng) for _ in range(count)]


def crop(frame: FloatArray, cx: float, cy: float) -> FloatArray | None:
    x0, y0 = round(cx - PATCH / 2), round(cy - PATCH / 2)
    if x0 < 0 or y0 < 0 or x0 + PATCH > frame.shape[1] or y0 + PATCH > frame.shape[0]:
        return None
    return np.asarray(frame[y0 : y0 + PATCH, x0 : x0 + PATCH], dtype=np.float64)


def patches(scenes: list[Scene], seed: int, negatives_per_scene: int = 3) -> tuple[FloatArray, IntArray]:
    """Labelled patches from scenes: each object (jittered) and some background windows."""
    rng = np.random.default_rng(seed)
    xs: list[FloatArray] = []
    ys: list[int] = []
    for scene in scenes:
        for box in scene.boxes:
            cx, cy = (box[0] + box[2]) / 2 + rng.integers(-2, 3), (box[1] + box[3]) / 2 + rng.integers(-2, 3)
            patch = crop(scene.frame, cx, cy)
            if patch is not None:
                xs.append(patch.ravel())
                ys.append(box[4])
        for _ in range(negatives_per_scene):
            cx, cy = rng.uniform(PATCH / 2, SIZE - PATCH / 2, 2)
            window = (cx - PATCH / 2, cy - PATCH / 2, cx + PATCH / 2, cy + PATCH / 2)
            if all(iou(window, b[:4]) <= 0.1 for b in scene.boxes):
                patch = crop(scene.frame, cx, cy)
                if patch is not None:
                    xs.append(patch.ravel())
                    ys.append(BACKGROUND)
    return np.asarray(xs), np.asarray(ys, dtype=np.int64)


@dataclass(frozen=True)
class Dataset:
    train_patches: tuple[FloatArray, IntArray]
    test_patches: tuple[FloatArray, IntArray]
    test_scenes: list[Scene]


def load_dataset(train_scenes: int = 300, test_scenes: int = 60) -> Dataset:
    train = make_scenes(train_scenes, SCENE_SEED)
    test = make_scenes(test_scenes, SCENE_SEED + 1)
    return Dataset(patches(train, SCENE_SEED), patches(test, SCENE_SEED + 1), test)
