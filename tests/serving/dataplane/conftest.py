"""The model farm, started once per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dataplane_farm import ModelFarm, serve_farm


@pytest.fixture(scope="module")
def farm() -> Iterator[ModelFarm]:
    yield from serve_farm()
