"""A trained-once cache of an example's fitted objects (models, scalers), keyed by what produced them.

The key hashes a recipe the example gives (training-code version, hyper-parameters, library versions) and a
fingerprint of the training data, so changing either lands in a new directory. Every object is a joblib
file written beside its final name and renamed over it; a manifest listing the objects and each file's
SHA-256 is written last. Loading checks the manifest, every checksum and every unpickling: anything that
does not match (truncated, edited, half-written, from an older recipe) is retrained and rewritten, never
trusted, since the cache holds nothing a user wrote.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib  # type: ignore[import-untyped]
import numpy as np
import sklearn  # type: ignore[import-untyped]

MANIFEST = "manifest.json"


def fingerprint(*arrays: Any) -> str:
    """Hex digest of arrays' dtypes, shapes and bytes: the training data's identity."""
    digest = hashlib.sha256()
    for array in arrays:
        a = np.ascontiguousarray(array)
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def recipe_key(recipe: Mapping[str, Any], data_fingerprint: str) -> str:
    document = {"recipe": recipe, "data": data_fingerprint, "sklearn": sklearn.__version__}
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=repr).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Cached:
    """The fitted objects by name, where they are stored, and whether this call had to train them."""

    objects: dict[str, Any]
    directory: Path
    trained: bool


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _dump(value: Any, path: Path) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(handle)
    try:
        joblib.dump(value, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _load(directory: Path, names: tuple[str, ...]) -> dict[str, Any] | None:
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    checksums = manifest.get("sha256") if isinstance(manifest, dict) else None
    if not isinstance(checksums, dict) or sorted(checksums) != sorted(names):
        return None
    loaded: dict[str, Any] = {}
    for name in names:
        path = directory / f"{name}.joblib"
        try:
            if _sha256(path) != checksums[name]:
                return None
            loaded[name] = joblib.load(path)
        except (OSError, EOFError, ValueError, KeyError, AttributeError, ImportError, pickle.UnpicklingError):
            return None
    return loaded


def ensure_cached(
    root: Path, key: str, names: tuple[str, ...], train: Callable[[], Mapping[str, Any]]
) -> Cached:
    """The objects `names` from `root/key`, or `train()`'s (which must return exactly those) saved there."""
    directory = root / key
    loaded = _load(directory, names)
    if loaded is not None:
        return Cached(loaded, directory, trained=False)
    fitted = dict(train())
    if sorted(fitted) != sorted(names):
        raise ValueError(f"training returned {sorted(fitted)}, expected {sorted(names)}")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MANIFEST).unlink(missing_ok=True)  # the old manifest must not vouch for new files
    for name in names:
        _dump(fitted[name], directory / f"{name}.joblib")
    manifest = {"key": key, "sha256": {name: _sha256(directory / f"{name}.joblib") for name in names}}
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{MANIFEST}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(json.dumps(manifest, indent=2) + "\n")
    os.replace(temporary, directory / MANIFEST)
    return Cached(fitted, directory, trained=True)
