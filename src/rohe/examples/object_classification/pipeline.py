"""The example's pipeline spec: ordered stages, each naming the services (rohe service schema) that run it.

The `services` section is exactly what `rohe orchestration add-service` reads, so the same file can be
placed by the orchestrator; `stages` adds the data-flow order that the service list alone does not carry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rohe.core.domain import Service
from rohe.core.errors import InvalidInput, ProblemCollector
from rohe.core.loading import load_document, problems_from_validation
from rohe.orchestration.inputs import read_services


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    entrypoint: str | None = Field(default=None, description="module:function the data plane calls in-process")
    services: tuple[str, ...] = Field(min_length=1)


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application: str = Field(min_length=1)
    stages: tuple[Stage, ...] = Field(min_length=1)
    services: list[dict[str, Any]] = Field(min_length=1)


class PipelineSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    application: str
    stages: tuple[Stage, ...]
    services: tuple[Service, ...]

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def services_of(self, stage: str) -> list[Service]:
        wanted = self.stage(stage).services
        return [s for s in self.services if s.name in wanted]


def parse_pipeline(data: Any, source: str = "<pipeline>") -> PipelineSpec:
    """Validate a pipeline spec; every fault is reported at once, located by field."""
    try:
        document = _Document.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"invalid pipeline spec {source}", problems_from_validation(exc)) from None
    services = read_services({"services": document.services}, source, document.application)
    problems = ProblemCollector()
    known = {s.name for s in services}
    owner: dict[str, str] = {}
    seen_stages: set[str] = set()
    for i, stage in enumerate(document.stages):
        if stage.name in seen_stages:
            problems.add(f"stages[{i}].name", f"stage {stage.name!r} is listed twice", "give each stage one entry")
        seen_stages.add(stage.name)
        for j, name in enumerate(stage.services):
            where = f"stages[{i}].services[{j}]"
            if name not in known:
                problems.add(where, f"no service named {name!r}", f"define it under services or use: {sorted(known)}")
            elif name in owner:
                problems.add(where, f"{name!r} already runs stage {owner[name]!r}", "a service runs one stage")
            else:
                owner[name] = stage.name
    for i, service in enumerate(services):
        if service.name not in owner:
            problems.add(f"services[{i}]", f"{service.name!r} runs no stage", "list it under one stage's services")
    problems.raise_if_any(f"invalid pipeline spec {source}")
    return PipelineSpec(application=document.application, stages=document.stages, services=tuple(services))


def load_pipeline(path: Path) -> PipelineSpec:
    return parse_pipeline(load_document(path), str(path))
