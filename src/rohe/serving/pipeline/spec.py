"""A pipeline spec: ordered stages, the input modalities of its inference stage, and how modalities fuse.

The `services` section is exactly what `rohe orchestration add-service` reads, so the same file can be
placed by the orchestrator; `stages` adds the data-flow order (ingestion -> preprocessing -> inference ->
aggregation) that the service list alone does not carry, and `modalities` says which models answer for
which kind of input. A spec without `modalities` has one modality, `default`, whose models are the
inference stage's services (model name = service name) and whose preprocessing is the preprocessing
stage's entrypoint.

A stage is run either by its own services (`executor: services`, the default) or by the serving gateway
itself (`executor: gateway`: ingestion is its POST /infer, preprocessing runs in-process, aggregation is
its fusion), in which case it lists no services. The inference stage is always services: the gateway fans
out to the models, it does not run them. `gateway` may name the entry of `services` that runs the gateway,
so orchestration places it (and writes its Kubernetes objects) like any other service.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rohe.core.domain import Service
from rohe.core.errors import InvalidInput, ProblemCollector
from rohe.core.loading import load_document, problems_from_validation
from rohe.orchestration.inputs import read_services
from rohe.serving.dataplane.aggregation import aggregator_names

INFERENCE_STAGE = "inference"
PREPROCESSING_STAGE = "preprocessing"
Executor = Literal["services", "gateway"]
SERVICES_EXECUTOR: Executor = "services"
GATEWAY_EXECUTOR: Executor = "gateway"
DEFAULT_MODALITY = "default"
DEFAULT_AGGREGATION = "mean"


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    entrypoint: str | None = Field(default=None, description="module:function the data plane calls in-process")
    executor: Executor = Field(
        default=SERVICES_EXECUTOR, description="who runs the stage: its own services, or the serving gateway"
    )
    services: tuple[str, ...] = ()

    @property
    def run_by_gateway(self) -> bool:
        return self.executor == GATEWAY_EXECUTOR


class Modality(BaseModel):
    """One kind of input (images, a time series, ...) and the models of the inference stage that read it.

    `models` maps each model name (as in the profiles and the endpoints) to the service that serves it;
    `preprocessing` is a `module:function` taking one sample (a list of floats) and returning the features
    the models read; `aggregation` fuses this modality's members into one answer.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    preprocessing: str | None = None
    aggregation: str = DEFAULT_AGGREGATION
    models: dict[str, str] = Field(description="model name -> inference service that serves it")

    @property
    def model_names(self) -> tuple[str, ...]:
        return tuple(self.models)


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application: str = Field(min_length=1)
    stages: tuple[Stage, ...] = Field(min_length=1)
    modalities: tuple[Modality, ...] | None = None
    fusion: str = Field(default=DEFAULT_AGGREGATION, description="aggregation strategy across modalities")
    gateway: str | None = Field(default=None, description="the entry of `services` that runs the serving gateway")
    services: list[dict[str, Any]] = Field(min_length=1)


class PipelineSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    application: str
    stages: tuple[Stage, ...]
    modalities: tuple[Modality, ...]
    fusion: str
    services: tuple[Service, ...]
    gateway: str | None = None

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def services_of(self, stage: str) -> list[Service]:
        wanted = self.stage(stage).services
        return [s for s in self.services if s.name in wanted]

    def modality(self, name: str) -> Modality:
        return next(m for m in self.modalities if m.name == name)

    @property
    def modality_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.modalities)

    @property
    def models(self) -> tuple[str, ...]:
        """Every model of every modality, in spec order."""
        return tuple(model for m in self.modalities for model in m.models)

    @property
    def gateway_stages(self) -> tuple[str, ...]:
        """The stages the serving gateway runs itself, in data-flow order."""
        return tuple(s.name for s in self.stages if s.run_by_gateway)

    @property
    def gateway_service(self) -> Service | None:
        """The service that runs the serving gateway, when the spec declares one."""
        return next((s for s in self.services if s.name == self.gateway), None)


def _check_stages(document: _Document, known: set[str], problems: ProblemCollector) -> dict[str, str]:
    """Each service runs exactly one known stage; returns service -> stage."""
    owner: dict[str, str] = {}
    seen_stages: set[str] = set()
    for i, stage in enumerate(document.stages):
        if stage.name in seen_stages:
            problems.add(f"stages[{i}].name", f"stage {stage.name!r} is listed twice", "give each stage one entry")
        seen_stages.add(stage.name)
        _check_executor(stage, f"stages[{i}]", problems)
        for j, name in enumerate(stage.services):
            where = f"stages[{i}].services[{j}]"
            if name not in known:
                problems.add(where, f"no service named {name!r}", f"define it under services or use: {sorted(known)}")
            elif name in owner:
                problems.add(where, f"{name!r} already runs stage {owner[name]!r}", "a service runs one stage")
            else:
                owner[name] = stage.name
    return owner


