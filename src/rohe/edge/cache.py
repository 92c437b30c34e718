"""A site's cache: the last plans, endpoints and contracts it got from the central services, on disk in the
site's data dir, so a site (re)started while orchestration is unreachable serves from what it last knew.

One JSON document per name (`<dir>/<name>.json`), each written whole (temporary file, fsync, rename), so a
crash mid-write leaves the previous version, never half a file. A document that cannot be read is reported
as missing with a warning: a cache may be stale, but it never stops a site from starting with fresh input.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from rohe.core.errors import InvalidInput, Problem

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


class SiteCache:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise InvalidInput(
                "invalid cache entry name", [Problem("name", f"{name!r}", "lower-case letters, digits and '-'")]
            )
        return self.directory / f"{name}.json"

    def save(self, name: str, document: Any) -> None:
        target = self.path(name)
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def load(self, name: str) -> Any | None:
        target = self.path(name)
        try:
            return json.loads(target.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("site cache %s is unreadable (%s); ignoring it", target, exc)
            return None
