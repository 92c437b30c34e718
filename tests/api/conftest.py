from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rohe.api.app import create_app
from rohe.core.config import ApiSettings, Settings

TOKEN = "s3cret-api-token-for-tests"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "secure", api=ApiSettings(token=TOKEN))
    with TestClient(create_app(settings)) as c:
        yield c
