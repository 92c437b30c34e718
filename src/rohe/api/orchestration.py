"""Orchestration routes: nodes, services, replicas, plan (dry run), placement rounds and the agent."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status
from pydantic import TypeAdapter

from rohe.api.vetting import vet_algorithm
from rohe.core.domain import NodeStatus, Replica, ReplicaStatus, Service
from rohe.core.redact import redact_env
from rohe.core.trust import RequestPolicy
from rohe.orchestration.inputs import read_nodes, read_services
from rohe.orchestration.placement import available_algorithms
from rohe.orchestration.service import Plan
from rohe.orchestration.usage import NodeUsage
from rohe.platform import Platform

router = APIRouter(prefix="/orchestration", tags=["orchestration"])

DOCUMENT = Body(
    ...,
    description="a node/service document in rohe's schema (one, a list, or {nodes|services: [...]}) "
    "or in the original ROHE command format",
)


def platform(request: Request) -> Platform:
    value: Platform = request.app.state.platform
    return value


def policy(request: Request) -> RequestPolicy:
    value: RequestPolicy = request.app.state.policy
    return value


def redacted(service: Service) -> Service:
    """What a response may show of a service: secret-looking env values and URL credentials in them redacted.
    `rohe orchestration deploy --url` lets a redacted variable inherit from its own environment instead."""
    return service.model_copy(update={"env": redact_env(service.env)}) if service.env else service


@router.get("/nodes", response_model=list[NodeUsage])
def list_nodes(p: Platform = Depends(platform)) -> list[NodeUsage]:
    return p.orchestration.list_nodes()


@router.post("/nodes", status_code=status.HTTP_201_CREATED)
def add_nodes(document: Any = DOCUMENT, p: Platform = Depends(platform)) -> dict[str, list[str]]:
    nodes = p.orchestration.add_nodes(read_nodes(document, "request body"))
    p.agent.poke()
    return {"added": [n.name for n in nodes]}


@router.get("/nodes/{name}", response_model=NodeUsage)
def get_node(name: str, p: Platform = Depends(platform)) -> NodeUsage:
    return p.orchestration.get_node(name)


@router.delete("/nodes/{name}")
def remove_node(name: str, p: Platform = Depends(platform)) -> dict[str, Any]:
    requeued = p.orchestration.remove_node(name)
    p.agent.poke()
    return {"removed": [name], "requeued": [r.key for r in requeued]}


@router.delete("/nodes")
def remove_all_nodes(p: Platform = Depends(platform)) -> dict[str, Any]:
    names = [u.node.name for u in p.orchestration.list_nodes()]
    requeued = p.orchestration.remove_all_nodes()
    return {"removed": names, "requeued": [r.key for r in requeued]}


@router.post("/nodes/{name}/drain")
def drain_node(name: str, p: Platform = Depends(platform)) -> dict[str, Any]:
    requeued = p.orchestration.drain_node(name)
    p.agent.poke()
    return {"drained": name, "requeued": [r.key for r in requeued]}


@router.post("/nodes/{name}/status")
def set_node_status(
    name: str, value: NodeStatus = Query(..., alias="status"), p: Platform = Depends(platform)
) -> dict[str, str]:
    node = p.orchestration.set_node_status(name, value)
    p.agent.poke()
    return {"node": node.name, "status": node.status.value}


@router.get("/services", response_model=list[Service])
def list_services(application: str | None = None, p: Platform = Depends(platform)) -> list[Service]:
    return [redacted(s) for s in p.orchestration.list_services(application)]


@router.post("/services", status_code=status.HTTP_201_CREATED)
def add_services(
    document: Any = DOCUMENT, application: str | None = None, p: Platform = Depends(platform)
) -> dict[str, list[str]]:
    services = p.orchestration.add_services(read_services(document, "request body", application))
    p.agent.poke()
    return {"added": [s.name for s in services]}


@router.get("/services/{name}", response_model=Service)
def get_service(name: str, p: Platform = Depends(platform)) -> Service:
    return redacted(p.orchestration.get_service(name))


@router.delete("/services/{name}")
def remove_service(name: str, p: Platform = Depends(platform)) -> dict[str, Any]:
    released = p.orchestration.remove_service(name)
    p.agent.poke()
    return {"removed": [name], "released": [r.key for r in released]}


@router.delete("/applications/{application}")
def remove_application(application: str, p: Platform = Depends(platform)) -> dict[str, Any]:
    removed = p.orchestration.remove_application(application)
    p.agent.poke()
    return {"removed": [s.name for s in removed]}


_REPLICAS = TypeAdapter(list[Replica])


def _etag_matches(header: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison: `W/` prefixes are ignored, `*` matches any current representation."""
    if not header:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or etag in tags


@router.get("/replicas", response_model=list[Replica], responses={304: {"description": "unchanged (If-None-Match)"}})
def list_replicas(
    request: Request,
    service: str | None = None,
    node: str | None = None,
    state: ReplicaStatus | None = Query(None, alias="status"),
    p: Platform = Depends(platform),
) -> Response:
    """Placements with an ETag (a hash of the body): a follower (the serving gateway) polls with
    If-None-Match and gets 304 with no body while nothing changed."""
    body = _REPLICAS.dump_json(p.orchestration.replicas(service=service, node=node, status=state))
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)


@router.get("/algorithms")
def algorithms() -> list[str]:
    return available_algorithms()


@router.post("/plan", response_model=Plan)
def plan(
    algorithm: str | None = None, replan: bool = False, p: Platform = Depends(platform),
    rules: RequestPolicy = Depends(policy),
) -> Plan:
    """Dry run: what would go where and why. Stores nothing; with a token set it still needs it (every route
    does), because an algorithm runs code and the plan shows the cluster."""
    vet_algorithm(rules, algorithm)
    return p.orchestration.plan(algorithm, replan)


@router.post("/place")
def place(
    algorithm: str | None = None, p: Platform = Depends(platform), rules: RequestPolicy = Depends(policy)
) -> dict[str, Any]:
    vet_algorithm(rules, algorithm)
    result = p.orchestration.place_queued(algorithm)
    return {
        "algorithm": result.algorithm,
        "placed": {f"{s}-{i}": a.node for (s, i), a in result.placed.items()},
        "queued": {f"{s}-{i}": reason for (s, i), reason in result.unplaced.items()},
    }


@router.get("/agent")
def agent_status(p: Platform = Depends(platform)) -> dict[str, Any]:
    return {
        "running": p.agent.running,
        "interval": p.agent.interval,
        "rounds": p.agent.rounds,
        "last_error": p.agent.last_error,
    }


@router.post("/agent/start")
def start_agent(p: Platform = Depends(platform)) -> dict[str, Any]:
    p.agent.start()
    return agent_status(p)


@router.post("/agent/stop")
def stop_agent(p: Platform = Depends(platform)) -> dict[str, Any]:
    p.agent.stop()
    return agent_status(p)
