from __future__ import annotations

import pytest

from rohe.core.errors import InvalidInput
from rohe.core.plugins import import_dotted


def test_both_spellings_find_the_object() -> None:
    assert import_dotted("rohe.core.errors:InvalidInput", "x") is InvalidInput
    assert import_dotted("rohe.core.errors.InvalidInput", "x") is InvalidInput


@pytest.mark.parametrize("path", ["no_such_module_xyz:Thing", "rohe.core.errors:Nope", "plain-name"])
def test_names_that_point_nowhere_are_none(path: str) -> None:
    assert import_dotted(path, "x") is None


def test_a_plugin_failing_its_own_imports_is_an_error_at_the_setting() -> None:
    with pytest.raises(InvalidInput) as caught:
        import_dotted("broken_plugin:Thing", "orchestration.algorithm")
    (problem,) = caught.value.problems
    assert problem.location == "orchestration.algorithm"
    assert "no_such_dependency_for_rohe_tests" in problem.message
