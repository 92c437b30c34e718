"""The original ROHE files: every shared command file reads as ROHE meant it, converted to our units."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from factories import node, service
from rohe.core.config import OrchestrationSettings
from rohe.core.errors import InvalidInput
from rohe.core.loading import load_document
from rohe.core.rohe_config import settings_from_rohe_config
from rohe.orchestration.inputs import read_command, read_nodes, read_services
from rohe.orchestration.placement import ClusterState, ReplicaRequest, get_algorithm
from rohe.orchestration.rohe_format import is_rohe_document

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "rohe-inputs"
COMMANDS = SHARED / "orchestration_command"

# file -> (ROHE command or None for the envelope-less JSON, nodes in it, services in it)
EXPECTED: dict[str, tuple[str | None, int, int]] = {
    "add_node.json": (None, 9, 0),
    "add_node.yaml": ("ADD NODE", 10, 0),
    "add_service.json": (None, 0, 9),
    "add_service.yaml": ("ADD SERVICE", 0, 9),
    "get_node.yaml": ("GET ALL NODES", 0, 0),
    "get_service.yaml": ("GET ALL SERVICES", 0, 0),
    "remove_node.yaml": ("REMOVE ALL NODE", 0, 0),
    "start_orchestration.yaml": ("START AGENT", 0, 0),
    "stop_orchestration.yaml": ("STOP AGENT", 0, 0),
}
# The table plus whatever the folder holds: a new shared file without an expectation fails, and so
# does a missing folder (the table's files cannot be read), instead of an empty, skipped parametrisation.
ALL_FILES = sorted(set(EXPECTED) | {p.name for p in COMMANDS.glob("*")})


def test_the_shared_command_folder_holds_exactly_the_expected_files() -> None:
    assert COMMANDS.is_dir(), f"{COMMANDS} is missing: the shared ROHE inputs must sit next to the repository"
    assert sorted(p.name for p in COMMANDS.glob("*")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", ALL_FILES)
def test_every_shared_command_file_reads_as_rohe_meant_it(name: str) -> None:
    assert name in EXPECTED, f"new shared file {name}: add what it should hold to EXPECTED"
    command, node_count, service_count = EXPECTED[name]
    document = load_document(COMMANDS / name)
    assert is_rohe_document(document)
    parsed = read_command(document)
    assert (parsed.command if parsed else None) == command
    if parsed is not None:
        assert parsed.application == "test"
    if node_count:
        assert len(read_nodes(document, name)) == node_count
    else:
        with pytest.raises(InvalidInput) as caught:
            read_nodes(document, name)
        assert caught.value.problems and caught.value.problems[0].hint
    if service_count:
        assert len(read_services(document, name)) == service_count
    else:
        with pytest.raises(InvalidInput) as caught:
            read_services(document, name)
        assert caught.value.problems[0].location in {"data", "command"}


@pytest.mark.parametrize("name", ["add_node.yaml", "add_node.json"])
def test_nodes_are_converted_to_millicores_labels_and_summed_accelerators(name: str) -> None:
    nodes = {n.name: n for n in read_nodes(load_document(COMMANDS / name), name)}
    pi = nodes["RaspberryPi_02"]
    assert pi.cores == [1000, 1000, 1000, 1000] and pi.cpu_capacity == 4000
    assert (pi.memory.rss, pi.memory.vms) == (4096, 4096)
    assert pi.accelerators == {} and pi.frequency == 1.5
    assert pi.labels["kubernetes.io/hostname"] == "RaspberryPi_02"
    assert pi.labels["rohe.io/mac"].count("-") == 5 and ":" not in pi.labels["rohe.io/mac"]
    xavier = nodes["Jetson_xavier_06"]
    assert xavier.cores == [1000] * 8 and xavier.accelerators == {"gpu": 100.0}
    assert (xavier.memory.rss, xavier.memory.vms) == (16384, 16384) and xavier.frequency == 2.3
    assert nodes["Jetson_nano_02"].memory.vms == 2048


def test_mac_comes_from_either_spelling() -> None:
    yaml_nodes = read_nodes(load_document(COMMANDS / "add_node.yaml"))
    json_nodes = read_nodes(load_document(COMMANDS / "add_node.json"))
    assert yaml_nodes[0].labels["rohe.io/mac"] == "82-ae-30-11-38-01"  # from MAC
    assert json_nodes[0].labels["rohe.io/mac"] == "dc-a6-32-07-ab-92"  # from mac_address


@pytest.mark.parametrize("name", ["add_service.yaml", "add_service.json"])
def test_services_are_converted_with_their_application_ports_and_per_core_demand(name: str) -> None:
    services = {s.name: s for s in read_services(load_document(COMMANDS / name), name)}
    web = services["object_detection_web_service"]
    assert web.application == "object_detection"
    assert web.cpu == 424 and web.processor == [500, 50]
    assert (web.memory.rss, web.memory.vms) == (200, 500)
    assert web.ports == [4002, 4003] and web.replicas == 2 and web.image == "rdsea/od_web:2.0"
    assert web.accelerators == {}  # {gpu: 0} means no accelerator
    inference = services["object_detection_inference_service"]
    assert inference.accelerators == {"gpu": 15.0} and inference.processor == [500]
    assert services["kpi_inference_service"].processor == [1000, 800, 800, 800]
    assert services["bts_inference_service"].replicas == 3
    assert {s.application for s in services.values()} == {"object_detection", "kpi", "bts"}


def test_application_override_applies_to_rohe_services() -> None:
    services = read_services(load_document(COMMANDS / "add_service.yaml"), application="shop")
    assert {s.application for s in services} == {"shop"}


def test_orchestration_config_becomes_our_settings() -> None:
    settings = settings_from_rohe_config(load_document(SHARED / "orchestrationConfig.yaml"))
    # strategy 1 is what ROHE calls best fit: it picks the node left with the MOST free, rohe's worst-fit
    assert settings == {"weights": {"cpu": 1.0, "memory": 1.0}, "strategy": "worst-fit", "interval": 10.0}
    assert OrchestrationSettings(**settings).strategy == "worst-fit"


@pytest.mark.parametrize(("code", "strategy"), [(0, "first-fit"), (1, "worst-fit"), (2, "best-fit")])
def test_every_rohe_strategy_code_maps_to_the_same_behaviour(
    code: int, strategy: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert settings_from_rohe_config({"orchestrateConfig": {"strategy": code}}) == {"strategy": strategy}
    notices = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    # the renamed ones say so, in one line; first fit means the same in both
    assert len(notices) == (0 if code == 0 else 1) and all("\n" not in n and strategy in n for n in notices)


@pytest.mark.parametrize(("code", "most_free"), [(1, True), (2, False)])
def test_rohe_strategy_codes_choose_the_node_rohe_chose(code: int, most_free: bool) -> None:
    # ROHE's PriorityAlgorithm: 1 ("best fit") takes the highest rank = most left free; 2 the lowest.
    settings = OrchestrationSettings(**settings_from_rohe_config({"orchestrateConfig": {"strategy": code}}))
    nodes = [node("small", cores=2, rss=2048), node("large", cores=8, rss=16384)]
    cluster = ClusterState.build(nodes)
    result = get_algorithm("rohe-scoring", settings).place(cluster, [ReplicaRequest(service("web"), 0)])
    assert result.placed[("web", 0)].node == ("large" if most_free else "small")


@pytest.mark.parametrize(
    ("config", "location"),
    [
        ({"orchestrateConfig": {"strategy": 7}}, "orchestrateConfig.strategy"),
        ({"orchestrateConfig": {"weights": {"cpu": -1}}}, "orchestrateConfig.weights.cpu"),
        ({"timer": 0}, "timer"),
        ({"timer": "soon"}, "timer"),
    ],
)
def test_bad_orchestration_config_names_the_key(config: dict[str, Any], location: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        settings_from_rohe_config(config)
    assert [p.location for p in caught.value.problems] == [location]


def rohe_node(name: str = "pi_01", **changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "node_name": name,
        "MAC": "aa:bb:cc:dd:ee:ff",
        "status": "running",
        "frequency": 1.5,
        "accelerator": {},
        "cpu": {"capacity": 4000, "used": 0},
        "memory": {"capacity": {"rss": 4096, "vms": 4096}, "used": {"rss": 0, "vms": 0}},
        "processor": {"capacity": [100, 100, 100, 100], "used": [0, 0, 0, 0]},
    }
    entry.update(changes)
    return entry


def add_node(**entries: dict[str, Any]) -> dict[str, Any]:
    return {"application": "test", "command": "ADD NODE", "data": entries}


def rohe_service(name: str = "web", **changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "service_name": name,
        "image": "web:1",
        "cpu": 500,
        "processor": [50],
        "memory": {"rss": 100, "vms": 200},
        "accelerator": {"gpu": 0},
        "replicas": 1,
        "sensitivity": 0,
    }
    entry.update(changes)
    return entry


def problem_locations(call: Any, *args: Any) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        call(*args)
    assert all(p.hint for p in caught.value.problems), caught.value
    return [p.location for p in caught.value.problems]


def test_cores_are_derived_from_cpu_capacity_when_no_per_core_list_is_given() -> None:
    entry = rohe_node()
    del entry["processor"]
    entry["cpu"] = {"capacity": 2500}
    assert read_nodes(add_node(node1=entry))[0].cores == [1000, 1000, 500]


def test_accelerator_capacities_are_summed_per_lower_cased_type() -> None:
    devices = {
        "GPU0": {"type": "GPU", "capacity": 100, "used": 0},
        "GPU1": {"accelerator_type": "gpu", "capacity": 50},
        "TPU0": {"type": "tpu", "capacity": 100},
    }
    node = read_nodes(add_node(node1=rohe_node(accelerator=devices)))[0]
    assert node.accelerators == {"gpu": 150.0, "tpu": 100.0}


def test_used_amounts_unknown_fields_and_mismatched_cpu_are_logged_not_rejected(
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = rohe_node(cpu={"capacity": 3000, "used": 500}, rack="b2")
    with caplog.at_level(logging.WARNING, logger="rohe.orchestration.rohe_format"):
        node = read_nodes(add_node(node1=entry))[0]
    assert node.cpu_capacity == 4000  # the cores win over cpu.capacity
    text = caplog.text
    assert "data.node1.cpu.used" in text and "rack" in text and "differs" in text


def test_zero_used_amounts_log_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="rohe.orchestration.rohe_format"):
        read_nodes(add_node(node1=rohe_node()))
    assert caplog.text == ""


@pytest.mark.parametrize(
    ("entry", "location"),
    [
        (rohe_node(cpu={"capacity": -4000}), "data.node1.cpu.capacity"),
        (rohe_node(cpu={}, processor=None), "data.node1.cpu.capacity"),
        (rohe_node(processor={"capacity": [100, -5]}), "data.node1.processor.capacity[1]"),
        (rohe_node(processor={"capacity": []}), "data.node1.processor.capacity"),
        (rohe_node(memory={"capacity": {"rss": 4096}}), "data.node1.memory.capacity.vms"),
        (rohe_node(memory={"used": {}}), "data.node1.memory.capacity"),
        (rohe_node(memory={"capacity": {"rss": "lots", "vms": 1}}), "data.node1.memory.capacity.rss"),
        (rohe_node(accelerator={"GPU0": {"capacity": 100}}), "data.node1.accelerator.GPU0.type"),
        (rohe_node(accelerator={"GPU0": {"type": "gpu"}}), "data.node1.accelerator.GPU0.capacity"),
        (rohe_node(name="bad name!"), "data.node1.name"),
    ],
)
def test_bad_rohe_node_entries_name_the_field(entry: dict[str, Any], location: str) -> None:
    assert problem_locations(read_nodes, add_node(node1=entry)) == [location]


def test_duplicate_rohe_node_names_name_both_entries() -> None:
    document = add_node(node1=rohe_node("pi"), node2=rohe_node("other"), node3=rohe_node("pi"))
    with pytest.raises(InvalidInput) as caught:
        read_nodes(document)
    (problem,) = caught.value.problems
    assert problem.location == "data.node3" and "data.node1" in problem.message


def test_every_bad_entry_is_reported_at_once() -> None:
    document = add_node(node1=rohe_node(cpu={"capacity": -1}, processor=None), node2=rohe_node(memory=None))
    assert problem_locations(read_nodes, document) == ["data.node1.cpu.capacity", "data.node2.memory.capacity"]


@pytest.mark.parametrize(
    ("entry", "location"),
    [
        (rohe_service(cpu=-1), "data.app.web.cpu"),
        (rohe_service(processor=[50, "x"]), "data.app.web.processor[1]"),
        (rohe_service(memory={"rss": -1}), "data.app.web.memory.rss"),
        (rohe_service(accelerator={"gpu": -5}), "data.app.web.accelerator.gpu"),
        (rohe_service(ports=[70000]), "data.app.web.ports[0]"),
        (rohe_service(port_mapping=[{"phy_port": 1}]), "data.app.web.port_mapping[0].con_port"),
        (rohe_service(sensitivity=9), "data.app.web.sensitivity"),
        (rohe_service(replicas=-1), "data.app.web.replicas"),
    ],
)
def test_bad_rohe_service_entries_name_the_field(entry: dict[str, Any], location: str) -> None:
    document = {"command": "ADD SERVICE", "data": {"app": {"web": entry}}}
    assert problem_locations(read_services, document) == [location]


def test_service_aliases_bookkeeping_and_port_union() -> None:
    entry = {
        "service_name": "web",
        "cpu_required": 300,
        "cores_required": [30, 5],
        "memory_required": {"rss": 10, "vms": 20},
        "accelerator_required": {"GPU": 25},
        "ports": [80],
        "port_mapping": [{"con_port": 80, "phy_port": 8080}, {"con_port": 81, "phy_port": 8081}],
        "status": "running",
        "node": {"pi": 1},
        "instance_ids": ["x"],
        "running": 1,
        "service_id": "id",
    }
    (service,) = read_services({"data": {"shop": {"web": entry}}})
    assert (service.cpu, service.processor, service.ports) == (300, [300, 50], [80, 81])
    assert service.accelerators == {"gpu": 25.0} and service.application == "shop"


def test_a_service_processor_longer_than_any_node_is_accepted_at_load_time() -> None:
    (service,) = read_services({"data": {"app": {"wide": rohe_service("wide", processor=[10] * 64)}}})
    assert len(service.processor) == 64


def test_duplicate_service_names_across_applications_are_rejected() -> None:
    document = {"data": {"a": {"web": rohe_service()}, "b": {"web2": rohe_service("web")}}}
    with pytest.raises(InvalidInput) as caught:
        read_services(document)
    (problem,) = caught.value.problems
    assert problem.location == "data.b.web2" and "data.a.web" in problem.message
