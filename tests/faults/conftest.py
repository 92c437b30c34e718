"""Fault tests kill real processes: private brokers (tests/faults/brokers.py) and agents run as child processes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from rohe.observation.store import ObservationStore


@pytest.fixture
def obs_store(tmp_path: Path) -> Iterator[tuple[ObservationStore, str]]:
    """A file database the test and its agent processes share, and the test's own handle on it."""
    url = f"sqlite:///{tmp_path / 'rohe.db'}"
    store = ObservationStore(url)
    yield store, url
    store.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
