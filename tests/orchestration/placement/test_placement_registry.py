"""Resolving algorithms: built-in names, entry points, dotted paths, and the errors for bad names."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from factories import node, service
from rohe.core.config import OrchestrationSettings
from rohe.core.errors import InvalidInput
from rohe.orchestration.placement import ClusterState, ReplicaRequest, available_algorithms, get_algorithm, registry

PLUGINS = "orchestration.placement.placement_plugins"


def test_builtins_are_listed_and_resolve_to_their_names() -> None:
    names = available_algorithms()
    assert names[:5] == ["rohe-scoring", "least-allocated", "most-allocated", "balanced", "optimal"]
    assert [get_algorithm(n).name for n in names[:5]] == names[:5]


@pytest.mark.parametrize("path", [f"{PLUGINS}:LastNodeFirst", f"{PLUGINS}.LastNodeFirst"])
def test_dotted_path_plugin_gets_the_settings(path: str) -> None:
    settings = OrchestrationSettings(strategy="worst-fit")
    algorithm = get_algorithm(path, settings)
    assert algorithm.name == "last-node-first"
    assert algorithm.settings is settings  # type: ignore[attr-defined]

    result = algorithm.place(ClusterState.build([node("a"), node("b"), node("c")]), [ReplicaRequest(service("x"), 0)])
    assert result.placed[("x", 0)].node == "c"


def test_plugin_without_settings_and_a_one_node_filter() -> None:
    algorithm = get_algorithm(f"{PLUGINS}:NoSettings")
    state = ClusterState.build([node("a"), node("b"), node("c", cores=1)])
    requests = [ReplicaRequest(service("x", cpu=3000), 0), ReplicaRequest(service("x", cpu=3000), 1)]

    result = algorithm.place(state, requests)

    assert result.placed[("x", 0)].node == "b"
    assert result.unplaced[("x", 1)] == "0/3 nodes are available: 2 insufficient cpu, 1 even node."


def test_entry_point_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = EntryPoint(name="backwards", value=f"{PLUGINS}:LastNodeFirst", group=registry.ENTRY_POINT_GROUP)

    def fake_entry_points(group: str, name: str | None = None) -> list[EntryPoint]:
        return [entry] if group == registry.ENTRY_POINT_GROUP and name in (None, entry.name) else []

    monkeypatch.setattr(registry, "entry_points", fake_entry_points)

    assert "backwards" in available_algorithms()
    assert get_algorithm("backwards").name == "last-node-first"


@pytest.mark.parametrize("name", ["no-such-algorithm", "no_such_module:Thing", f"{PLUGINS}:Missing"])
def test_unknown_name_names_the_setting_and_lists_the_choices(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        get_algorithm(name)
    (problem,) = caught.value.problems
    assert problem.location == "orchestration.algorithm"
    assert "rohe-scoring" in problem.hint and "optimal" in problem.hint


@pytest.mark.parametrize(("target", "message"), [("not_a_class", "not a class"), ("NotAnAlgorithm", "not a placement")])
def test_wrong_kind_of_object_is_refused(target: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        get_algorithm(f"{PLUGINS}:{target}")
