"""The experiment spec: one YAML file naming the arms, the workloads, repetitions, seeds and the backend.

Arms are the cross product of `arms.placement x arms.scheduler x arms.ensemble x arms.contract` and the
workloads; an arm is named by the values of the dimensions that have more than one choice ("/"-joined), or
by its scheduler when none varies. Paths are relative to the spec file; `package:<path>` is a file shipped
inside rohe (e.g. `package:experiments/data/object-classification-profiles.csv`). `--set key=value`
overrides any field by its dotted path (the value is read as YAML), e.g. `--set traces.path=../shared/x`.
The spec hash covers the whole validated spec after overrides; a finished arm whose result file carries the
same hash is not rerun.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rohe.core.errors import InvalidInput, Problem
from rohe.core.loading import load_document, problems_from_validation

PACKAGE = "package:"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Workload(_Strict):
    name: str = Field(min_length=1)
    kind: Literal["poisson", "steady", "burst", "diurnal"] = "poisson"
    rate: float = Field(gt=0, description="requests per second")
    duration_s: float = Field(gt=0)
    params: dict[str, float] = Field(default_factory=dict, description="burst/diurnal shape (rohe.simulation)")


class EnsemblePolicy(_Strict):
    """Overrides the contract's ensemble size (None keeps it) and picks how answers are fused."""

    name: str = ""
    min: int | None = Field(default=None, ge=1)
    max: int | None = Field(default=None, ge=1)
    aggregation: str = "majority"

    @model_validator(mode="after")
    def _named(self) -> EnsemblePolicy:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        if not self.name:
            size = "contract" if self.min is None and self.max is None else f"{self.min or 1}-{self.max or ''}"
            object.__setattr__(
                self, "name", f"size {size}" if self.aggregation == "majority" else f"size {size} {self.aggregation}"
            )
        return self


class Arms(_Strict):
    placement: tuple[str, ...] = ("rohe-scoring",)
    scheduler: tuple[str, ...] = Field(min_length=1)
    ensemble: tuple[EnsemblePolicy, ...] = (EnsemblePolicy(),)
    contract: tuple[str, ...] = Field(default=(), description="names from `contracts`; empty = all")


class Cluster(_Strict):
    """`cpu_sharing` (default on: a real node never runs more calls at once than it has cores) makes the
    replicas on a node share its cores; off, every replica is an independent server. `background_cores`
    are taken on every node by processes that are not models (e.g. a gateway and load generator)."""

    nodes: int = Field(default=3, ge=1)
    cores: int = Field(default=4, ge=1)
    node_types: tuple[str, ...] = Field(default=(), description="cycled over the nodes; empty = the catalog's")
    replicas: int = Field(default=1, ge=1, description="replicas of every model service")
    concurrency: int = Field(default=1, ge=1, description="requests one replica serves at once")
    cpu_sharing: bool = Field(default=True, description="replicas on a node share its cores (processor sharing)")
    background_cores: float = Field(default=0.0, ge=0, description="cores per node busy with non-model work")

    @model_validator(mode="after")
    def _cores_left(self) -> Cluster:
        if self.background_cores >= self.cores:
            raise ValueError(
                f"background_cores ({self.background_cores}) must be below cores ({self.cores}): leave the models some"
            )
        return self


class Traces(_Strict):
    path: str | None = Field(default=None, description="a run or comparison folder (replay backend)")
    base: str | None = Field(default=None, description="the arm whose query sequence is replayed")


class Live(_Strict):
    """Where the live backend sends (docs/experiments.md): a running gateway, or an example app it starts."""

    gateway_url: str | None = Field(default=None, description="a running gateway; null: start `app` locally")
    token_env: str | None = Field(default=None, description="env var holding the gateway's bearer token")
    app: str | None = Field(default=None, description="example app whose inputs are sent (and started)")
    quick: bool = Field(default=True, description="started app: profile it quickly (15 samples per model)")
    timeout_s: float = Field(default=30.0, gt=0, description="per request; a request past it counts unanswered")

    @model_validator(mode="after")
    def _url(self) -> Live:
        if self.gateway_url is not None and not self.gateway_url.startswith(("http://", "https://")):
            raise ValueError(f"gateway_url {self.gateway_url!r} is not an http(s) URL, e.g. http://127.0.0.1:5020")
        return self


