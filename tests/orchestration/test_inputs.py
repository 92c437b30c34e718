"""Node and service files in our schema: every shape reads, and every bad input names its field and fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from factories import node_doc, service_doc
from rohe.core.domain import Node, NodeStatus, Service
from rohe.core.errors import InvalidInput
from rohe.demo import data_file
from rohe.orchestration.inputs import load_nodes, load_services, read_command, read_nodes, read_services
from rohe.orchestration.placement import ClusterState, PlacementResult, ReplicaRequest, get_algorithm

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "clusters"


def problems(call: Any, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as caught:
        call(*args, **kwargs)
    assert all(p.hint for p in caught.value.problems), str(caught.value)
    return [(p.location, p.message) for p in caught.value.problems]


def locations(call: Any, *args: Any, **kwargs: Any) -> list[str]:
    return [location for location, _ in problems(call, *args, **kwargs)]


@pytest.mark.parametrize(
    "document",
    [node_doc("a"), {"nodes": [node_doc("a")]}, [node_doc("a")]],
    ids=["one mapping", "nodes list", "bare list"],
)
def test_every_node_file_shape_reads(document: Any) -> None:
    (node,) = read_nodes(document)
    assert node.name == "a" and node.cores == [1000] * 4 and node.memory.rss == 4096


@pytest.mark.parametrize(
    "document",
    [service_doc("web"), {"services": [service_doc("web")]}, [service_doc("web")]],
    ids=["one mapping", "services list", "bare list"],
)
def test_every_service_file_shape_reads(document: Any) -> None:
    (service,) = read_services(document)
    assert (service.name, service.cpu, service.application) == ("web", 500, "default")


def test_application_overrides_what_the_file_says() -> None:
    document = {"services": [service_doc("a", application="shop"), service_doc("b")]}
    assert {s.application for s in read_services(document, application="lab")} == {"lab"}
    assert [s.application for s in read_services(document)] == ["shop", "default"]
    assert locations(read_services, document, application="") == ["application"]


def test_files_load_from_disk_as_yaml_and_json(tmp_path: Path) -> None:
    (tmp_path / "nodes.yaml").write_text(yaml.safe_dump({"nodes": [node_doc("a"), node_doc("b")]}))
    (tmp_path / "svc.json").write_text(json.dumps([service_doc("web", replicas=2)]))
    assert [n.name for n in load_nodes(tmp_path / "nodes.yaml")] == ["a", "b"]
    assert load_services(tmp_path / "svc.json", application="shop")[0].application == "shop"


@pytest.mark.parametrize(
    ("text", "where"),
    [("nodes: [name: a\n", "line"), ('{"nodes": [}', "line 1"), ("nodes:\n  - name: a\n bad: 1\n", "line")],
    ids=["yaml", "json", "indentation"],
)
def test_malformed_files_say_where(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "nodes.yaml"
    path.write_text(text)
    (location,) = locations(load_nodes, path)
    assert location.startswith(where)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "nodes: []\n", "[]", "{}"])
def test_an_empty_file_is_rejected(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(text)
    ((location, message),) = problems(load_nodes, path)
    assert location == "nodes" and "no nodes" in message
    assert locations(read_services, None) == ["services"]


def test_a_missing_file_is_reported() -> None:
    (location,) = locations(load_nodes, Path("/nonexistent/nodes.yaml"))
    assert location.endswith("nodes.yaml")


def bad_node(**changes: Any) -> dict[str, Any]:
    document = node_doc("b")
    for dotted, value in changes.items():
        target = document
        *parents, last = dotted.split("__")
        for part in parents:
            target = target[part]
        if value is None:
            del target[last]
        else:
            target[last] = value
    return document


@pytest.mark.parametrize(
    ("entry", "location"),
    [
        (bad_node(memory__rss=-5), "nodes[1].memory.rss"),
        (bad_node(memory=None), "nodes[1].memory"),
        (bad_node(cores=None), "nodes[1].cores"),
        (bad_node(cores=[]), "nodes[1].cores"),
        (bad_node(cores=[1000, -1]), "nodes[1].cores[1]"),
        (bad_node(colour="red"), "nodes[1].colour"),
        (bad_node(memory__swap=1), "nodes[1].memory.swap"),
        (bad_node(accelerators={"gpu": -1}), "nodes[1].accelerators.gpu"),
        (bad_node(name="no spaces"), "nodes[1].name"),
        (bad_node(name=None), "nodes[1].name"),
        (bad_node(status="asleep"), "nodes[1].status"),
    ],
)
def test_bad_node_entries_name_the_entry_and_field(entry: dict[str, Any], location: str) -> None:
    assert locations(read_nodes, {"nodes": [node_doc("a"), entry]}) == [location]


def test_locations_follow_the_shape_of_the_file() -> None:
    assert locations(read_nodes, [node_doc("a"), bad_node(memory__rss=-1)]) == ["[1].memory.rss"]
    assert locations(read_nodes, bad_node(memory__rss=-1)) == ["memory.rss"]


@pytest.mark.parametrize(
    ("entry", "location"),
    [
        (service_doc("web", cpu=-1), "services[0].cpu"),
        (service_doc("web", replicas=-2), "services[0].replicas"),
        (service_doc("web", processor=[100, -1]), "services[0].processor[1]"),
        (service_doc("web", ports=[80, 80]), "services[0]"),
        (service_doc("web", sensitivity=7), "services[0].sensitivity"),
        (service_doc("web", gpu=1), "services[0].gpu"),
        (service_doc("Web"), "services[0].name"),
    ],
)
def test_bad_service_entries_name_the_entry_and_field(entry: dict[str, Any], location: str) -> None:
    assert locations(read_services, {"services": [entry]}) == [location]


def test_a_service_processor_longer_than_any_node_is_accepted_at_load_time() -> None:
    (service,) = read_services(service_doc("wide", processor=[100] * 64))
    assert len(service.processor) == 64


def test_duplicates_name_both_positions() -> None:
    ((location, message),) = problems(read_nodes, {"nodes": [node_doc("a"), node_doc("b"), node_doc("a")]})
    assert location == "nodes[2]" and "nodes[0]" in message
    ((location, message),) = problems(read_services, [service_doc("x"), service_doc("x")])
    assert location == "[1]" and "[0]" in message


def test_all_problems_are_reported_together() -> None:
    document = {"nodes": [bad_node(memory__rss=-1), "oops", bad_node(colour="red")]}
    assert locations(read_nodes, document) == ["nodes[0].memory.rss", "nodes[1]", "nodes[2].colour"]


def test_unknown_top_level_keys_and_wrong_containers_are_named() -> None:
    assert locations(read_nodes, {"nodes": [node_doc("a")], "extra": 1}) == ["extra"]
    assert locations(read_nodes, {"nodes": node_doc("a")}) == ["nodes"]
    assert locations(read_nodes, "just text") == ["<root>"]


@pytest.mark.parametrize(
    ("call", "document", "location", "suggested"),
    [
        (read_services, {"nodes": [node_doc("a")]}, "nodes", "add-node"),
        (read_services, [node_doc("a")], "[0]", "add-node"),
        (read_services, node_doc("a"), "<root>", "add-node"),
        (read_nodes, {"services": [service_doc("web")]}, "services", "add-service"),
        (read_nodes, [service_doc("web")], "[0]", "add-service"),
        (
            read_nodes,
            {"command": "ADD SERVICE", "data": {"app": {"web": {"service_name": "web"}}}},
            "command",
            "add-service",
        ),
        (read_nodes, {"command": "GET ALL NODES"}, "command", "get-node"),
    ],
)
def test_the_wrong_kind_of_file_says_so_and_suggests_the_command(
    call: Any, document: Any, location: str, suggested: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        call(document)
    (problem,) = caught.value.problems
    assert problem.location == location and suggested in problem.hint


def test_read_command_parses_envelopes_only() -> None:
    command = read_command({"command": "remove  all node", "application": "shop", "data": {"x": 1}})
    assert command is not None
    assert (command.command, command.application, command.data) == ("REMOVE ALL NODE", "shop", {"x": 1})
    assert read_command({"nodes": []}) is None and read_command([1]) is None and read_command(None) is None


# -- the example cluster and pipeline (shipped with the package, linked from examples/clusters) ----------------
def example() -> tuple[list[Node], list[Service]]:
    return load_nodes(data_file("edge-cluster.yaml")), load_services(data_file("pipeline.yaml"))


def place(nodes: list[Node], services: list[Service], held: list[tuple[str, Any]] | None = None) -> PlacementResult:
    requests = [ReplicaRequest(s, i) for s in services for i in range(s.replicas)]
    return get_algorithm("rohe-scoring").place(ClusterState.build(nodes, held or []), requests)


@pytest.mark.parametrize("name", ["edge-cluster.yaml", "pipeline.yaml"])
def test_examples_link_to_the_packaged_files(name: str) -> None:
    link = EXAMPLES / name
    assert link.is_symlink() and not Path(link.readlink()).is_absolute()
    assert link.resolve() == data_file(name).resolve()


def test_the_example_cluster_and_pipeline_read_as_described() -> None:
    nodes, services = example()
    assert len(nodes) == 8 and {n.architecture for n in nodes} == {"arm64", "amd64"}
    assert {n.labels["rohe.io/tier"] for n in nodes} == {"edge", "fog"}
    assert sum(1 for n in nodes if n.accelerators.get("gpu") == 100) == 3
    assert load_nodes(EXAMPLES / "edge-cluster.yaml") == nodes
    assert {s.application for s in services} == {"object-classification"}
    assert sum(1 for s in services if s.name.startswith("inference-")) == 3
    assert any(s.needed_accelerators for s in services)
    assert any(s.spread for s in services) and any(s.node_selector for s in services)
    assert all(1 <= s.replicas <= 3 and s.ports and s.processor for s in services)
    assert all(s.command and "{port}" in s.command for s in services)


def test_the_example_pipeline_fits_with_room_to_spare() -> None:
    nodes, services = example()
    result = place(nodes, services)
    assert result.unplaced == {}
    assert len(result.placed) == sum(s.replicas for s in services)
    # "comfortably": the pipeline asks for well under half of the cluster's CPU and memory
    assert sum(s.cpu_demand * s.replicas for s in services) * 2 < sum(n.cpu_capacity for n in nodes)
    assert sum(s.memory.rss * s.replicas for s in services) * 2 < sum(n.memory.rss for n in nodes)


def test_the_example_pipeline_still_fits_when_the_busiest_node_is_drained() -> None:
    nodes, services = example()
    first = place(nodes, services)
    per_node: dict[str, list[tuple[str, int]]] = {}
    for key, allocation in first.placed.items():
        per_node.setdefault(allocation.node, []).append(key)
    busiest = max(per_node, key=lambda n: len(per_node[n]))
    cordoned = [n.model_copy(update={"status": NodeStatus.CORDONED}) if n.name == busiest else n for n in nodes]
    held = [(key[0], a) for key, a in first.placed.items() if a.node != busiest]
    by_name = {s.name: s for s in services}
    requeued = [ReplicaRequest(by_name[service], index) for service, index in per_node[busiest]]
    second = get_algorithm("rohe-scoring").place(ClusterState.build(cordoned, held), requeued)
    assert second.unplaced == {} and len(second.placed) == len(requeued)
    assert all(a.node != busiest for a in second.placed.values())


@pytest.mark.parametrize("missing", [n.name for n in example()[0]])
def test_the_example_pipeline_fits_without_any_single_node(missing: str) -> None:
    nodes, services = example()
    assert place([n for n in nodes if n.name != missing], services).unplaced == {}


def test_a_whole_pipeline_spec_places_its_services_under_its_application() -> None:
    from rohe.examples.object_classification import data_file

    services = load_services(data_file("pipeline.yaml"))
    assert {s.application for s in services} == {"object-classification"}
    assert "oc-knn" in {s.name for s in services}
    assert {s.application for s in load_services(data_file("pipeline.yaml"), application="other")} == {"other"}
