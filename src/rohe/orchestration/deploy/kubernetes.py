"""Kubernetes/K3s backend: build manifests for placed replicas and apply them (see docs/deployment.md)."""

from rohe.orchestration.deploy.kube_apply import ApplyReport, KubernetesApiError, KubernetesDeployer
from rohe.orchestration.deploy.manifests import build_manifests, write_manifests

__all__ = ["ApplyReport", "KubernetesApiError", "KubernetesDeployer", "build_manifests", "write_manifests"]
