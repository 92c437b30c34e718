"""Where a placed replica listens: placements name a node, the gateway needs a URL (docs/serving-gateway.md,
"Live endpoints and offline operation"). A ReplicaResolver turns the placed replicas of the pipeline's
inference services into model -> URLs; which one is the operator's choice (CLI), never a request's.

- `template`: a URL pattern per replica, e.g. `http://{node}:{port}` (`{node}`, `{service}`, `{index}`,
  `{port}` = the service's first declared port in the pipeline spec) for sites whose node names resolve;
- `local`: the local deployer's state (`<data dir>/local/local-processes.json`): running processes of the
  placed replicas on 127.0.0.1 at their own ports; a replica placed but not running yet is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from rohe.core.domain import Replica
from rohe.core.errors import InvalidInput, Problem
from rohe.orchestration.deploy.local import LocalDeployer
from rohe.orchestration.deploy.plan import DEPLOYABLE
from rohe.serving.pipeline import PipelineSpec


class ReplicaResolver(Protocol):
    def resolve(self, pipeline: PipelineSpec, replicas: Sequence[Replica]) -> dict[str, list[str]]: ...


def _placed(pipeline: PipelineSpec, replicas: Sequence[Replica]) -> list[tuple[str, Replica]]:
    """(model, replica) for every placed replica of an inference service, sorted by service and index."""
    serves = {service: model for m in pipeline.modalities for model, service in m.models.items()}
    rows = [
        (serves[r.service], r)
        for r in replicas
        if r.service in serves and r.status in DEPLOYABLE and r.allocation is not None
    ]
    return sorted(rows, key=lambda row: (row[1].service, row[1].index))


class UrlTemplate:
    FIELDS = ("node", "service", "index", "port")

    def __init__(self, template: str) -> None:
        try:
            sample = template.format(node="n", service="s", index=0, port=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise InvalidInput(
                "invalid replica URL template",
                [Problem("replica_url", f"{template!r}: {exc!r}", f"use only the fields {list(self.FIELDS)}")],
            ) from None
        if not sample.startswith(("http://", "https://")):
            raise InvalidInput(
                "invalid replica URL template",
                [Problem("replica_url", f"{template!r}", "start it with http:// or https://, e.g. http://{node}:{port}")],
            )
        self.template = template

    def resolve(self, pipeline: PipelineSpec, replicas: Sequence[Replica]) -> dict[str, list[str]]:
        ports = {s.name: (s.ports[0] if s.ports else 0) for s in pipeline.services}
        found: dict[str, list[str]] = {}
        for model, replica in _placed(pipeline, replicas):
            url = self.template.format(
                node=replica.node, service=replica.service, index=replica.index, port=ports.get(replica.service, 0)
            )
            found.setdefault(model, []).append(url)
        return found


class LocalProcesses:
    def __init__(self, state_dir: Path) -> None:
        self.deployer = LocalDeployer(Path(state_dir))

    def resolve(self, pipeline: PipelineSpec, replicas: Sequence[Replica]) -> dict[str, list[str]]:
        running = {
            (p.service, p.index): p.port for p in self.deployer.status() if p.status == "running" and p.port
        }
        found: dict[str, list[str]] = {}
        for model, replica in _placed(pipeline, replicas):
            port = running.get((replica.service, replica.index))
            if port is not None:
                found.setdefault(model, []).append(f"http://127.0.0.1:{port}")
        return found


RESOLVERS: dict[str, Callable[[str], ReplicaResolver]] = {
    "template": UrlTemplate,
    "local": lambda option: LocalProcesses(Path(option)),
}


def make_resolver(kind: str, option: str) -> ReplicaResolver:
    """`template` with a URL pattern, or `local` with the local deployer's state dir."""
    factory = RESOLVERS.get(kind)
    if factory is None:
        raise InvalidInput(
            "unknown replica resolver", [Problem("resolver", f"{kind!r}", f"use one of {sorted(RESOLVERS)}")]
        )
    return factory(option)
