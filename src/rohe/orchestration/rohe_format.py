"""The original ROHE input format: command envelopes, node and service entries, and orchestrationConfig.yaml.

ROHE files carry bookkeeping (ids, status, used amounts) next to capacities, so unknown fields inside an
entry are logged and skipped rather than rejected. Units differ from ours: ROHE gives per-core values in
percent of one core, we use millicores, hence the factor of ten. docs/input-formats.md lists every rule.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from rohe.core.domain import Node, Service
from rohe.core.errors import InvalidInput, Problem, ProblemCollector
from rohe.core.loading import problems_from_validation
from rohe.core.rohe_config import STRATEGIES, settings_from_rohe_config
from rohe.core.rohe_config import non_negative_number as _number

log = logging.getLogger(__name__)

# The settings loader in core reads orchestrationConfig.yaml, so its reader lives there; re-exported here.
__all__ = ["NODE_HINT", "SERVICE_HINT", "STRATEGIES", "is_rohe_document", "settings_from_rohe_config"]

# Top-level keys of our own schema: a document holding one of them is never a ROHE envelope.
OUR_TOP_LEVEL_KEYS = frozenset({"name", "nodes", "services"})
PERCENT_TO_MILLICORES = 10

NODE_KEYS = frozenset(
    {"node_name", "MAC", "mac_address", "status", "frequency", "accelerator", "cpu", "memory", "processor", "cores"}
)
SERVICE_KEYS = frozenset(
    {
        "service_name", "image", "ports", "port_mapping", "cpu", "cpu_required", "processor", "cores_required",
        "memory", "memory_required", "accelerator", "accelerator_required", "sensitivity", "replicas",
    }
)  # fmt: skip
# ROHE's own bookkeeping: the placement it made and the ids it gave. Ours derives all of it.
SERVICE_BOOKKEEPING = frozenset({"service_id", "status", "node", "instance_ids", "running"})
# Hints for validation errors that pydantic's error type alone cannot explain.
FIELD_HINTS = {
    "name": "use letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
    "sensitivity": "use 0 (none), 1 (cpu), 2 (memory) or 3 (both)",
    "ports": "list each port once, each in 1..65535",
    "status": "use ready, cordoned or down",
    "application": "use 1 to 63 characters",
}
NODE_HINT = "register nodes with `rohe orchestration add-node --conf FILE`"
SERVICE_HINT = "register services with `rohe orchestration add-service --conf FILE`"


def is_rohe_document(document: Any) -> bool:
    """True for a ROHE command envelope or a bare `{data: ...}` payload (ROHE's JSON files have no envelope)."""
    if not isinstance(document, Mapping) or OUR_TOP_LEVEL_KEYS & document.keys():
        return False
    return "command" in document or "data" in document


def looks_like_rohe_services(data: Mapping[str, Any]) -> bool:
    """True when the payload is keyed application -> service, or holds service entries directly."""
    groups = [v for v in data.values() if isinstance(v, Mapping)]
    entries = groups + [e for g in groups for e in g.values() if isinstance(e, Mapping)]
    return any(_is_service_entry(e) for e in entries)


def looks_like_rohe_nodes(data: Mapping[str, Any]) -> bool:
    return any(isinstance(v, Mapping) and "node_name" in v for v in data.values())


def _is_service_entry(entry: Mapping[str, Any]) -> bool:
    return "service_name" in entry or bool({"cpu_required", "replicas", "image"} & entry.keys())


def _payload(document: Mapping[str, Any], source: str, what: str, other_hint: str) -> Mapping[str, Any]:
    data = document.get("data")
    if data is None or data == {}:
        named = f" '{document['command']}'" if "command" in document else ""
        raise InvalidInput(
            f"{source}: the ROHE command{named} carries no {what}",
            [Problem("data", f"no {what} given", f"add the {what} under `data`, or use the matching command")],
        )
    if not isinstance(data, Mapping):
        raise InvalidInput(
            f"{source}: `data` must be a mapping", [Problem("data", f"is a {type(data).__name__}", other_hint)]
        )
    return data


# -- numbers ----------------------------------------------------------------------------------------------
def _numbers(value: Any, location: str, problems: ProblemCollector, hint: str) -> list[float] | None:
    if not isinstance(value, list):
        problems.add(location, f"must be a list of numbers, got {value!r}", hint)
        return None
    parsed = [_number(item, f"{location}[{i}]", problems, hint) for i, item in enumerate(value)]
    return None if any(p is None for p in parsed) else [p for p in parsed if p is not None]


def _memory(value: Any, location: str, problems: ProblemCollector, required: bool) -> dict[str, int] | None:
    hint = "give memory in MiB as {rss: N, vms: N}"
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        problems.add(location, "missing" if value is None else f"must be a mapping, got {value!r}", hint)
        return None
    result: dict[str, int] = {}
    for key in ("rss", "vms"):
        if key not in value:
            if required:
                problems.add(f"{location}.{key}", "missing", hint)
            continue
        amount = _number(value[key], f"{location}.{key}", problems, hint)
        if amount is not None:
            result[key] = round(amount)
    return result


def _pick(entry: Mapping[str, Any], names: tuple[str, ...], location: str) -> tuple[str, Any]:
    """The first of several spellings ROHE uses for one field (e.g. `cpu` / `cpu_required`)."""
    present = [n for n in names if n in entry]
    if len(present) > 1 and entry[present[0]] != entry[present[1]]:
        log.warning("%s: both %s and %s given; using %s", location, present[0], present[1], present[0])
    return (present[0], entry[present[0]]) if present else (names[0], None)


def _warn_unknown(entry: Mapping[str, Any], known: frozenset[str], location: str) -> None:
    unknown = sorted(str(k) for k in entry.keys() - known)
    if unknown:
        log.warning("%s: ignoring field(s) rohe does not use: %s", location, ", ".join(unknown))


def build_model(model: type[BaseModel], values: dict[str, Any], location: str, problems: ProblemCollector) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        for problem in problems_from_validation(exc, location):
            field = problem.location.rsplit(".", 1)[-1].split("[")[0]
            hint = problem.hint or FIELD_HINTS.get(field, f"see the `{field}` field in docs/input-formats.md")
            problems.add(problem.location, problem.message, hint)
        return None


def check_duplicates(names: list[tuple[str, str]], kind: str, problems: ProblemCollector) -> None:
    first_seen: dict[str, str] = {}
    for name, location in names:
        if name in first_seen:
            problems.add(
                location, f"{kind} '{name}' is also defined at {first_seen[name]}", f"give each {kind} its own name"
            )
        else:
            first_seen[name] = location


# -- nodes ------------------------------------------------------------------------------------------------
def nodes_from_rohe(document: Mapping[str, Any], source: str) -> list[Node]:
    data = _payload(document, source, "nodes", NODE_HINT)
    if looks_like_rohe_services(data) and not looks_like_rohe_nodes(data):
        raise InvalidInput(
            f"{source} is a ROHE service file, not a node file",
            [Problem("data", "holds services (service_name, cpu_required, replicas ...)", SERVICE_HINT)],
        )
    problems = ProblemCollector()
    nodes: list[tuple[Node, str]] = []
    for key, entry in data.items():
        location = f"data.{key}"
        if not isinstance(entry, Mapping):
            problems.add(location, f"must be a node mapping, got {entry!r}", "give node_name, cpu, memory, processor")
            continue
        node = _node_from_entry(str(key), entry, location, problems)
        if node is not None:
            nodes.append((node, location))
    check_duplicates([(n.name, loc) for n, loc in nodes], "node", problems)
    problems.raise_if_any(f"{source}: invalid ROHE node file")
    return [n for n, _ in nodes]


def _node_from_entry(key: str, entry: Mapping[str, Any], location: str, problems: ProblemCollector) -> Node | None:
    _warn_unknown(entry, NODE_KEYS, location)
    before = len(problems.problems)
    name = str(entry.get("node_name") or key)
    cpu, memory = entry.get("cpu") or {}, entry.get("memory") or {}
    cpu_capacity = None
    if isinstance(cpu, Mapping) and "capacity" in cpu:
        cpu_capacity = _number(cpu["capacity"], f"{location}.cpu.capacity", problems, "give millicores, 1000 a core")
    cores = _node_cores(entry, location, cpu_capacity, problems)
    capacity = memory.get("capacity") if isinstance(memory, Mapping) else None
    node_memory = _memory(capacity, f"{location}.memory.capacity", problems, required=True)
    accelerators = _node_accelerators(entry.get("accelerator"), f"{location}.accelerator", problems)
    frequency = entry.get("frequency", 0.0)
    if len(problems.problems) > before or cores is None or node_memory is None:
        return None
    _warn_used(entry, location)
    labels = {"kubernetes.io/hostname": name}
    mac = entry.get("MAC") or entry.get("mac_address")
    if mac:
        # Kubernetes label values may not contain ':'; '-' keeps the address readable and unique.
        labels["rohe.io/mac"] = str(mac).replace(":", "-")
    values = {"name": name, "labels": labels, "cores": cores, "memory": node_memory}
    node: Node | None = build_model(
        Node, values | {"accelerators": accelerators, "frequency": frequency}, location, problems
    )
    return node


def _node_cores(
    entry: Mapping[str, Any], location: str, cpu_capacity: float | None, problems: ProblemCollector
) -> list[int] | None:
    field, per_core = _pick(entry, ("processor", "cores"), location)
    if isinstance(per_core, Mapping) and "capacity" in per_core:
        hint = "give the capacity of each core in percent of a core, e.g. [100, 100, 100, 100]"
        values = _numbers(per_core["capacity"], f"{location}.{field}.capacity", problems, hint)
        if values is None:
            return None
        if not values:
            problems.add(f"{location}.{field}.capacity", "lists no cores", hint)
            return None
        cores = [round(v * PERCENT_TO_MILLICORES) for v in values]
        if cpu_capacity is not None and round(cpu_capacity) != sum(cores):
            log.warning(
                "%s: cpu.capacity %s differs from the cores' total %s; rohe uses the cores",
                location, cpu_capacity, sum(cores),
            )  # fmt: skip
        return cores
    if cpu_capacity is None:
        if isinstance(entry.get("cpu"), Mapping) and "capacity" in entry["cpu"]:
            return None  # given but unusable: already reported
        problems.add(
            f"{location}.cpu.capacity",
            "missing, and there is no per-core capacity either",
            "give cpu.capacity in millicores or processor.capacity in percent per core",
        )
        return None
    if cpu_capacity == 0:
        problems.add(f"{location}.cpu.capacity", "is 0: the node could run nothing", "give the node's CPU")
        return None
    full, rest = divmod(round(cpu_capacity), 1000)
    return [1000] * full + ([rest] if rest else [])


def _node_accelerators(value: Any, location: str, problems: ProblemCollector) -> dict[str, float]:
    if not isinstance(value, Mapping):
        if value is not None:
            problems.add(location, f"must be a mapping, got {value!r}", "e.g. {GPU0: {type: gpu, capacity: 100}}")
        return {}
    totals: dict[str, float] = {}
    for device, spec in value.items():
        where = f"{location}.{device}"
        spec = spec if isinstance(spec, Mapping) else {}
        kind = spec.get("type", spec.get("accelerator_type"))
        if not isinstance(kind, str) or not kind:
            problems.add(f"{where}.type", "missing", "give the accelerator type, e.g. type: gpu")
            continue
        hint = "give the capacity in percent, e.g. 100"
        amount = _number(spec["capacity"], f"{where}.capacity", problems, hint) if "capacity" in spec else None
        if "capacity" not in spec:
            problems.add(f"{where}.capacity", "missing", hint)
        elif amount is not None:
            totals[kind.lower()] = totals.get(kind.lower(), 0.0) + amount
    return totals


def _warn_used(entry: Mapping[str, Any], location: str) -> None:
    """ROHE stores used amounts in the node; rohe derives them from allocations, so they are dropped."""
    found: list[str] = []

    def walk(value: Any, path: str, inside_used: bool) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(inner, f"{path}.{key}", inside_used or key == "used")
        elif isinstance(value, list):
            for inner in value:
                walk(inner, path, inside_used)
        elif inside_used and isinstance(value, int | float) and value:
            found.append(path)

    walk(entry, location, False)
    if found:
        log.warning(
            "ignoring non-zero used amounts at %s: rohe derives usage from its own placements",
            ", ".join(sorted(set(found))),
        )


# -- services ---------------------------------------------------------------------------------------------
def services_from_rohe(document: Mapping[str, Any], source: str) -> list[Service]:
    data = _payload(document, source, "services", SERVICE_HINT)
    if looks_like_rohe_nodes(data) and not looks_like_rohe_services(data):
        raise InvalidInput(
            f"{source} is a ROHE node file, not a service file",
            [Problem("data", "holds nodes (node_name, cpu.capacity, processor ...)", NODE_HINT)],
        )
    envelope_application = str(document.get("application") or "default")
    problems = ProblemCollector()
    services: list[tuple[Service, str]] = []
    for key, value in data.items():
        location = f"data.{key}"
        if not isinstance(value, Mapping):
            problems.add(location, f"must be a mapping, got {value!r}", "key services by application, then name")
            continue
        # ROHE keys services by application; a service entry straight under `data` uses the envelope's.
        group = {key: value} if _is_service_entry(value) else value
        application = envelope_application if group is not value else str(key)
        for name, entry in group.items():
            where = location if group is not value else f"{location}.{name}"
            if not isinstance(entry, Mapping):
                problems.add(where, f"must be a service mapping, got {entry!r}", "give service_name, cpu, memory")
                continue
            service = _service_from_entry(str(name), entry, application, where, problems)
            if service is not None:
                services.append((service, where))
    check_duplicates([(s.name, loc) for s, loc in services], "service", problems)
    problems.raise_if_any(f"{source}: invalid ROHE service file")
    return [s for s, _ in services]


def _service_from_entry(
    key: str, entry: Mapping[str, Any], application: str, location: str, problems: ProblemCollector
) -> Service | None:
    _warn_unknown(entry, SERVICE_KEYS | SERVICE_BOOKKEEPING, location)
    before = len(problems.problems)
    values: dict[str, Any] = {"name": str(entry.get("service_name") or key), "application": application}
    field, cpu = _pick(entry, ("cpu", "cpu_required"), location)
    if cpu is not None:
        amount = _number(cpu, f"{location}.{field}", problems, "give millicores per replica, 1000 a core")
        values["cpu"] = round(amount or 0)
    field, per_core = _pick(entry, ("processor", "cores_required"), location)
    if per_core is not None:
        hint = "give each core's demand in percent of a core, e.g. [50, 5]"
        percents = _numbers(per_core, f"{location}.{field}", problems, hint) or []
        values["processor"] = [round(p * PERCENT_TO_MILLICORES) for p in percents]
    field, memory = _pick(entry, ("memory", "memory_required"), location)
    values["memory"] = _memory(memory, f"{location}.{field}", problems, required=False) or {}
    field, accelerators = _pick(entry, ("accelerator", "accelerator_required"), location)
    if isinstance(accelerators, Mapping):
        for kind, raw in accelerators.items():
            amount = _number(raw, f"{location}.{field}.{kind}", problems, "give percent of the device, 0 for none")
            if amount:  # ROHE writes {gpu: 0} for "no accelerator"
                values.setdefault("accelerators", {})[str(kind).lower()] = amount
    elif accelerators is not None:
        problems.add(f"{location}.{field}", f"must be a mapping, got {accelerators!r}", "e.g. {gpu: 15}")
    for name in ("image", "replicas", "sensitivity"):
        if entry.get(name) is not None:
            values[name] = entry[name]
    values["ports"] = _service_ports(entry, location, problems)
    if len(problems.problems) > before:
        return None
    service: Service | None = build_model(Service, values, location, problems)
    return service


def _service_ports(entry: Mapping[str, Any], location: str, problems: ProblemCollector) -> list[int]:
    """`ports` plus every container port of `port_mapping`, each once, in the order first given."""
    ports, mapping = entry.get("ports") or [], entry.get("port_mapping") or []
    for name, value, example in (("ports", ports, "[4002]"), ("port_mapping", mapping, "[{con_port: 4002}]")):
        if not isinstance(value, list):
            problems.add(f"{location}.{name}", f"must be a list, got {value!r}", f"e.g. {example}")
    ports, mapping = (v if isinstance(v, list) else [] for v in (ports, mapping))
    found = [(p, f"{location}.ports[{i}]") for i, p in enumerate(ports)]
    for i, item in enumerate(mapping):
        where = f"{location}.port_mapping[{i}]"
        if not isinstance(item, Mapping) or "con_port" not in item:
            problems.add(f"{where}.con_port", "missing", "give the container port, e.g. {con_port: 4002}")
            continue
        found.append((item["con_port"], f"{where}.con_port"))
    result: list[int] = []
    for port, where in found:
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            problems.add(where, f"must be a port number 1..65535, got {port!r}", "fix the port")
        elif port not in result:
            result.append(port)
    return result
