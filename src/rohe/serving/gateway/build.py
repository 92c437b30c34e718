"""Building a ServingGateway from files or ready objects, as the CLI and the demo do."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rohe.core.contracts import ConsumerContract, load_contract
from rohe.core.errors import InvalidInput, Problem, ProblemCollector
from rohe.core.profiles import ProfileCatalog, load_catalog
from rohe.serving.dataplane import ModelEndpoints
from rohe.serving.gateway.service import ServingGateway
from rohe.serving.pipeline import PipelineSpec, load_pipeline


def parse_endpoint_options(options: Sequence[str]) -> dict[str, list[str]]:
    """`model=URL` options (repeat a model for more replicas; `model=URL1,URL2` works too)."""
    problems = ProblemCollector()
    result: dict[str, list[str]] = {}
    for i, option in enumerate(options):
        model, sep, urls = option.partition("=")
        if not sep or not model.strip() or not urls.strip():
            problems.add(f"--endpoint[{i}]", f"{option!r} is not model=URL", "e.g. knn=http://127.0.0.1:8221")
            continue
        result.setdefault(model.strip(), []).extend(u.strip() for u in urls.split(",") if u.strip())
    problems.raise_if_any("invalid --endpoint options")
    return result


def endpoints_for_services(pipeline: PipelineSpec, service_urls: Mapping[str, Sequence[str]]) -> ModelEndpoints:
    """Model endpoints from where the inference services' replicas run (service name -> replica URLs, e.g.
    from a local deployment), through the spec's model -> service mapping. Non-inference services are skipped."""
    serves = {service: model for m in pipeline.modalities for model, service in m.models.items()}
    found = {serves[s]: list(urls) for s, urls in service_urls.items() if s in serves and urls}
    if not found:
        raise InvalidInput(
            "no inference service has a replica",
            [Problem("services", f"got {sorted(service_urls)}", f"deploy some of {sorted(serves)}")],
        )
    return ModelEndpoints(found)


def build_gateway(
    pipeline: PipelineSpec | Path,
    catalog: ProfileCatalog | Path,
    contracts: Sequence[ConsumerContract | Path],
    endpoints: ModelEndpoints | Mapping[str, Sequence[str] | str],
    **options: Any,
) -> ServingGateway:
    """A gateway from objects or file paths. `endpoints` may map model -> URL or URLs; `options` go to
    ServingGateway (sink, default_algorithm, preprocessors, plugins, run, seed, ...)."""
    spec = pipeline if isinstance(pipeline, PipelineSpec) else load_pipeline(pipeline)
    profiles = catalog if isinstance(catalog, ProfileCatalog) else load_catalog(catalog)
    loaded = [c if isinstance(c, ConsumerContract) else load_contract(c) for c in contracts]
    if isinstance(endpoints, ModelEndpoints):
        registry = endpoints
    else:
        if not endpoints:
            raise InvalidInput(
                "no model endpoints", [Problem("endpoints", "is empty", "give model=URL for each running model")]
            )
        registry = ModelEndpoints({m: [u] if isinstance(u, str) else list(u) for m, u in endpoints.items()})
    return ServingGateway(spec, profiles, loaded, registry, **options)
