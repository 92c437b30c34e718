"""Server-side apply of rohe's manifests to a Kubernetes/K3s cluster, then pruning what the plan dropped.

Requests go through the official client's `ApiClient` (authentication, TLS and kubeconfig handling) but not
through the typed or dynamic APIs: the four kinds rohe writes have fixed URLs, so no discovery round trips
are needed, and the same code path serves apply-patch, list and delete uniformly.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import urllib3
import yaml
from kubernetes import client
from kubernetes import config as _typed_config
from kubernetes.client.exceptions import ApiException

from rohe.core.errors import InvalidInput, Problem, RoheError
from rohe.orchestration.deploy.manifests import MANAGED_BY, MANAGER

FIELD_MANAGER = "rohe"
APPLY_PATCH = "application/apply-patch+yaml"
REQUEST_TIMEOUT = (5.0, 60.0)
# The config loaders carry no annotations; going through Any keeps strict mypy from rejecting the calls.
config: Any = _typed_config


@dataclass(frozen=True)
class _Kind:
    prefix: str
    plural: str
    namespaced: bool


# Apply order: the namespace first, config before the Deployments whose pods read it at start.
KINDS: dict[tuple[str, str], _Kind] = {
    ("v1", "Namespace"): _Kind("/api/v1", "namespaces", namespaced=False),
    ("v1", "ConfigMap"): _Kind("/api/v1", "configmaps", namespaced=True),
    ("v1", "Service"): _Kind("/api/v1", "services", namespaced=True),
    ("apps/v1", "Deployment"): _Kind("/apis/apps/v1", "deployments", namespaced=True),
}
# Prune order: workloads first, so nothing runs against a Service or ConfigMap that is already gone.
PRUNED_KINDS = [("apps/v1", "Deployment"), ("v1", "Service"), ("v1", "ConfigMap")]

_HINTS = {
    401: "the kubeconfig credentials were rejected; refresh them",
    403: "the kubeconfig user lacks RBAC permission for this object",
    404: "the API or namespace does not exist on this cluster",
    409: "another field manager or a concurrent change conflicts; retry",
    422: "the cluster rejected the object's content; check the service definition",
}


class KubernetesApiError(RoheError):
    """The API server refused a request or could not be reached."""

    status_code = 502

    def __init__(self, message: str, problems: list[Problem], http_status: int = 0) -> None:
        super().__init__(message, problems)
        self.http_status = http_status


@dataclass
class ApplyReport:
    """Objects as `Kind/namespace/name` (`Kind/name` when cluster-scoped)."""

    applied: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)


def object_key(kind: str, namespace: str | None, name: str) -> str:
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


class KubernetesDeployer:
    def __init__(
        self,
        kubeconfig: str | None = None,
        namespace: str = "rohe",
        context: str | None = None,
        api_client: Any | None = None,
    ) -> None:
        self.namespace = namespace
        self._api: Any = api_client if api_client is not None else _client_from_config(kubeconfig, context)

    def close(self) -> None:
        self._api.close()

    def apply(self, manifests: Sequence[dict[str, Any]], *, prune: bool = True) -> ApplyReport:
        """Apply every manifest (field manager `rohe`, conflicts forced), then prune rohe's leftovers unless
        `prune` is false (a partial set, such as one observation agent, must not delete the rest).

        Applying unchanged manifests again changes nothing on the server: apply is declarative.
        """
        ordered = self._checked(manifests)
        report = ApplyReport()
        wanted: set[str] = set()
        for kind, obj in ordered:
            meta = obj["metadata"]
            key = object_key(obj["kind"], meta.get("namespace"), meta["name"])
            path = self._object_path(kind, meta.get("namespace"), meta["name"])
            query = [("fieldManager", FIELD_MANAGER), ("force", "true")]
            self._call("PATCH", path, key, "apply", query=query, body=obj, content_type=APPLY_PATCH)
            report.applied.append(key)
            wanted.add(key)
        report.pruned = self._prune(wanted) if prune else []
        return report

    def _checked(self, manifests: Sequence[dict[str, Any]]) -> list[tuple[_Kind, dict[str, Any]]]:
        problems: list[Problem] = []
        checked: list[tuple[int, _Kind, dict[str, Any]]] = []
        order = list(KINDS)
        for position, manifest in enumerate(manifests):
            where = f"manifests[{position}]"
            type_key = (str(manifest.get("apiVersion")), str(manifest.get("kind")))
            kind = KINDS.get(type_key)
            name = manifest.get("metadata", {}).get("name")
            if kind is None:
                problems.append(
                    Problem(
                        f"{where}.kind",
                        f"{type_key[1]} ({type_key[0]}) is not managed by rohe",
                        "only Namespace, ConfigMap, Service and apps/v1 Deployment are applied",
                    )
                )
                continue
            if not isinstance(name, str) or not name:
                problems.append(Problem(f"{where}.metadata.name", "is missing", "give every object a name"))
                continue
            obj = copy.deepcopy(manifest)
            if kind.namespaced:
                namespace = obj["metadata"].setdefault("namespace", self.namespace)
                if namespace != self.namespace:
                    problems.append(
                        Problem(
                            f"{where}.metadata.namespace",
                            f"is '{namespace}' but this deployer manages '{self.namespace}'",
                            "build the manifests for the deployer's namespace",
                        )
                    )
                    continue
            checked.append((order.index(type_key), kind, obj))
        if problems:
            raise InvalidInput("cannot apply these manifests", problems)
        checked.sort(key=lambda entry: entry[0])
        return [(kind, obj) for _, kind, obj in checked]

    def _prune(self, wanted: set[str]) -> list[str]:
        pruned: list[str] = []
        selector = f"{MANAGED_BY}={MANAGER}"
        for api_version, kind_name in PRUNED_KINDS:
            kind = KINDS[(api_version, kind_name)]
            collection = f"{kind.prefix}/namespaces/{quote(self.namespace)}/{kind.plural}"
            listing_key = object_key(kind_name, self.namespace, "*")
            listing = self._call("GET", collection, listing_key, "list", query=[("labelSelector", selector)])
            names = sorted(item.get("metadata", {}).get("name", "") for item in listing.get("items") or [])
            for name in names:
                key = object_key(kind_name, self.namespace, name)
                if not name or key in wanted:
                    continue
                path = f"{collection}/{quote(name)}"
                # Background propagation: the Deployment's ReplicaSets and pods go with it.
                self._call("DELETE", path, key, "delete", query=[("propagationPolicy", "Background")], missing_ok=True)
                pruned.append(key)
        return pruned

    def _object_path(self, kind: _Kind, namespace: str | None, name: str) -> str:
        if kind.namespaced:
            return f"{kind.prefix}/namespaces/{quote(namespace or self.namespace)}/{kind.plural}/{quote(name)}"
        return f"{kind.prefix}/{kind.plural}/{quote(name)}"

    def _call(
        self,
        method: str,
        path: str,
        key: str,
        action: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: dict[str, Any] | None = None,
        content_type: str | None = None,
        missing_ok: bool = False,
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        host = getattr(getattr(self._api, "configuration", None), "host", "?")
        try:
            request = self._api.param_serialize(
                method=method,
                resource_path=path,
                query_params=query or [],
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self._api.call_api(*request, _request_timeout=REQUEST_TIMEOUT)
            response.read()
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise KubernetesApiError(
                f"cannot reach the Kubernetes API at {host} to {action} {key}",
                [
                    Problem(
                        key,
                        str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                        "check the kubeconfig server address and that the cluster is up",
                    )
                ],
            ) from None
        status = int(response.status)
        if missing_ok and status == 404:
            return {}
        if not 200 <= status < 300:
            message = _server_message(response.data, response.reason)
            raise KubernetesApiError(
                f"Kubernetes API refused to {action} {key}: {message}",
                [Problem(key, f"HTTP {status}: {message}", _HINTS.get(status, "see the API server's message"))],
                http_status=status,
            )
        return _json_object(response.data)


def _server_message(data: bytes | None, reason: str | None) -> str:
    try:
        status = json.loads(data or b"")
    except ValueError:
        status = None
    if isinstance(status, dict) and status.get("message"):
        return str(status["message"])
    text = (data or b"").decode("utf-8", "replace").strip()
    return text[:500] or reason or "no message"


def _json_object(data: bytes | None) -> dict[str, Any]:
    try:
        parsed = json.loads(data or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _client_from_config(kubeconfig: str | None, context: str | None) -> Any:
    """An ApiClient from the kubeconfig, or from the pod's service account when rohe runs in the cluster."""
    in_cluster = (
        kubeconfig is None
        and "KUBERNETES_SERVICE_HOST" in os.environ
        and "KUBECONFIG" not in os.environ
        and not Path("~/.kube/config").expanduser().is_file()
    )
    try:
        if in_cluster:
            configuration = client.Configuration()
            config.load_incluster_config(client_configuration=configuration)
            return client.ApiClient(configuration)
        return config.new_client_from_config(config_file=kubeconfig, context=context, persist_config=False)
    except (config.ConfigException, OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
        source = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        raise RoheError(
            f"cannot load the Kubernetes configuration from {source}",
            [
                Problem(
                    "deploy.kubeconfig",
                    str(exc) or type(exc).__name__,
                    "pass --kubeconfig or set deploy.kubeconfig to a valid kubeconfig file",
                )
            ],
        ) from None
