"""ROHE's orchestrationConfig.yaml as rohe's `orchestration` settings.

Its weights, strategy (0/1/2, mapped to ROHE's behaviour, not its names) and timer map onto our settings;
its MongoDB and queue keys have no counterpart and are ignored (logged). Lives in core because the settings
loader reads it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from rohe.core.errors import InvalidInput, Problem, ProblemCollector

log = logging.getLogger(__name__)


def non_negative_number(value: Any, location: str, problems: ProblemCollector, hint: str) -> float | None:
    """A ROHE file's number (not bool, not NaN, >= 0), or None with the problem recorded."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        problems.add(location, f"must be a number, got {value!r}", hint)
        return None
    if value < 0:
        problems.add(location, f"must not be negative, got {value}", hint)
        return None
    return float(value)


# ROHE's PriorityAlgorithm ranks nodes by the weighted fraction left free after placement and names its
# choices by that rank: 0 "first fit" takes the first feasible node; 1 "best fit" the HIGHEST rank, the node
# left with the most free (rohe's worst-fit: max score); 2 "worst fit" the LOWEST rank, the node left
# fullest (rohe's best-fit: min score). The behaviour is kept; the names follow rohe's (bin-packing) meaning.
STRATEGIES = {0: "first-fit", 1: "worst-fit", 2: "best-fit"}
ROHE_STRATEGY_NAMES = {0: "first fit", 1: "best fit", 2: "worst fit"}


def settings_from_rohe_config(document: Mapping[str, Any]) -> dict[str, Any]:
    """ROHE's orchestrationConfig.yaml as our `orchestration` settings; database and queue keys do not apply."""
    if not isinstance(document, Mapping):
        raise InvalidInput(
            "a ROHE orchestration config must be a mapping",
            [Problem("<root>", "not a mapping", "give orchestrationConfig.yaml's keys")],
        )
    problems = ProblemCollector()
    result: dict[str, Any] = {}
    config = document.get("orchestrateConfig") or {}
    if not isinstance(config, Mapping):
        problems.add("orchestrateConfig", f"must be a mapping, got {config!r}", "give weights and strategy")
        config = {}
    weights = config.get("weights")
    if isinstance(weights, Mapping):
        where = "orchestrateConfig.weights"
        found = {
            k: non_negative_number(weights[k], f"{where}.{k}", problems, "use a weight >= 0")
            for k in ("cpu", "memory")
            if k in weights
        }
        result["weights"] = {k: v for k, v in found.items() if v is not None}
    elif weights is not None:
        problems.add("orchestrateConfig.weights", f"must be a mapping, got {weights!r}", "e.g. {cpu: 1, memory: 1}")
    if "strategy" in config:
        strategy = config["strategy"]
        if isinstance(strategy, bool) or strategy not in STRATEGIES:
            problems.add(
                "orchestrateConfig.strategy", f"unknown strategy {strategy!r}", "use 0, 1 or 2 (docs/input-formats.md)"
            )
        else:
            result["strategy"] = STRATEGIES[strategy]
            if strategy != 0:
                log.warning(
                    "ROHE strategy %d ('%s') picks the node left with the %s free capacity: rohe calls that %s",
                    strategy,
                    ROHE_STRATEGY_NAMES[strategy],
                    "most" if strategy == 1 else "least",
                    STRATEGIES[strategy],
                )
    if "timer" in document:
        timer = non_negative_number(
            document["timer"], "timer", problems, "give the agent's interval in seconds, above 0"
        )
        if timer == 0:
            problems.add("timer", "must be above 0", "give the agent's interval in seconds")
        elif timer is not None:
            result["interval"] = timer
    ignored = sorted(str(k) for k in document.keys() - {"orchestrateConfig", "timer"})
    if ignored:
        log.info("ROHE config keys with no rohe equivalent, ignored: %s", ", ".join(ignored))
    problems.raise_if_any("invalid ROHE orchestration config")
    return result
