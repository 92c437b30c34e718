"""The example edge cluster and pipeline `rohe demo` runs on (shipped with the package)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def data_file(name: str) -> Path:
    return Path(str(files("rohe.demo") / "data" / name))