class Spec(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    backend: Literal["simulate", "replay", "live"]
    repetitions: int = Field(default=1, ge=1)
    seed: int = 0
    baseline: str | None = Field(default=None, description="arm the paired tests compare against; default first")
    catalog: str | None = Field(default=None, description="profile CSV (simulate)")
    contracts: dict[str, str] = Field(default_factory=dict, description="name -> contract file")
    cluster: Cluster = Cluster()
    workloads: tuple[Workload, ...] = ()
    arms: Arms
    queueing: bool | None = Field(default=None, description="default: on for simulate, off for replay")
    gateway_overhead_s: float = Field(default=0.0, ge=0)
    traces: Traces = Traces()
    live: Live = Live()

    @model_validator(mode="after")
    def _backend_needs(self) -> Spec:
        if self.backend == "simulate":
            if not self.workloads:
                raise ValueError("the simulate backend needs at least one workload")
            if self.catalog is None:
                raise ValueError("the simulate backend needs a profile catalog ('catalog')")
            if not self.contracts:
                raise ValueError("the simulate backend needs at least one contract ('contracts')")
        if self.backend == "live" and not self.workloads:
            raise ValueError("the live backend needs at least one workload")
        if self.backend == "replay" and self.traces.path is None:
            raise ValueError("the replay backend needs traces.path (set it with --set traces.path=DIR)")
        unknown = [c for c in self.arms.contract if c not in self.contracts]
        if unknown:
            raise ValueError(f"arms.contract names {unknown}, which 'contracts' does not define")
        return self

    @property
    def contract_names(self) -> tuple[str, ...]:
        return self.arms.contract or tuple(self.contracts)

    def spec_hash(self) -> str:
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Arm:
    name: str
    placement: str
    scheduler: str
    ensemble: EnsemblePolicy
    contract: str | None
    workload: Workload | None

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() or c in "-_." else "_" for c in self.name)


def expand_arms(spec: Spec) -> list[Arm]:
    placements = spec.arms.placement if spec.backend == "simulate" else ("-",)
    contracts: Sequence[str | None] = spec.contract_names or (None,)
    workloads: Sequence[Workload | None] = spec.workloads or (None,)
    dims = [
        (w.name if w else "", c or "", e.name, p, s)
        for w, c, e, p, s in itertools.product(
            workloads, contracts, spec.arms.ensemble, placements, spec.arms.scheduler
        )
    ]
    varies = [len({d[i] for d in dims}) > 1 for i in range(5)]
    arms = []
    for (w, c, e, p, s), values in zip(
        itertools.product(workloads, contracts, spec.arms.ensemble, placements, spec.arms.scheduler), dims, strict=True
    ):
        parts = [v for v, vary in zip(values, varies, strict=True) if vary]
        arms.append(Arm("/".join(parts) if parts else s, p, s, e, c, w))
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise InvalidInput(
            "two arms share a name", [Problem("arms", "duplicate values in a dimension", "list each once")]
        )
    return arms


def apply_overrides(data: Any, overrides: Sequence[str]) -> Any:
    if not isinstance(data, dict):
        raise InvalidInput("spec is not a mapping", [Problem("<root>", "expected keys", "see docs/experiments.md")])
    for i, item in enumerate(overrides):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput("bad override", [Problem(f"--set[{i}]", f"{item!r} is not key=value", "e.g. seed=3")])
        target = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            nxt = target.get(part)
            if nxt is None:
                nxt = target[part] = {}
            if not isinstance(nxt, dict):
                raise InvalidInput(
                    "bad override", [Problem(f"--set[{i}]", f"{part} is not a section", "check the key")]
                )
            target = nxt
        try:
            target[parts[-1]] = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError as exc:
            raise InvalidInput("bad override", [Problem(f"--set {key}", str(exc), "give a YAML value")]) from None
    return data


def load_spec(path: Path, overrides: Sequence[str] = ()) -> tuple[Spec, Path]:
    """The validated spec and the folder its relative paths start from."""
    resolved = resolve_path(str(path), Path.cwd())
    data = apply_overrides(load_document(resolved), overrides)
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"invalid experiment spec {path}", problems_from_validation(exc)) from None
    return spec, resolved.parent


def resolve_path(text: str, base: Path) -> Path:
    if text.startswith(PACKAGE):
        return Path(str(files("rohe").joinpath(text[len(PACKAGE) :])))
    candidate = Path(text).expanduser()
    return candidate if candidate.is_absolute() else base / candidate


def shipped_specs() -> list[Path]:
    folder = files("rohe").joinpath("experiments/specs")
    return sorted(Path(str(folder)).glob("*.yaml"))
