"""The console's shared builds and incremental window reads: what keeps it usable at fleet size."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from seeding import APP, RUN, seed

from rohe.core.config import Settings
from rohe.platform import Platform
from rohe.ui.live import SharedViews
from rohe.ui.quality import SeriesCache, consumer_views


def test_concurrent_callers_share_one_build_and_it_is_rebuilt_after_the_ttl() -> None:
    now = [0.0]
    views = SharedViews(ttl=1.0, clock=lambda: now[0])
    builds: list[int] = []

    def build() -> dict[str, Any]:
        builds.append(1)
        time.sleep(0.05)
        return {"n": len(builds)}

    results: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: results.append(views.get("cluster", build))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1 and all(r == {"n": 1} for r in results)
    now[0] = 0.5
    assert views.get("cluster", build) == {"n": 1}
    now[0] = 1.5
    assert views.get("cluster", build) == {"n": 2}
    assert views.pause("cluster", 1.0) == 1.0  # a build costing less than the interval does not slow the stream


def test_a_slow_build_slows_its_stream_down() -> None:
    now = [0.0]
    views = SharedViews(ttl=1.0, clock=lambda: now[0])

    def build() -> dict[str, Any]:
        now[0] += 3.0  # the build took three seconds
        return {}

    views.get("apps", build)
    assert views.pause("apps", 1.0) == 3.0


def test_the_series_cache_reads_only_new_windows_and_sees_them(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    seed(settings, nodes=2, replicas=2, windows=5)
    platform = Platform.open(settings)
    try:
        cache = SeriesCache()
        first = {v["consumer"]: v for v in consumer_views(platform.observation, APP, RUN, cache)}
        consumer = next(iter(first))
        assert len(first[consumer]["series"]) == 5
        newest = platform.observation.store.list_windows(APP, RUN, consumer, limit=1)[-1]
        later = newest.model_copy(update={"start": newest.end, "end": newest.end + timedelta(seconds=10),
                                          "requests": 7})
        platform.observation.store.save_windows([later])
        second = {v["consumer"]: v for v in consumer_views(platform.observation, APP, RUN, cache)}
        assert len(second[consumer]["series"]) == 6
        assert second[consumer]["latest"]["requests"] == 7
    finally:
        platform.close()
