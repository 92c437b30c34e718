"""Server-side apply and prune against a Kubernetes API server over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from deploy_inputs import placed, rohe_command_placement
from fake_kube_api import APPLY_PATCH, FakeKubeApi

from factories import service
from rohe.core.domain import Replica, Service
from rohe.core.errors import InvalidInput, RoheError
from rohe.orchestration.deploy.kubernetes import ApplyReport, KubernetesApiError, KubernetesDeployer, build_manifests

NS = "rohe"


def deploy(kubeconfig: Path, services: list[Service], replicas: list[Replica]) -> ApplyReport:
    return KubernetesDeployer(str(kubeconfig), namespace=NS).apply(build_manifests(services, replicas, NS))


def test_first_apply_creates_every_object_with_server_side_apply(kube_api: FakeKubeApi, kubeconfig: Path) -> None:
    services, replicas = rohe_command_placement()
    manifests = build_manifests(services, replicas, NS)
    report = KubernetesDeployer(str(kubeconfig), namespace=NS).apply(manifests)

    assert report.pruned == []
    assert report.applied[0] == "Namespace/rohe"
    assert len(report.applied) == len(manifests)
    assert "Deployment/rohe/bts-inference-service-raspberrypi-03" in report.applied
    assert kube_api.names("namespaces") == {NS}
    assert kube_api.names("configmaps", NS) == {f"{s.name.replace('_', '-')}-env" for s in services}
    assert kube_api.names("services", NS) == {s.name.replace("_", "-") for s in services}
    assert len(kube_api.names("deployments", NS)) == sum(1 for m in manifests if m["kind"] == "Deployment")
    patches = [r for r in kube_api.requests if r.method == "PATCH"]
    assert len(patches) == len(manifests)
    assert all(r.content_type == APPLY_PATCH for r in patches)
    assert all(r.query == {"fieldManager": ["rohe"], "force": ["true"]} for r in patches)
    stored = kube_api.objects[("deployments", NS, "bts-inference-service-raspberrypi-03")]
    assert stored["spec"]["template"]["spec"]["nodeSelector"] == {"kubernetes.io/hostname": "raspberrypi_03"}


def test_second_apply_changes_nothing(kube_api: FakeKubeApi, kubeconfig: Path) -> None:
    services, replicas = rohe_command_placement()
    first = deploy(kubeconfig, services, replicas)
    versions = kube_api.versions()
    sent = len(kube_api.requests)

    second = deploy(kubeconfig, services, replicas)

    assert second.applied == first.applied
    assert second.pruned == []
    assert kube_api.versions() == versions
    assert not [r for r in kube_api.requests[sent:] if r.method == "DELETE"]


def test_removed_service_is_pruned_and_the_rest_untouched(kube_api: FakeKubeApi, kubeconfig: Path) -> None:
    services, replicas = rohe_command_placement()
    deploy(kubeconfig, services, replicas)
    versions = kube_api.versions()

    kept = [s for s in services if s.name != "kpi_minio_service"]
    report = deploy(kubeconfig, kept, [r for r in replicas if r.service != "kpi_minio_service"])

    assert sorted(report.pruned) == [
        "ConfigMap/rohe/kpi-minio-service-env",
        "Deployment/rohe/kpi-minio-service-jetson-nano-02",
        "Deployment/rohe/kpi-minio-service-jetson-nano-03",
        "Service/rohe/kpi-minio-service",
    ]
    assert not any("kpi-minio" in name for name in kube_api.names("deployments", NS))
    assert "kpi-minio-service" not in kube_api.names("services", NS)
    assert "kpi-minio-service-env" not in kube_api.names("configmaps", NS)
    assert kube_api.versions() == {k: v for k, v in versions.items() if "kpi-minio" not in k[2]}
    deletes = [r for r in kube_api.requests if r.method == "DELETE"]
    assert all(r.query == {"propagationPolicy": ["Background"]} for r in deletes)


def test_moved_replica_replaces_its_deployment(kube_api: FakeKubeApi, kubeconfig: Path) -> None:
    web = service("web", image="web:1", ports=[80])
    deploy(kubeconfig, [web], [placed("web", 0, "n1")])
    report = deploy(kubeconfig, [web], [placed("web", 0, "n2")])
    assert report.pruned == ["Deployment/rohe/web-n1"]
    assert kube_api.names("deployments", NS) == {"web-n2"}
    assert kube_api.names("services", NS) == {"web"}


def test_objects_not_managed_by_rohe_are_never_pruned(kube_api: FakeKubeApi, kubeconfig: Path) -> None:
    deploy(kubeconfig, [service("web", image="web:1")], [placed("web", 0, "n1")])
    kube_api.put(
        "configmaps",
        NS,
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "user-settings", "labels": {"team": "ops"}}},
    )
    report = deploy(kubeconfig, [], [])
    assert sorted(report.pruned) == ["ConfigMap/rohe/web-env", "Deployment/rohe/web-n1"]
    assert kube_api.names("configmaps", NS) == {"user-settings"}
    assert kube_api.names("namespaces") == {NS}


def test_server_error_names_the_object_and_the_server_message(kube_api: FakeKubeApi, kubeconfig: Path) -> None:
    kube_api.fail("PATCH", "deployments", 422, 'Deployment.apps "web-n1" is invalid: spec.replicas: must be >= 0')
    with pytest.raises(KubernetesApiError) as caught:
        deploy(kubeconfig, [service("web", image="web:1")], [placed("web", 0, "n1")])
    error = caught.value
    assert isinstance(error, RoheError)
    assert error.http_status == 422
    assert "Deployment/rohe/web-n1" in error.message
    assert "spec.replicas: must be >= 0" in error.message
    assert error.problems[0].location == "Deployment/rohe/web-n1"
    assert "rejected" in error.problems[0].hint


def test_failed_listing_during_prune_is_reported(kube_api: FakeKubeApi, kubeconfig: Path) -> None:
    kube_api.fail("GET", "services", 403, 'services is forbidden: User "tester" cannot list resource "services"')
    with pytest.raises(KubernetesApiError, match="forbidden") as caught:
        deploy(kubeconfig, [service("web", image="web:1")], [placed("web", 0, "n1")])
    assert "RBAC" in caught.value.problems[0].hint


def test_wrong_credentials_are_reported(kube_api: FakeKubeApi, tmp_path: Path) -> None:
    config = kube_api.write_kubeconfig(tmp_path / "bad.yaml", token="wrong")
    with pytest.raises(KubernetesApiError, match="Namespace/rohe") as caught:
        deploy(config, [], [])
    assert caught.value.http_status == 401


def test_unreachable_server_is_a_clear_error(kube_api: FakeKubeApi, kubeconfig: Path) -> None:
    kube_api.stop()
    with pytest.raises(KubernetesApiError, match="cannot reach the Kubernetes API"):
        deploy(kubeconfig, [], [])


def test_missing_kubeconfig_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RoheError, match="cannot load the Kubernetes configuration") as caught:
        KubernetesDeployer(str(tmp_path / "nope.yaml"))
    assert caught.value.problems[0].location == "deploy.kubeconfig"


def test_manifest_for_another_namespace_or_kind_is_rejected(kubeconfig: Path) -> None:
    deployer = KubernetesDeployer(str(kubeconfig), namespace=NS)
    foreign = build_manifests([service("web", image="web:1")], [placed("web", 0, "n1")], "other")
    with pytest.raises(InvalidInput) as caught:
        deployer.apply(foreign)
    assert caught.value.problems[0].location == "manifests[1].metadata.namespace"
    with pytest.raises(InvalidInput, match="not managed by rohe"):
        deployer.apply([{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}])


def test_api_client_can_be_injected(kube_api: FakeKubeApi, kubeconfig: Path) -> None:
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)  # type: ignore[no-untyped-call]
    api_client = client.ApiClient(configuration)
    report = KubernetesDeployer(namespace=NS, api_client=api_client).apply(build_manifests([], [], NS))
    assert report.applied == ["Namespace/rohe"]
