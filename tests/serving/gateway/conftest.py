"""The model farm, started once per session for every gateway test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gateway_farm import Farm, serve_farm


@pytest.fixture(scope="session")
def farm() -> Iterator[Farm]:
    yield from serve_farm()
