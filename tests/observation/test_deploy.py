"""Observation agents on Kubernetes: manifests valid for the API schemas, config carried in, apply over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from orchestration.deploy.fake_kube_api import FakeKubeApi
from rohe.core.errors import InvalidInput
from rohe.observation.agent.config import agent_config_from_dict
from rohe.observation.deploy import (
    AGENT_MANAGER,
    AgentPod,
    agent_object_names,
    apply_agent_manifests,
    build_agent_manifests,
    write_agent_manifests,
)
from rohe.orchestration.deploy.kubernetes import KubernetesDeployer
from rohe.orchestration.deploy.naming import DNS_LABEL, LABEL_VALUE

SCHEMA_VERSIONS = ["1.30.0", "1.37.0"]
CONTRACT = "contract:\n  contract_id: gold\n"  # copied verbatim; its content is the agent's business
POD = AgentPod(image="registry.example/rohe:1.0", database_url="postgresql+psycopg://rohe@db.rohe:5432/rohe")


@pytest.fixture
def kube_api() -> Iterator[FakeKubeApi]:
    api = FakeKubeApi().start()
    yield api
    api.stop()


def agent_document(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    contract = tmp_path / "gold_contract.yaml"
    contract.write_text(CONTRACT)
    return {"app": "Shop_App", "run": "r1", "windows": [{"size_s": 5}],
            "transport": {"kind": "mqtt", "url": "mqtt://mosquitto.rohe:1883"}, "contracts": [str(contract)],
            **extra}


def by_kind(manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m["kind"]: m for m in manifests}


def test_manifests_validate_against_the_kubernetes_schemas(tmp_path: Path) -> None:
    manifests = build_agent_manifests(agent_document(tmp_path), AgentPod(**{**POD.__dict__, "node": "Edge_01"}))
    assert [m["kind"] for m in manifests] == ["Namespace", "ConfigMap", "Deployment"]
    for manifest in manifests:
        for version in SCHEMA_VERSIONS:
            kubernetes_validate.validate(manifest, version, strict=True)
        assert DNS_LABEL.match(manifest["metadata"]["name"])
        assert all(LABEL_VALUE.match(v) for v in manifest["metadata"].get("labels", {}).values())
    deployment = by_kind(manifests)["Deployment"]
    template = deployment["spec"]["template"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
    assert template["spec"]["nodeSelector"] == {"kubernetes.io/hostname": "edge_01"}


def test_the_pod_runs_the_foreground_agent_on_the_mounted_config(tmp_path: Path) -> None:
    manifests = build_agent_manifests(agent_document(tmp_path), POD)
    config_map, deployment = by_kind(manifests)["ConfigMap"], by_kind(manifests)["Deployment"]
    assert (deployment["metadata"]["name"], config_map["metadata"]["name"]) == agent_object_names("Shop_App", "r1")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["rohe", "observation", "start-observation-agent", "--app", "Shop_App",
                                    "--conf", "/etc/rohe/agent.yaml", "--foreground"]
    assert container["image"] == POD.image
    assert {"name": "ROHE_DATABASE_URL", "value": POD.database_url} in container["env"]
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["config"]["configMap"]["name"] == config_map["metadata"]["name"]
    assert deployment["spec"]["strategy"] == {"type": "Recreate"} and deployment["spec"]["replicas"] == 1
    # The config in the pod is the one given, with contracts pointing at their copies in the same ConfigMap.
    in_pod = agent_config_from_dict(yaml.safe_load(config_map["data"]["agent.yaml"]))
    assert (in_pod.app, in_pod.run, in_pod.windows[0].size_s) == ("Shop_App", "r1", 5.0)
    [contract_path] = in_pod.contracts
    assert contract_path.parent == Path("/etc/rohe")
    assert config_map["data"][contract_path.name] == CONTRACT


def test_a_changed_config_rolls_the_deployment(tmp_path: Path) -> None:
    def config_hash(document: dict[str, Any]) -> str:
        deployment = by_kind(build_agent_manifests(document, POD))["Deployment"]
        return str(deployment["spec"]["template"]["metadata"]["annotations"]["rohe.io/config-hash"])

    first = agent_document(tmp_path)
    assert config_hash(first) == config_hash(dict(first))
    assert config_hash(first) != config_hash({**first, "windows": [{"size_s": 1}]})


def test_secrets_come_from_a_secret_and_are_never_written(tmp_path: Path) -> None:
    pod = AgentPod(secret="rohe-db")
    document = agent_document(tmp_path, transport={"kind": "nats", "url": "nats://nats.rohe:4222",
                                                   "credentials_env": "BROKER"})
    deployment = by_kind(build_agent_manifests(document, pod))["Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["envFrom"] == [{"secretRef": {"name": "rohe-db"}}]
    assert all(e["name"] != "ROHE_DATABASE_URL" for e in container["env"])


@pytest.mark.parametrize(
    ("document_extra", "pod", "location"),
    [
        ({"transport": {"kind": "inproc"}}, POD, "transport.kind"),
        ({"transport": {"kind": "mqtt", "url": "mqtt://127.0.0.1:1883"}}, POD, "transport.url"),
        ({"transport": {"kind": "amqp"}}, POD, "transport.url"),
        ({"transport": {"kind": "mqtt", "url": "mqtt://mq:1883", "credentials_env": "B"}}, POD, "--secret"),
        ({}, AgentPod(), "--database-url"),
        ({}, AgentPod(database_url="postgresql://rohe:hunter2@db/rohe"), "--database-url"),
        ({}, AgentPod(database_url="sqlite:///x.db", namespace="Not_A_Label"), "--namespace"),
        ({"windows": []}, POD, "windows"),
    ],
)
def test_bad_input_names_the_field(tmp_path: Path, document_extra: dict[str, Any], pod: AgentPod,
                                   location: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        build_agent_manifests(agent_document(tmp_path, **document_extra), pod)
    assert location in [p.location for p in caught.value.problems], caught.value.problems
    assert "hunter2" not in str(caught.value)


def test_missing_contract_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        build_agent_manifests(agent_document(tmp_path, contracts=[str(tmp_path / "nope.yaml")]), POD)
    assert [p.location for p in caught.value.problems] == ["contracts[0]"]


def test_written_file_holds_every_object_and_leaves_other_files(tmp_path: Path) -> None:
    out = tmp_path / "manifests"
    out.mkdir()
    (out / "bts-service.yaml").write_text("# generated by rohe: rewritten on every deploy --dry-run\n")
    manifests = build_agent_manifests(agent_document(tmp_path), POD)
    path = write_agent_manifests(manifests, out)
    assert list(yaml.safe_load_all(path.read_text())) == manifests
    assert (out / "bts-service.yaml").exists()


def test_apply_creates_the_agent_and_leaves_the_apps_objects(kube_api: FakeKubeApi, tmp_path: Path) -> None:
    kubeconfig = kube_api.write_kubeconfig(tmp_path / "kubeconfig.yaml")
    app_deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                      "metadata": {"name": "gateway-edge1", "namespace": "rohe",
                                   "labels": {"app.kubernetes.io/managed-by": "rohe"}}}
    kube_api.put("namespaces", None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "rohe"}})
    kube_api.put("deployments", "rohe", app_deployment)
    manifests = build_agent_manifests(agent_document(tmp_path), POD)

    report = apply_agent_manifests(manifests, str(kubeconfig), "rohe")

    deployment, config_map = agent_object_names("Shop_App", "r1")
    assert report.applied == ["Namespace/rohe", f"ConfigMap/rohe/{config_map}", f"Deployment/rohe/{deployment}"]
    assert report.pruned == []
    assert kube_api.names("deployments", "rohe") == {"gateway-edge1", deployment}
    stored = kube_api.objects[("deployments", "rohe", deployment)]
    assert stored["metadata"]["labels"]["app.kubernetes.io/managed-by"] == AGENT_MANAGER
    versions = kube_api.versions()
    apply_agent_manifests(manifests, str(kubeconfig), "rohe")
    assert kube_api.versions() == versions, "applying the same manifests again changes nothing"
    # `rohe deploy` prunes what it manages and did not plan: the agent is not among those.
    KubernetesDeployer(str(kubeconfig), namespace="rohe").apply([manifests[0]])
    assert kube_api.names("deployments", "rohe") == {deployment}
    assert kube_api.names("configmaps", "rohe") == {config_map}
