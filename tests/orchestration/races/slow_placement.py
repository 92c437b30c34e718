"""A placement plugin for the race tests: first-fit that, after computing, marks a file and waits.

The wait sits exactly where a real slow algorithm (CP-SAT for seconds) leaves a window: after the round
read its snapshot and computed, before it stores the result. It lasts until the test creates the release
file, so the test decides what other processes do inside the window instead of guessing at timings.
Loaded by dotted path (`slow_placement:SlowFirstFit`) in a real `rohe orchestration place` process.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from rohe.orchestration.placement import ClusterState, FilterScoreAlgorithm, PlacementResult, ReplicaRequest

MARKER = "ROHE_TEST_PLACE_MARKER"
RELEASE = "ROHE_TEST_PLACE_RELEASE"
# Never hang a test run: a forgotten release lets the round go on after this long.
LONGEST_WAIT = 600.0


class SlowFirstFit:
    name = "slow-first-fit"

    def __init__(self) -> None:
        self.inner = FilterScoreAlgorithm(self.name, None, "first")

    def place(self, cluster: ClusterState, requests: Sequence[ReplicaRequest]) -> PlacementResult:
        result = self.inner.place(cluster, requests)
        with Path(os.environ[MARKER]).open("a") as marker:
            marker.write(f"computed {len(result.placed)}\n")
        release = Path(os.environ[RELEASE])
        deadline = time.monotonic() + LONGEST_WAIT
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        return result
