"""The agent against rohe's real ObservationStore (SQLite and PostgreSQL): windows stored, restart resumes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from observation.agent.support import feedback, request
from rohe.core.storage import Store
from rohe.observation.agent import AgentConfig, ObservationAgent
from rohe.observation.metrics import ALL_CONSUMERS

store_module = pytest.importorskip("rohe.observation.store")


@pytest.fixture
def observation_store(store: Store) -> Iterator[object]:
    yield store_module.ObservationStore(store)


def _config() -> AgentConfig:
    return AgentConfig.model_validate(
        {"app": "app", "run": "run", "windows": [{"size_s": 10}], "allowed_lateness_s": 0, "idle_close_s": None}
    )


def test_windows_and_state_round_trip_through_the_database(observation_store: object) -> None:
    first = [request(t, f"q{t}", predicted="cat") for t in (1, 5, 12, 22)]
    agent = ObservationAgent(_config(), observation_store)  # type: ignore[arg-type]
    agent.ingest(first)  # [0, 10) and [10, 20) stored; [20, 30) open
    # The process dies; its successor reads the state back from the database and gets a replay plus news.
    resumed = ObservationAgent(_config(), observation_store)  # type: ignore[arg-type]
    resumed.ingest([*first, request(25, "q25"), feedback(26, "q1", "cat")])
    resumed.flush()
    assert (resumed.stats.late_dropped, resumed.stats.duplicates) == (3, 1)
    windows = observation_store.list_windows("app", run="run", consumer=ALL_CONSUMERS)  # type: ignore[attr-defined]
    assert [(w.start.second, w.requests) for w in windows] == [(0, 2), (10, 1), (20, 1)]
    assert windows[-1].accuracy == 1.0, "the prediction was remembered from the replay before the feedback"
