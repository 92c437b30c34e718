"""Reading YAML/JSON documents safely and turning validation failures into named problems."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rohe.core.errors import InvalidInput, Problem


def parse_document(text: str, source: str = "<input>") -> Any:
    """Parse YAML or JSON text (JSON is YAML, but its errors read better from the JSON parser)."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"{source} is not valid JSON",
                [Problem(f"line {exc.lineno}, column {exc.colno}", exc.msg, "fix the JSON syntax")],
            ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidInput(
            f"{source} is not valid YAML", [Problem(where, str(problem), "fix the YAML syntax")]
        ) from None


def load_document(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(
            f"file not found: {path}", [Problem(str(path), "does not exist", "check the path")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}") from None
    return parse_document(text, str(path))


def problems_from_validation(exc: ValidationError, prefix: str = "") -> list[Problem]:
    """One Problem per pydantic error, located by a dotted path such as `nodes[2].memory.rss`."""
    problems = []
    for error in exc.errors(include_url=False):
        location = prefix
        for part in error["loc"]:
            location += f"[{part}]" if isinstance(part, int) else (f".{part}" if location else str(part))
        problems.append(Problem(location or "<root>", error["msg"], _hint_for(error["type"])))
    return problems


def _hint_for(error_type: str) -> str:
    hints = {
        "extra_forbidden": "remove this field or check its spelling",
        "missing": "add this field",
        "greater_than_equal": "use a value that is not negative",
        "int_parsing": "use a whole number",
        "float_parsing": "use a number",
        "too_short": "give at least one value",
        "string_pattern_mismatch": "use letters, digits and '-' only",
    }
    return hints.get(error_type, "")
