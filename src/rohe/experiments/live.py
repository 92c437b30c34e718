"""The live backend: an experiment's arms as real requests to a running serving gateway.

The gateway comes as a `LiveTarget` (its URL, token and the labelled inputs to send), made by whoever knows
where it is: `rohe experiment run` builds one from `live.gateway_url` / `--gateway`, or starts an example app
(`live.app` / `--app`, rohe.demo.live) and hands its URL over. Each arm sends the same queries as its simulated
twin (`queries_for`: arrival times, true classes and ids from the same seed), with the arm's scheduler as the
request's `algorithm`, its contract's consumer as `consumer` and that contract's deadline as `deadline_ms`;
the input of a query is a held-out sample of its true class, the same one in every arm. Arms run one after
another on the one gateway (never in parallel: they would load each other).

What a request cannot change is the deployment's: placement, cluster size, replicas, the contract's ensemble
size and the pipeline's fusion. A spec that varies them is refused, naming the field.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from rohe.core.contracts import load_contract
from rohe.core.errors import InvalidInput, Problem
from rohe.core.profiles import ProfileCatalog, load_catalog
from rohe.experiments.backends import Job, contract_of, queries_for
from rohe.experiments.live_load import ArmLoad, send_open_loop, to_row, write_details
from rohe.experiments.rows import Row
from rohe.experiments.spec import Spec, resolve_path
from rohe.serving.loadgen.samples import LabelledSamples
from rohe.simulation import SimQuery

DETAILS_DIR = "live"
PROBE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class LiveTarget:
    """A serving gateway to send to, and the labelled inputs to send it (e.g. an example app's held-out set)."""

    url: str
    samples: LabelledSamples
    token: str | None = None
    catalog: ProfileCatalog | None = None  # the profiles the gateway serves with, when known
    consumers: tuple[str, ...] = field(default=(), compare=False)  # filled by check_live from GET /consumers


def token_from_env(spec: Spec) -> str | None:
    """The bearer token named by `live.token_env`; a spec never holds the token itself."""
    name = spec.live.token_env
    if name is None:
        return None
    token = os.environ.get(name)
    if not token:
        raise InvalidInput(
            "no gateway token", [Problem("live.token_env", f"${name} is not set", f"export {name}=<token>")]
        )
    return token


def needs_gateway() -> InvalidInput:
    return InvalidInput(
        "the live backend needs a gateway",
        [
            Problem(
                "live.gateway_url",
                "is not set",
                "give --gateway URL (a running gateway), or --app NAME to start an example app locally",
            )
        ],
    )


def check_spec(spec: Spec) -> None:
    """What the live backend refuses before anything is sent: dimensions a request cannot change."""
    if len(spec.arms.placement) > 1:
        raise InvalidInput(
            "the live backend cannot vary placement",
            [
                Problem(
                    "arms.placement",
                    f"{len(spec.arms.placement)} values; live uses the deployed placement",
                    "give one value (or run placement arms on the simulate backend)",
                )
            ],
        )
    for i, policy in enumerate(spec.arms.ensemble):
        if policy.min is not None or policy.max is not None or policy.aggregation != "majority":
            raise InvalidInput(
                "the live backend cannot change the ensemble",
                [
                    Problem(
                        f"arms.ensemble[{i}]",
                        f"{policy.name}: the gateway serves the contract's size and the pipeline's fusion",
                        "remove arms.ensemble for live, or deploy a contract with that size",
                    )
                ],
            )


def _get(client: httpx.Client, url: str, path: str) -> Any:
    try:
        response = client.get(path)
    except httpx.HTTPError as exc:
        raise InvalidInput(
            "the gateway cannot be reached",
            [Problem("live.gateway_url", f"{url}: {type(exc).__name__}: {exc}", "start the gateway or fix the URL")],
        ) from None
    if response.status_code == 401:
        raise InvalidInput(
            "the gateway refused the token",
            [Problem("live.token_env", f"{url} answered 401", "name the env var holding the gateway's token")],
        )
    not_gateway = InvalidInput(
        "not a rohe serving gateway",
        [Problem("live.gateway_url", f"{url}{path} answered HTTP {response.status_code}", "check the URL")],
    )
    if response.status_code != 200:
        raise not_gateway
    try:
        return response.json()
    except ValueError:
        raise not_gateway from None


def _served(client: httpx.Client, url: str) -> tuple[tuple[str, ...], set[str]]:
    """The gateway's consumers and schedulers, or an error saying the URL is not a gateway's."""
    consumers = _get(client, url, "/consumers")
    algorithms = _get(client, url, "/algorithms")
    if not isinstance(consumers, list) or not all(isinstance(c, dict) and "consumer" in c for c in consumers):
        raise InvalidInput(
            "not a rohe serving gateway", [Problem("live.gateway_url", f"{url}/consumers lists no consumers", "")]
        )
    names = algorithms.get("algorithms", []) if isinstance(algorithms, dict) else []
    return tuple(str(c["consumer"]) for c in consumers), {str(a) for a in names}


def check_live(spec: Spec, base: Path, target: LiveTarget) -> LiveTarget:
    """The gateway answers, serves every arm's consumer and scheduler: checked once, before any arm runs."""
    check_spec(spec)
    headers = {"Authorization": f"Bearer {target.token}"} if target.token else {}
    with httpx.Client(base_url=target.url, headers=headers, timeout=PROBE_TIMEOUT_S) as client:
        served, algorithms = _served(client, target.url)
    for i, name in enumerate(spec.arms.scheduler):
        if algorithms and name not in algorithms:
            raise InvalidInput(
                "the gateway does not serve a scheduler",
                [Problem(f"arms.scheduler[{i}]", f"{name!r} is not served", f"use one of: {sorted(algorithms)}")],
            )
    checked = LiveTarget(target.url, target.samples, target.token, target.catalog, served)
    for name in spec.contract_names:
        consumer = _consumer_of(spec, base, name)
        if consumer not in served:
            raise InvalidInput(
                "the gateway does not serve a consumer",
                [Problem(f"contracts.{name}", f"consumer {consumer!r} is not served", f"it serves: {list(served)}")],
            )
    if not spec.contract_names and len(served) != 1:
        raise InvalidInput(
            "which consumer?",
            [Problem("contracts", f"the gateway serves {list(served)}", "name the consumer's contract in contracts")],
        )
    missing = sorted(set(class_ids(spec, base, checked)) - set(target.samples.labels))
    if missing:
        raise InvalidInput(
            "no input for some classes",
            [Problem("catalog", f"classes {missing} have no labelled input to send", "use the served app's catalog")],
        )
    return checked


def _consumer_of(spec: Spec, base: Path, name: str) -> str:
    return load_contract(resolve_path(spec.contracts[name], base)).consumer


def class_ids(spec: Spec, base: Path, target: LiveTarget) -> list[int]:
    """Classes true classes are drawn from: the spec's catalog (as its simulated twin), else the gateway's,
    else the inputs' labels."""
    if spec.catalog is not None:
        return list(load_catalog(resolve_path(spec.catalog, base)).class_ids)
    if target.catalog is not None:
        return list(target.catalog.class_ids)
    return sorted(set(target.samples.labels))


def _sample_rows(samples: LabelledSamples, queries: Sequence[SimQuery]) -> tuple[int, ...]:
    by_class: dict[int, list[int]] = {}
    for index, label in enumerate(samples.labels):
        by_class.setdefault(label, []).append(index)
    # check_live made sure every class has an input; the k-th query of a class takes a fixed one.
    return tuple(by_class[q.true_class][i % len(by_class[q.true_class])] for i, q in enumerate(queries))


def run_live(job: Job, target: LiveTarget, out: Path) -> list[Row]:
    """One (arm, repetition) against the gateway; its per-request details go to out/live/."""
    spec = job.spec
    contract = contract_of(job)
    consumer = contract.consumer if contract is not None else target.consumers[0]
    deadline_ms = contract.deadline_ms if contract is not None else None
    queries = queries_for(spec, job, class_ids(spec, job.base, target))
    load = ArmLoad(consumer, job.arm.scheduler, deadline_ms, target.samples, _sample_rows(target.samples, queries))
    results = send_open_loop(target.url, queries, load, token=target.token, timeout_s=spec.live.timeout_s)
    write_details(queries, results, out / DETAILS_DIR / f"{job.arm.slug}-r{job.repetition}.csv")
    pairs = zip(queries, results, strict=True)
    return [to_row(job.arm.name, job.repetition, job.seed, q, r, deadline_ms) for q, r in pairs]
