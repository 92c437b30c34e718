"""The console's reports view: the report and experiment folders rohe wrote, with their tables and plots.

Folders are looked for only under the roots the operator configured when the console was built (the data dir
and, optionally, a reports dir), never under a path from a request. A request names a folder by its id (its path
relative to a root, as listed) and a file by its name inside that folder; both are resolved and checked to stay
inside the root, so `..`, absolute paths and symlinks out are refused.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rohe.core.errors import NotFound, Problem

TABLE_SUFFIXES = (".csv",)
PLOT_SUFFIXES = (".png", ".svg")
DOC_SUFFIXES = (".json", ".html", ".md", ".txt", ".yaml")
SHOWN = TABLE_SUFFIXES + PLOT_SUFFIXES + DOC_SUFFIXES
MAX_DEPTH = 3
MAX_ROWS = 200
MAX_TEXT = 200_000


@dataclass(frozen=True)
class ReportFolder:
    id: str  # "<root index>/<path relative to the root>"
    path: Path
    files: tuple[str, ...]

    @property
    def title(self) -> str:
        return self.id.split("/", 1)[1] or self.path.name


def _scan(root: Path, index: int) -> list[ReportFolder]:
    found: list[ReportFolder] = []
    base = root.resolve()
    if not base.is_dir():
        return found
    stack = [(base, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        files = tuple(e.name for e in entries if e.is_file() and e.suffix.lower() in SHOWN)
        if any(f.endswith(TABLE_SUFFIXES + PLOT_SUFFIXES) for f in files):
            relative = folder.relative_to(base).as_posix()
            found.append(ReportFolder(f"{index}/{'' if relative == '.' else relative}", folder, files))
        if depth < MAX_DEPTH:
            stack += [(e, depth + 1) for e in entries
                      if e.is_dir() and not e.is_symlink() and not e.name.startswith(".")]
    return found


def list_folders(roots: Sequence[Path]) -> list[ReportFolder]:
    folders: list[ReportFolder] = []
    for index, root in enumerate(roots):
        folders += _scan(root, index)
    return sorted(folders, key=lambda f: f.id)


def _unknown(folder_id: str) -> NotFound:
    return NotFound(f"no report folder {folder_id!r}",
                    [Problem("folder", "not one of the listed report folders", "open one from /ui/reports")])


def get_folder(roots: Sequence[Path], folder_id: str) -> ReportFolder:
    for folder in list_folders(roots):
        if folder.id == folder_id:
            return folder
    raise _unknown(folder_id)


def file_path(roots: Sequence[Path], folder_id: str, name: str) -> Path:
    """A listed file of a listed folder; NotFound for anything else (no traversal, no unlisted files)."""
    folder = get_folder(roots, folder_id)
    if name not in folder.files:
        raise NotFound(f"no file {name!r} in report folder {folder_id!r}",
                       [Problem("file", "not listed in the folder", "open one of the files the folder lists")])
    path = (folder.path / name).resolve()
    if path.parent != folder.path.resolve():
        raise _unknown(folder_id)
    return path


def _table(path: Path) -> dict[str, Any]:
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        rows: list[list[str]] = []
        total = 0
        for row in reader:
            total += 1
            if len(rows) < MAX_ROWS:
                rows.append(row)
    return {"name": path.name, "header": header, "rows": rows, "total": total}


def folder_view(roots: Sequence[Path], folder_id: str) -> dict[str, Any]:
    folder = get_folder(roots, folder_id)
    tables = [_table(folder.path / f) for f in folder.files if f.endswith(TABLE_SUFFIXES)]
    plots = [f for f in folder.files if f.endswith(PLOT_SUFFIXES)]
    summary = None
    if "summary.json" in folder.files:
        text = (folder.path / "summary.json").read_text(encoding="utf-8", errors="replace")[:MAX_TEXT]
        try:
            summary = json.dumps(json.loads(text), indent=2)[:MAX_TEXT]
        except ValueError:
            summary = text
    others = [f for f in folder.files if f.endswith(DOC_SUFFIXES) and f != "summary.json"]
    return {"id": folder.id, "title": folder.title, "tables": tables, "plots": plots, "summary": summary,
            "files": others}