def _check_executor(stage: Stage, where: str, problems: ProblemCollector) -> None:
    """A gateway stage has no services of its own; any other stage needs at least one."""
    if stage.run_by_gateway and stage.name == INFERENCE_STAGE:
        problems.add(
            f"{where}.executor",
            f"the {INFERENCE_STAGE!r} stage cannot be run by the gateway",
            "its models run as services the gateway fans out to: remove `executor: gateway`",
        )
    elif stage.run_by_gateway and stage.services:
        problems.add(
            f"{where}.services",
            f"stage {stage.name!r} is run by the gateway, so it has no services of its own",
            "remove its services, or drop `executor: gateway` to run it by them",
        )
    elif not stage.run_by_gateway and not stage.services:
        problems.add(
            f"{where}.services",
            "is empty",
            "list the services that run this stage, or set `executor: gateway` if the serving gateway runs it",
        )


def _check_gateway(document: _Document, owner: dict[str, str], known: set[str], problems: ProblemCollector) -> None:
    if document.gateway is None:
        return
    if document.gateway not in known:
        problems.add(
            "gateway", f"no service named {document.gateway!r}", f"define it under services or use: {sorted(known)}"
        )
    elif document.gateway in owner:
        problems.add(
            "gateway",
            f"{document.gateway!r} already runs stage {owner[document.gateway]!r}",
            "the gateway service runs the gateway stages; remove it from that stage's services",
        )


def _default_modality(document: _Document) -> tuple[Modality, ...]:
    stages = {s.name: s for s in document.stages}
    inference = stages.get(INFERENCE_STAGE)
    if inference is None:
        return ()
    preprocessing = stages.get(PREPROCESSING_STAGE)
    return (
        Modality(
            name=DEFAULT_MODALITY,
            preprocessing=preprocessing.entrypoint if preprocessing else None,
            models={service: service for service in inference.services},
        ),
    )


def _check_modalities(
    modalities: tuple[Modality, ...], inference: set[str], explicit: bool, problems: ProblemCollector
) -> None:
    if not modalities:
        problems.add("stages", f"no {INFERENCE_STAGE!r} stage", f"add a stage named {INFERENCE_STAGE!r}")
        return
    names: set[str] = set()
    model_owner: dict[str, str] = {}
    service_owner: dict[str, str] = {}
    strategies = aggregator_names()
    for i, modality in enumerate(modalities):
        where = f"modalities[{i}]" if explicit else "stages.inference"
        if modality.name in names:
            problems.add(f"{where}.name", f"modality {modality.name!r} is listed twice", "give each one entry")
        names.add(modality.name)
        if not modality.models:
            problems.add(f"{where}.models", "is empty", "name at least one model and the service that serves it")
        if modality.aggregation not in strategies:
            problems.add(
                f"{where}.aggregation", f"unknown strategy {modality.aggregation!r}", f"use one of {strategies}"
            )
        if modality.preprocessing is not None and ":" not in modality.preprocessing:
            problems.add(f"{where}.preprocessing", f"{modality.preprocessing!r} is not module:function", "")
        for model, service in modality.models.items():
            if model in model_owner:
                problems.add(
                    f"{where}.models.{model}", f"already belongs to modality {model_owner[model]!r}", "use it once"
                )
            model_owner[model] = modality.name
            if service not in inference:
                problems.add(
                    f"{where}.models.{model}",
                    f"service {service!r} is not in the {INFERENCE_STAGE!r} stage",
                    f"use one of: {sorted(inference)}",
                )
            elif service in service_owner:
                problems.add(
                    f"{where}.models.{model}", f"service {service!r} already serves {service_owner[service]!r}", ""
                )
            else:
                service_owner[service] = model


def parse_pipeline(data: Any, source: str = "<pipeline>") -> PipelineSpec:
    """Validate a pipeline spec; every fault is reported at once, located by field."""
    try:
        document = _Document.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"invalid pipeline spec {source}", problems_from_validation(exc)) from None
    services = read_services({"services": document.services}, source, document.application)
    problems = ProblemCollector()
    known = {s.name for s in services}
    owner = _check_stages(document, known, problems)
    _check_gateway(document, owner, known, problems)
    for i, service in enumerate(services):
        if service.name not in owner and service.name != document.gateway:
            problems.add(
                f"services[{i}]",
                f"{service.name!r} runs no stage",
                "list it under one stage's services, or name it as the pipeline's `gateway`",
            )
    explicit = document.modalities is not None
    modalities = document.modalities if document.modalities is not None else _default_modality(document)
    if explicit and not modalities:
        problems.add("modalities", "is empty", "leave it out for one modality, or list at least one")
    else:
        inference = {name for name, stage in owner.items() if stage == INFERENCE_STAGE}
        _check_modalities(modalities, inference, explicit, problems)
    if document.fusion not in aggregator_names():
        problems.add("fusion", f"unknown strategy {document.fusion!r}", f"use one of {aggregator_names()}")
    problems.raise_if_any(f"invalid pipeline spec {source}")
    return PipelineSpec(
        application=document.application,
        stages=document.stages,
        modalities=modalities,
        fusion=document.fusion,
        services=tuple(services),
        gateway=document.gateway,
    )


def load_pipeline(path: Path) -> PipelineSpec:
    return parse_pipeline(load_document(path), str(path))
