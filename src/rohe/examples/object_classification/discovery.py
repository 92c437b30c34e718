"""Where the example's model services listen, as seen from the gateway replica that fans out to them.

Three sources, first match wins:
- explicit `model=URL` options (an operator who knows better);
- inside a Kubernetes pod (`KUBERNETES_SERVICE_HOST` is set by the kubelet): each inference service's
  ClusterIP Service, which the manifests name after the service (`dns_label`) with its declared ports, in
  the gateway's own namespace, so `http://oc-knn:8221`;
- otherwise the local backend's state (`<data dir>/local/local-processes.json`): the running replicas of
  the inference services on 127.0.0.1 and their per-replica ports.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

from rohe.core.errors import Problem, RoheError
from rohe.orchestration.deploy.local import LocalDeployer
from rohe.orchestration.deploy.naming import dns_label
from rohe.serving.pipeline import INFERENCE_STAGE, PipelineSpec

KUBERNETES_ENV = "KUBERNETES_SERVICE_HOST"


def model_services(spec: PipelineSpec) -> dict[str, str]:
    """model name -> the inference service serving it."""
    return {model: service for modality in spec.modalities for model, service in modality.models.items()}


def in_kubernetes(environ: Mapping[str, str] | None = None) -> bool:
    return bool((os.environ if environ is None else environ).get(KUBERNETES_ENV))


def kubernetes_endpoints(spec: PipelineSpec) -> dict[str, list[str]]:
    """model -> the in-namespace DNS name and first port of the ClusterIP Service of its service."""
    by_name = {s.name: s for s in spec.services_of(INFERENCE_STAGE)}
    found: dict[str, list[str]] = {}
    problems = []
    for model, service_name in model_services(spec).items():
        service = by_name[service_name]
        if not service.ports:
            problems.append(
                Problem(f"services.{service_name}.ports", "is empty, so it gets no Kubernetes Service", "declare one")
            )
            continue
        found[model] = [f"http://{dns_label(service_name)}:{service.ports[0]}"]
    if problems:
        raise RoheError("some model services cannot be reached inside the cluster", problems)
    return found


def local_endpoints(
    spec: PipelineSpec, state_dir: Path, me: tuple[str, int] | None = None
) -> tuple[dict[str, list[str]], bool]:
    """model -> URLs of the running local replicas of its service (models without one are left out), and
    whether the deployer has recorded replica `me` (service, index) yet, i.e. finished the deploy it is in."""
    serves = {service: model for model, service in model_services(spec).items()}
    found: dict[str, list[str]] = {}
    recorded = False
    for process in LocalDeployer(state_dir).status():
        recorded = recorded or (process.service, process.index) == me
        model = serves.get(process.service)
        if model is not None and process.status == "running" and process.port:
            found.setdefault(model, []).append(f"http://127.0.0.1:{process.port}")
    return found, recorded


def replica_identity(environ: Mapping[str, str] | None = None) -> tuple[str, int] | None:
    """(service, index) the local deployer gave this process, if it started it."""
    env = os.environ if environ is None else environ
    service, index = env.get("ROHE_SERVICE"), env.get("ROHE_REPLICA", "")
    return (service, int(index)) if service and index.isdigit() else None


def wait_for_local_endpoints(spec: PipelineSpec, state_dir: Path, timeout: float) -> dict[str, list[str]]:
    """The models' running replicas, once the local deployer has started them.

    The gateway replica is started in the same deploy as the model replicas, and the deployer records ports
    only when the whole batch is healthy, so the first reads may find nothing yet. Done when every model has
    a replica, or when the deploy that started this process is recorded (a model left unplaced is then not
    coming) and at least one model runs.
    """
    wanted = set(model_services(spec))
    me = replica_identity()
    give_up = time.monotonic() + timeout
    while True:
        found, deployed = local_endpoints(spec, state_dir, me)
        if set(found) == wanted or (deployed and found):
            return found
        if time.monotonic() >= give_up or deployed:
            missing = sorted(wanted - set(found))
            raise RoheError(
                f"no running local replica of any model service in {state_dir}",
                [
                    Problem(
                        str(state_dir / "local-processes.json"),
                        f"no running replica of {sorted(model_services(spec)[m] for m in missing)}",
                        "deploy the pipeline's services (`rohe orchestration deploy`) or pass --endpoint model=URL",
                    )
                ],
            )
        time.sleep(0.5)
