from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder as the current directory, with rohe's state kept inside it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROHE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ROHE_CONFIG", raising=False)
    return tmp_path
