"""ROHE's "miss rate of class A [as B]" metrics: what they count, their names and their window definition.

ROHE defines them per record (its `exMetric` table): `missRateOfClassA` is the share of class-A samples
answered wrong; `missRateOfClassAandB` is the share of class-A samples answered *as B* (label A, prediction
B, wrong) over all class-A samples. So the second is a part of the first, never the mean of A's and B's miss
rates. rohe generalises the name: `missRateOfClassAandBandC` counts class-A samples answered as B or C.

In a contract the classes are `(A, B, ...)`: the true class first, then the wrong answers counted.
"""

from __future__ import annotations

from collections.abc import Sequence

from rohe.core.contracts.slo import CDMDefinition

DEFAULT_WINDOW = "5m"


def miss_rate_name(classes: Sequence[int]) -> str:
    """`(1, 6)` -> `missRateOfClass1and6`, ROHE's spelling, used as the observed metric's name."""
    return "missRateOfClass" + "and".join(str(c) for c in classes)


def miss_rate_definition(classes: Sequence[int], window: str = DEFAULT_WINDOW) -> CDMDefinition:
    """The metric as a consumer-defined ratio over labelled requests (rohe.observation.evaluation.cdm):
    requests whose true class is A and whose answer was wrong (and, with B..., one of B...), over requests
    whose true class is A."""
    if not classes:
        raise ValueError("a miss rate needs the true class")
    true_class, *answered_as = (str(c) for c in classes)
    missed: dict[str, str | list[str]] = {"true_class": true_class, "correct": "false"}
    if answered_as:
        missed["predicted_class"] = answered_as
    as_text = f" answered as {' or '.join(answered_as)}" if answered_as else " answered wrong"
    return CDMDefinition.model_validate(
        {
            "name": miss_rate_name(classes),
            "metric_type": "per_period",
            "description": f"share of class-{true_class} requests{as_text}",
            "expression": {
                "type": "ratio",
                "operands": [
                    {"type": "count", "filters": missed},
                    {"type": "count", "filters": {"true_class": true_class}},
                ],
            },
            "window": window,
        }
    )
