"""Everything the gateway precomputes per consumer at start, so a request only does lookups: per modality,
the scheduler view restricted to the models that modality may use (profiled, reachable, allowed by the
contract), what those models need in time, and what each costs per request."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from rohe.core.contracts import ConsumerContract
from rohe.core.errors import InvalidInput, Problem, ProblemCollector
from rohe.core.profiles import ProfileCatalog
from rohe.serving.dataplane import ModelEndpoints
from rohe.serving.pipeline import ModalityNeed, PipelineSpec, need_from_latencies
from rohe.serving.scheduling import PreparedConsumer, prepare

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModalityServing:
    """One consumer x one modality. `prepared` is None when no model of the modality is usable for it."""

    modality: str
    models: tuple[str, ...]
    prepared: PreparedConsumer | None
    need: ModalityNeed
    cost_of: dict[str, float]


@dataclass
class ConsumerServing:
    contract: ConsumerContract
    modalities: dict[str, ModalityServing]
    algorithm: str | None = None  # policy override; None = the gateway default
    degrade: bool = False
    unusable: list[str] = field(default_factory=list)
    excluded: tuple[str, ...] = ()  # policy: models taken out of this consumer's choices


def _usable_models(pipeline: PipelineSpec, catalog: ProfileCatalog, endpoints: ModelEndpoints) -> set[str]:
    reachable = set(endpoints.models())
    profiled = set(catalog.models)
    usable = set(pipeline.models) & reachable & profiled
    skipped = sorted(set(pipeline.models) - usable)
    if skipped:
        log.warning("models left out (no endpoint or no profile): %s", ", ".join(skipped))
    return usable


def check_inputs(
    pipeline: PipelineSpec, catalog: ProfileCatalog, contracts: Sequence[ConsumerContract], endpoints: ModelEndpoints
) -> None:
    problems = ProblemCollector()
    known_models = set(pipeline.models)
    for model in endpoints.models():
        if model not in known_models:
            problems.add(f"endpoints.{model}", "is not a model of the pipeline", f"use one of {sorted(known_models)}")
    seen: set[str] = set()
    for i, contract in enumerate(contracts):
        if contract.consumer in seen:
            problems.add(f"contracts[{i}].consumer", f"{contract.consumer!r} has two contracts", "keep one")
        seen.add(contract.consumer)
        for name in contract.modality_budgets or {}:
            if name not in pipeline.modality_names:
                problems.add(
                    f"contracts[{i}].modality_budgets.{name}",
                    "is not a modality of the pipeline",
                    f"use one of {list(pipeline.modality_names)}",
                )
    if not contracts:
        problems.add("contracts", "is empty", "give at least one consumer contract")
    usable = _usable_models(pipeline, catalog, endpoints)
    for modality in pipeline.modalities:
        if not usable & set(modality.models):
            problems.add(
                f"modalities.{modality.name}",
                "none of its models has both a profile and an endpoint",
                f"register endpoints and profiles for some of {list(modality.models)}",
            )
    problems.raise_if_any("the serving gateway cannot start")


def _allowed(contract: ConsumerContract, models: Sequence[str]) -> tuple[str, ...]:
    return tuple(m for m in models if contract.models is None or m in contract.models)


def _prepared(contract: ConsumerContract, catalog: ProfileCatalog, allowed: tuple[str, ...]) -> PreparedConsumer:
    # A modality's scheduler may only choose among its own models: restrict the contract before preparing.
    return prepare(contract.model_copy(update={"models": allowed}), catalog)


def _usable_need(prepared: PreparedConsumer, catalog: ProfileCatalog) -> tuple[list[int], ModalityNeed]:
    view = prepared.view(None)
    rows = [i for i in range(len(catalog.models)) if view.usable[i]]
    return rows, need_from_latencies([float(view.p50[i]) for i in rows], [float(view.p99[i]) for i in rows])


def modality_need(contract: ConsumerContract, catalog: ProfileCatalog, models: Sequence[str]) -> ModalityNeed:
    """What a modality's models need by the profiles, as the gateway derives it to split a deadline
    (rohe.serving.pipeline.modality_budgets) over the modalities of a consumer's request."""
    allowed = _allowed(contract, models)
    if not allowed:
        return ModalityNeed(0.0, math.inf)
    return _usable_need(_prepared(contract, catalog, allowed), catalog)[1]


