"""The load the demo offers: the app's consumers, every compared algorithm interleaved, a steady phase, a
burst at three times the rate, and a recovery phase; one model service is killed during the steady phase."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rohe.serving.loadgen import WorkloadProfile, parse_workload_profile

# The default app's (object classification) consumers and killed model; other apps name theirs in the registry.
CONSUMERS = ("accuracy-first", "fast-and-cheap")
# adaptive is also the gateway's default; single-best and all-models are the baselines either side of it.
ALGORITHMS: tuple[str, ...] = ("adaptive", "rohe-ensemble", "single-best", "all-models", "dream", "llf")
KILLED_MODEL = "random-forest"


@dataclass(frozen=True)
class DemoWorkload:
    profile: WorkloadProfile
    kill_at_s: float


def demo_workload(
    scale: float = 1.0, *, quick: bool = False, consumers: Sequence[str] = CONSUMERS
) -> DemoWorkload:
    """60 s of load at scale 1 (8 s with `quick`); rates are requests/s over all `consumers`."""
    steady, burst, recovery = (4.0, 2.0, 2.0) if quick else (35.0, 10.0, 15.0)
    # What two shared cores serve with room to spare; the burst at three times this rate saturates them.
    rate = 8.0
    document = {
        "name": "demo: steady, burst, recovery",
        "seed": 7,
        "feedback": True,
        "phases": [
            {
                "name": "steady",
                "duration_s": steady,
                "rate": rate,
                "arrival": "poisson",
                "max_concurrency": 64,
                "mix": dict.fromkeys(consumers, 1.0),
                "algorithms": list(ALGORITHMS),
            },
            {"name": "burst", "duration_s": burst, "rate": rate * 3},
            {"name": "recovery", "duration_s": recovery, "rate": rate},
        ],
    }
    profile = parse_workload_profile(document).scaled(scale)
    # Killed a third of the way into the steady phase: its restart settles before the burst begins.
    return DemoWorkload(profile, kill_at_s=steady * scale / 3)
