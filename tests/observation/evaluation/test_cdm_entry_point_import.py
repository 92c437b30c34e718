"""An entry point whose module registers its derivation on import (as the example apps do) must not deadlock
the agent: the entry points are loaded under the registry's lock, and the import registers under it too."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from rohe.observation.evaluation import cdm_expressions
from rohe.observation.evaluation.cdm_expressions import Row


class _Echo:
    def derive(self, requests: list[Row], members: list[Row]) -> tuple[list[Row], list[Row]]:
        return requests, members


class _SelfRegistering:
    name = "other-app"
    value = "tests:self_registering"

    def load(self) -> Any:
        # What importing rohe.examples.cctvs does: register at import time, while the lock is held.
        cdm_expressions.register_derivation("self-registering", _Echo())
        return _Echo


def test_an_entry_point_that_registers_on_import_does_not_deadlock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cdm_expressions, "_entry_points_loaded", False)
    monkeypatch.setattr(cdm_expressions, "_registry", {})
    monkeypatch.setattr(cdm_expressions, "entry_points", lambda group: [_SelfRegistering()])
    found: list[object] = []
    worker = threading.Thread(target=lambda: found.append(cdm_expressions.derivation_for("self-registering")),
                              daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "derivation_for deadlocked on its own lock"
    assert isinstance(found[0], _Echo)