def _modality_serving(
    contract: ConsumerContract, catalog: ProfileCatalog, modality: str, models: tuple[str, ...]
) -> ModalityServing:
    allowed = _allowed(contract, models)
    if not allowed:
        return ModalityServing(modality, (), None, ModalityNeed(0.0, math.inf), {})
    prepared = _prepared(contract, catalog, allowed)
    rows, need = _usable_need(prepared, catalog)
    view = prepared.view(None)
    cost_of = {catalog.models[i]: float(view.cost[i]) for i in rows}
    return ModalityServing(modality, allowed, prepared, need, cost_of)


def prepare_consumers(
    pipeline: PipelineSpec, catalog: ProfileCatalog, contracts: Sequence[ConsumerContract], endpoints: ModelEndpoints
) -> dict[str, ConsumerServing]:
    check_inputs(pipeline, catalog, contracts, endpoints)
    usable = _usable_models(pipeline, catalog, endpoints)
    result: dict[str, ConsumerServing] = {}
    for contract in contracts:
        per_modality = {
            m.name: _modality_serving(contract, catalog, m.name, tuple(x for x in m.models if x in usable))
            for m in pipeline.modalities
        }
        unusable = [name for name, s in per_modality.items() if s.prepared is None]
        if len(unusable) == len(per_modality):
            raise InvalidInput(
                "a consumer can use no model",
                [
                    Problem(
                        f"contracts.{contract.consumer}.models",
                        "allows no model that has a profile and an endpoint",
                        f"allow some of {sorted(usable)}",
                    )
                ],
            )
        result[contract.consumer] = ConsumerServing(contract, per_modality, unusable=unusable)
    return result


def refresh_consumers(
    current: dict[str, ConsumerServing],
    pipeline: PipelineSpec,
    catalog: ProfileCatalog,
    endpoints: ModelEndpoints,
) -> dict[str, ConsumerServing]:
    """The consumers re-prepared for the models that have an active replica now (live membership), each
    keeping its policy override. Raises InvalidInput when the new set cannot serve (the caller keeps `current`)."""
    fresh = prepare_consumers(pipeline, catalog, [s.contract for s in current.values()], endpoints)
    for name, serving in fresh.items():
        old = current[name]
        if old.excluded:
            serving = fresh[name] = with_exclusions(serving, pipeline, catalog, endpoints, old.excluded)
        serving.algorithm, serving.degrade = old.algorithm, old.degrade
    return fresh


def with_exclusions(
    serving: ConsumerServing,
    pipeline: PipelineSpec,
    catalog: ProfileCatalog,
    endpoints: ModelEndpoints,
    exclude: Sequence[str],
) -> ConsumerServing:
    """The consumer re-prepared without `exclude` (its contract itself is kept, so clearing restores it).
    InvalidInput names the field when a model is unknown or nothing would be left to serve with."""
    contract = serving.contract
    unknown = sorted(set(exclude) - set(pipeline.models))
    if unknown:
        raise InvalidInput(
            "cannot exclude unknown models",
            [Problem("exclude", f"{', '.join(unknown)} not in the pipeline", f"use some of {sorted(pipeline.models)}")],
        )
    allowed = [m for m in pipeline.models if (contract.models is None or m in contract.models) and m not in exclude]
    if not allowed:
        raise InvalidInput(
            "nothing left to serve with",
            [Problem("exclude", "excludes every model the contract allows", "exclude fewer models")],
        )
    restricted = contract.model_copy(update={"models": allowed}) if exclude else contract
    fresh = prepare_consumers(pipeline, catalog, [restricted], endpoints)[contract.consumer]
    fresh.contract, fresh.excluded = contract, tuple(exclude)
    fresh.algorithm, fresh.degrade = serving.algorithm, serving.degrade
    return fresh
