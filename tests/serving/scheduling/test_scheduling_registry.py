from __future__ import annotations

import pytest

from rohe.core.errors import InvalidInput, NotFound
from rohe.serving.scheduling import RequestScheduler, available_schedulers, get_scheduler

BUILTINS = ["adaptive", "all-models", "dream", "fastest", "llf", "oracle", "random", "single-best"]


def test_every_builtin_is_listed_and_its_own_class() -> None:
    assert set(BUILTINS) <= set(available_schedulers())
    schedulers = [get_scheduler(name) for name in BUILTINS]
    assert [s.name for s in schedulers] == BUILTINS
    assert all(isinstance(s, RequestScheduler) for s in schedulers)
    assert len({type(s) for s in schedulers}) == len(BUILTINS)


def test_dotted_path_loads_a_class_or_instance() -> None:
    assert get_scheduler("rohe.serving.scheduling.algorithms:Dream").name == "dream"
    assert get_scheduler("rohe.serving.scheduling.baselines.Oracle").name == "oracle"


def test_unknown_name_names_the_field_and_the_choices() -> None:
    with pytest.raises(NotFound) as caught:
        get_scheduler("quickest")
    problem = caught.value.problems[0]
    assert problem.location == "scheduler"
    assert "dream" in problem.hint


def test_missing_module_and_attribute_are_not_found() -> None:
    with pytest.raises(NotFound) as module:
        get_scheduler("no_such_package_xyz.mod:Thing")
    assert module.value.problems[0].location == "scheduler"
    with pytest.raises(NotFound) as attribute:
        get_scheduler("rohe.serving.scheduling.algorithms:Nope")
    assert "Nope" in attribute.value.problems[0].message


def test_an_object_without_plan_is_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        get_scheduler("rohe.serving.scheduling.base:DEFAULT_CONFIDENCE_THRESHOLD")
    assert "RequestScheduler" in caught.value.problems[0].hint
