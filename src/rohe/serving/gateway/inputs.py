"""Which raw sample each modality gets from an /infer body: `inputs` per modality, or `input` as the
shorthand for a pipeline with one modality. A request may carry a subset of the modalities."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rohe.core.errors import InvalidInput, Problem
from rohe.serving.gateway.schema import InferRequest


def request_samples(request: InferRequest, names: Sequence[str]) -> dict[str, list[float]]:
    if (request.inputs is None) == (request.input is None):
        raise InvalidInput(
            "no input or two kinds of input",
            [Problem("inputs", "give exactly one of 'inputs' (modality -> sample) or 'input'", "")],
        )
    if request.input is not None:
        if len(names) != 1:
            raise InvalidInput(
                "'input' is only for a single-modality pipeline",
                [Problem("input", f"this pipeline has modalities {list(names)}", "send 'inputs' per modality")],
            )
        samples = {names[0]: request.input}
    else:
        samples = dict(request.inputs or {})
    where = "input" if request.input is not None else "inputs.{}"
    problems = [
        Problem(f"inputs.{m}", "is not a modality of the pipeline", f"use {list(names)}")
        for m in samples
        if m not in names
    ]
    for modality, sample in samples.items():
        if not sample or not all(math.isfinite(x) for x in sample):
            problems.append(
                Problem(where.format(modality), "must be a non-empty list of finite numbers", "send the raw sample")
            )
    if not samples:
        problems.append(Problem("inputs", "is empty", f"send a sample for some of {list(names)}"))
    if problems:
        raise InvalidInput("invalid inference input", problems)
    return samples
