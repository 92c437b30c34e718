"""Loading user plugins by dotted path, shared by every algorithm registry.

Plugins come from installed packages through importlib; sys.path is never edited.
"""

from __future__ import annotations

import importlib
from typing import Any

from rohe.core.errors import InvalidInput, Problem


def import_dotted(path: str, setting: str) -> Any | None:
    """The object `package.module:attr` or `package.module.attr` names, or None when it names nothing
    (no such module or attribute), so the caller can report an unknown name in its own words.

    A module that exists but fails its own imports is a broken plugin, not an unknown name: that raises
    InvalidInput located at `setting`.
    """
    module_name, _, attribute = path.partition(":") if ":" in path else path.rpartition(".")
    if not module_name or not attribute:
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name is not None and module_name.startswith(exc.name):
            return None
        raise InvalidInput(
            f"plugin '{path}' failed to import",
            [Problem(setting, str(exc), "fix the plugin module or its dependencies")],
        ) from None
    return getattr(module, attribute, None)
