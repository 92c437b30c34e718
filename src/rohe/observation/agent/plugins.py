"""User code an agent runs: window functions (extra metrics per window) and a parser (own wire format).

Each is named by an entry point (groups `rohe.observation.window_functions`, `rohe.observation.parsers`) or by a
dotted path `package.module:function` of an installed module. Errors name the config field to fix.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from rohe.core.errors import InvalidInput, Problem
from rohe.core.plugins import import_dotted
from rohe.observation.agent.aggregate import WindowFunction
from rohe.observation.agent.config import AgentConfig
from rohe.observation.agent.decoding import Parser

WINDOW_FUNCTION_GROUP = "rohe.observation.window_functions"
PARSER_GROUP = "rohe.observation.parsers"


def resolve_plugin(reference: str, group: str, setting: str) -> Callable[..., Any]:
    """The callable an entry point name or dotted path refers to."""
    for entry in entry_points(group=group, name=reference):
        target = entry.load()
        break
    else:
        target = import_dotted(reference, setting)
    if target is None:
        raise InvalidInput(
            f"cannot find plugin '{reference}'",
            [
                Problem(
                    setting,
                    f"'{reference}' is neither an entry point in '{group}' nor an importable 'package.module:name'",
                    "install the package that provides it and check the spelling",
                )
            ],
        )
    if not callable(target):
        raise InvalidInput(
            f"plugin '{reference}' is not callable",
            [Problem(setting, f"'{reference}' is a {type(target).__name__}", "point it at a function")],
        )
    function: Callable[..., Any] = target
    return function


def load_window_functions(config: AgentConfig) -> dict[str, WindowFunction]:
    return {
        name: resolve_plugin(path, WINDOW_FUNCTION_GROUP, f"window_functions.{name}")
        for name, path in config.window_functions.items()
    }


def load_parser(config: AgentConfig) -> Parser | None:
    return None if config.parser is None else resolve_plugin(config.parser, PARSER_GROUP, "parser")
