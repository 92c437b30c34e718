"""Reading node and service files: our own schema first, the original ROHE format converted on load.

Our schema is strict (unknown fields are errors); ROHE files are converted by rohe_format. Either way every
problem is reported at once, located by the entry it sits in (`nodes[2].memory.rss`, `data.node3.cpu`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rohe.core.domain import Node, Service
from rohe.core.errors import InvalidInput, Problem, ProblemCollector
from rohe.core.loading import load_document
from rohe.orchestration import rohe_format
from rohe.orchestration.rohe_format import NODE_HINT, SERVICE_HINT, is_rohe_document

# Fields only one of the two models has: they tell a service file given as a node file, and back.
NODE_ONLY = frozenset(Node.model_fields) - frozenset(Service.model_fields)
SERVICE_ONLY = frozenset(Service.model_fields) - frozenset(Node.model_fields)

# ROHE command -> the rohe command that does the same, for hints when a file reaches the wrong command.
CLI_FOR_ROHE_COMMAND = {
    "ADD NODE": "add-node",
    "ADD SERVICE": "add-service",
    "GET ALL NODES": "get-node",
    "GET ALL SERVICES": "get-service",
    "REMOVE ALL NODE": "remove-node",
    "START AGENT": "start-agent",
    "STOP AGENT": "stop-agent",
}


@dataclass(frozen=True)
class RoheCommand:
    """The envelope of a ROHE command file: what to do, for which application, with which payload."""

    command: str
    application: str | None = None
    data: Any = None


@dataclass(frozen=True)
class _Kind:
    """What one reader expects, and how to recognise the other kind of file."""

    model: type[BaseModel]
    singular: str
    key: str
    own_only: frozenset[str]
    other_only: frozenset[str]
    other_key: str
    hint: str
    other_hint: str


NODES = _Kind(Node, "node", "nodes", NODE_ONLY, SERVICE_ONLY, "services", NODE_HINT, SERVICE_HINT)
SERVICES = _Kind(Service, "service", "services", SERVICE_ONLY, NODE_ONLY, "nodes", SERVICE_HINT, NODE_HINT)


def read_command(document: Any) -> RoheCommand | None:
    """The envelope of a ROHE command file, or None when the document is not one."""
    if not isinstance(document, Mapping) or not isinstance(document.get("command"), str):
        return None
    application = document.get("application")
    return RoheCommand(
        command=" ".join(document["command"].split()).upper(),
        application=None if application is None else str(application),
        data=document.get("data"),
    )


def expect_command(document: Any, source: str, expected: str) -> RoheCommand:
    """The envelope of a ROHE command file that must ask for `expected` (e.g. "GET ALL NODES").

    Commands like get-node take such a file only for compatibility, but a file given is still checked:
    a missing one, one of another kind or another command is an error naming the file and what was expected.
    """
    command = read_command(document)
    cli = CLI_FOR_ROHE_COMMAND.get(expected, "")
    example = f"a ROHE command file with `command: {expected}`"
    if command is None:
        what = "no `command` field" if isinstance(document, Mapping) else f"a {type(document).__name__}, not a mapping"
        raise InvalidInput(
            f"{source} is not a ROHE '{expected}' command file",
            [Problem("command", f"the file holds {what}", f"give {example}, or leave out --conf")],
        )
    if command.command != expected:
        other = CLI_FOR_ROHE_COMMAND.get(command.command)
        hint = f"use `rohe orchestration {other} --conf FILE`" if other else f"give {example}"
        raise InvalidInput(
            f"{source} is a ROHE '{command.command}' command, not {expected} (expected by {cli})",
            [Problem("command", f"is '{command.command}'", hint)],
        )
    return command


def read_nodes(document: Any, source: str = "<input>") -> list[Node]:
    """Nodes from one node mapping, `nodes: [...]`, a bare list, or a ROHE ADD NODE file."""
    _check_not_empty(document, source, NODES)
    if is_rohe_document(document):
        _check_rohe_command(document, source, NODES)
        return rohe_format.nodes_from_rohe(document, source)
    return _read_ours(document, source, NODES, {})


def read_services(document: Any, source: str = "<input>", application: str | None = None) -> list[Service]:
    """Services from our schema, a whole pipeline spec, or a ROHE ADD SERVICE file; `application` (the CLI's
    --app) wins if given."""
    if isinstance(document, Mapping) and "stages" in document and SERVICES.key in document:
        # A pipeline spec: only its services section is placed; the data-flow keys are the gateway's business.
        spec_application = document.get("application")
        if application is None and isinstance(spec_application, str):
            application = spec_application
        document = {SERVICES.key: document[SERVICES.key]}
    _check_not_empty(document, source, SERVICES)
    if application is not None and not 1 <= len(application) <= 63:
        raise InvalidInput(
            f"invalid application name {application!r}",
            [Problem("application", "must be 1 to 63 characters", "pass a shorter --app / application")],
        )
    override = {} if application is None else {"application": application}
    if not is_rohe_document(document):
        return _read_ours(document, source, SERVICES, override)
    _check_rohe_command(document, source, SERVICES)
    services = rohe_format.services_from_rohe(document, source)
    return [Service.model_validate(s.model_dump() | override) for s in services]


def load_nodes(path: Path) -> list[Node]:
    return read_nodes(load_document(path), str(path))


def load_services(path: Path, application: str | None = None) -> list[Service]:
    return read_services(load_document(path), str(path), application)


def _check_not_empty(document: Any, source: str, kind: _Kind) -> None:
    empty = document is None or document in ({}, [], "")
    if isinstance(document, Mapping) and set(document) == {kind.key}:
        empty = not document[kind.key]
    if empty:
        raise InvalidInput(
            f"{source} is empty",
            [Problem(kind.key, f"no {kind.key} given", f"give a {kind.singular} mapping or `{kind.key}: [...]`")],
        )


def _check_rohe_command(document: Mapping[str, Any], source: str, kind: _Kind) -> None:
    """A ROHE file states its intent; one meant for another command gets pointed there."""
    command = read_command(document)
    if command is None or command.command == f"ADD {kind.singular.upper()}":
        return
    other = "SERVICE" if kind is NODES else "NODE"
    if command.command == f"ADD {other}":
        hint = kind.other_hint
    else:
        cli = CLI_FOR_ROHE_COMMAND.get(command.command)
        hint = f"use `rohe orchestration {cli} --conf FILE`" if cli else kind.hint.replace("FILE", "an ADD file")
    raise InvalidInput(
        f"{source} is a ROHE '{command.command}' command, not ADD {kind.singular.upper()}",
        [Problem("command", f"is '{command.command}'", hint)],
    )


def _entries(document: Any, source: str, kind: _Kind) -> list[tuple[str, Any]]:
    """(location, entry) for each entry of a document in our schema."""
    if isinstance(document, list):
        return [(f"[{i}]", entry) for i, entry in enumerate(document)]
    if not isinstance(document, Mapping):
        raise InvalidInput(
            f"{source}: expected {kind.key}, got a {type(document).__name__}",
            [Problem("<root>", f"is {document!r}", f"give a {kind.singular} mapping or `{kind.key}: [...]`")],
        )
    if kind.other_key in document and kind.key not in document:
        raise InvalidInput(
            f"{source} holds {kind.other_key}, not {kind.key}",
            [Problem(kind.other_key, f"this is a {kind.other_key[:-1]} file", kind.other_hint)],
        )
    if kind.key not in document:
        return [("", document)]
    problems = ProblemCollector()
    for extra in sorted(str(k) for k in document.keys() - {kind.key}):
        problems.add(extra, "unknown top-level field", f"put everything under `{kind.key}`, or remove it")
    if not isinstance(document[kind.key], list):
        problems.add(
            kind.key, f"must be a list, got a {type(document[kind.key]).__name__}", f"write `{kind.key}: [...]`"
        )
    problems.raise_if_any(f"{source}: invalid {kind.singular} file")
    return [(f"{kind.key}[{i}]", entry) for i, entry in enumerate(document[kind.key])]


def _read_ours(document: Any, source: str, kind: _Kind, override: dict[str, Any]) -> list[Any]:
    entries = _entries(document, source, kind)
    mappings = [e for _, e in entries if isinstance(e, Mapping)]
    if mappings and all(_looks_like_other(e, kind) for e in mappings):
        other = kind.other_key[:-1]
        raise InvalidInput(
            f"{source} looks like a {other} file, not a {kind.singular} file",
            [Problem(entries[0][0] or "<root>", f"has {other} fields ({_sample(mappings[0], kind)})", kind.other_hint)],
        )
    problems = ProblemCollector()
    result: list[tuple[Any, str]] = []
    for location, entry in entries:
        where = location or "<root>"
        if not isinstance(entry, Mapping):
            problems.add(where, f"must be a {kind.singular} mapping, got {entry!r}", "give a mapping with `name`")
            continue
        built = rohe_format.build_model(kind.model, dict(entry) | override, location, problems)
        if built is not None:
            result.append((built, where))
    rohe_format.check_duplicates([(item.name, where) for item, where in result], kind.singular, problems)
    problems.raise_if_any(f"{source}: invalid {kind.singular} file")
    return [item for item, _ in result]


def _looks_like_other(entry: Mapping[str, Any], kind: _Kind) -> bool:
    keys = set(entry)
    return bool(keys & kind.other_only) and not keys & kind.own_only


def _sample(entry: Mapping[str, Any], kind: _Kind) -> str:
    return ", ".join(sorted(set(entry) & kind.other_only))
