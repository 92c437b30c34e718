"""ONNX Runtime models as predictors: a model file (or bytes, or a ready session) in, class probabilities out.

Exported classifiers differ in how they hand back probabilities: a float tensor (batch, classes), or, with
scikit-learn's default ZipMap, one {class: probability} map per sample. Both are accepted; logits can be
turned into probabilities with `softmax=True`. onnxruntime is an optional dependency (`rohe[onnx]`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rohe.core.errors import InvalidInput, Problem
from rohe.serving.model_service.predictor import CallablePredictor


def from_onnx(
    name: str,
    model: str | Path | bytes | Any,
    classes: Sequence[int] | None = None,
    *,
    softmax: bool = False,
) -> CallablePredictor:
    """A predictor over an ONNX classifier. `classes` default to the model's own labels (ZipMap keys) or
    0..n-1 in output order; the first input is fed the batch as float32."""
    session = _session(name, model)
    feed = session.get_inputs()[0]
    width = feed.shape[1] if len(feed.shape) == 2 and isinstance(feed.shape[1], int) else None
    output = _probability_output(name, session)
    if classes is not None:
        labels = [int(c) for c in classes]
    elif width is None:
        raise InvalidInput(
            "cannot tell the ONNX model's classes",
            [Problem("classes", f"{name} takes a variable number of features", "pass classes=[...] in output order")],
        )
    else:
        # One all-zero sample shows how many classes come out and, with ZipMap, their labels.
        values, keys = _run(session, feed.name, output, np.zeros((1, width), dtype=np.float32), softmax)
        labels = keys if keys is not None else list(range(values.shape[1]))

    def predict(batch: NDArray[np.float64]) -> NDArray[np.float64]:
        return _run(session, feed.name, output, batch.astype(np.float32), softmax)[0]

    return CallablePredictor(name, predict, labels, width)


def _session(name: str, model: Any) -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise InvalidInput(
            "ONNX Runtime is not installed",
            [Problem("model", f"{name} is an ONNX model", "pip install 'rohe[onnx]' (onnxruntime)")],
        ) from None
    if isinstance(model, onnxruntime.InferenceSession):
        return model
    if isinstance(model, str | Path) and not Path(model).is_file():
        raise InvalidInput("no such ONNX file", [Problem("model", f"{model} does not exist", "give the .onnx path")])
    try:
        source = model if isinstance(model, bytes) else str(model)
        return onnxruntime.InferenceSession(source, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for malformed models
        raise InvalidInput(
            "not a loadable ONNX model", [Problem("model", f"{name}: {exc}", "export the model again")]
        ) from None


def _probability_output(name: str, session: Any) -> str:
    outputs = session.get_outputs()
    for candidate in outputs:
        if "prob" in candidate.name.lower():
            return str(candidate.name)
    floats = [o for o in outputs if o.type == "tensor(float)" and len(o.shape) == 2]
    if floats:
        return str(floats[0].name)
    raise InvalidInput(
        "the ONNX model has no probability output",
        [Problem("model", f"{name} outputs {[o.name for o in outputs]}", "export class probabilities or logits")],
    )


def _run(
    session: Any, feed: str, output: str, batch: NDArray[np.float32], softmax: bool
) -> tuple[NDArray[np.float64], list[int] | None]:
    (raw,) = session.run([output], {feed: batch})
    keys: list[int] | None = None
    if isinstance(raw, list):  # ZipMap: one {class: probability} per sample
        keys = sorted(int(k) for k in raw[0]) if raw else []
        values = np.asarray([[row[k] for k in sorted(row, key=int)] for row in raw], dtype=np.float64)
    else:
        values = np.asarray(raw, dtype=np.float64)
    if softmax:
        shifted = np.exp(values - values.max(axis=1, keepdims=True))
        values = shifted / shifted.sum(axis=1, keepdims=True)
    return values, keys
