"""Kubernetes manifests for placed replicas, every one validated against the official schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from deploy_inputs import placed, queued, rohe_command_placement
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import service
from rohe.core.domain import Replica, ReplicaStatus, Service
from rohe.core.errors import InvalidInput
from rohe.orchestration.deploy.kubernetes import build_manifests, write_manifests
from rohe.orchestration.deploy.naming import DNS_LABEL, LABEL_VALUE

SCHEMA_VERSIONS = ["1.30.0", "1.37.0"]


def assert_valid(manifests: list[dict[str, Any]], versions: list[str] = SCHEMA_VERSIONS) -> None:
    """Strict schema validation plus the name rules the schemas do not encode."""
    for manifest in manifests:
        for version in versions:
            kubernetes_validate.validate(manifest, version, strict=True)
        meta = manifest["metadata"]
        assert DNS_LABEL.match(meta["name"]), meta["name"]
        for value in meta.get("labels", {}).values():
            assert LABEL_VALUE.match(value), value
        if manifest["kind"] == "Deployment":
            template = manifest["spec"]["template"]
            selector = manifest["spec"]["selector"]["matchLabels"]
            assert selector.items() <= template["metadata"]["labels"].items()
            for value in template["spec"]["nodeSelector"].values():
                assert LABEL_VALUE.match(value), value


def by_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def gpu_service(name: str, gpu: float, **extra: Any) -> Service:
    return service(name, cpu=800, rss=1024, image="rdsea/infer:1", accelerators={"gpu": gpu}, **extra)


def test_rohe_command_services_validate_and_keep_every_replica() -> None:
    services, replicas = rohe_command_placement()
    manifests = build_manifests(services, replicas, namespace="edge")
    assert_valid(manifests)
    assert manifests[0] == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "edge", "labels": {"app.kubernetes.io/managed-by": "rohe"}},
    }
    deployments = by_kind(manifests, "Deployment")
    for svc in services:
        total = sum(
            d["spec"]["replicas"]
            for d in deployments.values()
            if d["metadata"]["annotations"]["rohe.io/service-name"] == svc.name
        )
        assert total == svc.replicas
    assert len(by_kind(manifests, "ConfigMap")) == len(services)
    assert len(by_kind(manifests, "Service")) == len(services)
    assert all(m["metadata"].get("namespace", "edge") == "edge" for m in manifests)


def test_deployment_is_pinned_named_and_labelled() -> None:
    services, replicas = rohe_command_placement()
    deployments = by_kind(build_manifests(services, replicas), "Deployment")
    deployment = deployments["bts-inference-service-raspberrypi-03"]
    meta = deployment["metadata"]
    assert meta["annotations"]["rohe.io/service-name"] == "bts_inference_service"
    assert meta["annotations"]["rohe.io/node-name"] == "RaspberryPi_03"
    assert meta["labels"] == {
        "app.kubernetes.io/managed-by": "rohe",
        "app.kubernetes.io/name": "bts_inference_service",
        "app.kubernetes.io/part-of": "bts",
        "rohe.io/service": "bts_inference_service",
        "rohe.io/node": "RaspberryPi_03",
    }
    pod = deployment["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"kubernetes.io/hostname": "raspberrypi_03"}
    (container,) = pod["containers"]
    assert container["image"] == "rdsea/bts_ml_proc:2.0"
    assert container["ports"] == [{"name": "port-4002", "containerPort": 4002, "protocol": "TCP"}]
    assert container["resources"] == {
        "requests": {"cpu": "1000m", "memory": "2500Mi"},
        "limits": {"cpu": "1000m", "memory": "2500Mi"},
    }
    assert container["envFrom"] == [{"configMapRef": {"name": "bts-inference-service-env"}}]


def test_cpu_comes_from_the_larger_of_cpu_and_per_core_demand() -> None:
    svc = service("pinned", cpu=100, rss=64, image="x:1", processor=[500, 50])
    (deployment,) = by_kind(build_manifests([svc], [placed("pinned", 0, "n1")]), "Deployment").values()
    assert deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] == "550m"


@pytest.mark.parametrize(("gpu", "devices"), [(15, 1), (100, 1), (100.5, 2), (250, 3)])
def test_gpu_percent_becomes_whole_devices(gpu: float, devices: int) -> None:
    svc = gpu_service("infer", gpu)
    manifests = build_manifests([svc], [placed("infer", 0, "jetson-1"), placed("infer", 1, "jetson-1")])
    assert_valid(manifests)
    (deployment,) = by_kind(manifests, "Deployment").values()
    assert deployment["spec"]["replicas"] == 2
    resources = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == devices
    assert resources["limits"]["nvidia.com/gpu"] == devices


def test_no_gpu_resource_without_gpu_demand() -> None:
    svc = gpu_service("infer", 0)
    (deployment,) = by_kind(build_manifests([svc], [placed("infer", 0, "n1")]), "Deployment").values()
    assert "nvidia.com/gpu" not in deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]


def test_config_map_holds_env_and_rohe_identity() -> None:
    svc = service("web", image="web:1", application="shop", env={"MODE": "fast", "ROHE_SERVICE": "spoof"})
    config_maps = by_kind(build_manifests([svc], [placed("web", 0, "n1")]), "ConfigMap")
    assert config_maps["web-env"]["data"] == {"MODE": "fast", "ROHE_APPLICATION": "shop", "ROHE_SERVICE": "web"}


def test_changing_env_changes_the_pod_template() -> None:
    def template_annotations(env: dict[str, str]) -> dict[str, str]:
        svc = service("web", image="web:1", env=env)
        (deployment,) = by_kind(build_manifests([svc], [placed("web", 0, "n1")]), "Deployment").values()
        annotations: dict[str, str] = deployment["spec"]["template"]["metadata"]["annotations"]
        return annotations

    assert template_annotations({"A": "1"}) == template_annotations({"A": "1"})
    assert template_annotations({"A": "1"}) != template_annotations({"A": "2"})


def test_cluster_ip_service_only_for_services_with_ports() -> None:
    web = service("web", image="web:1", ports=[8080, 9090])
    worker = service("worker", image="worker:1")
    manifests = build_manifests([web, worker], [placed("web", 0, "n1"), placed("worker", 0, "n1")])
    assert_valid(manifests)
    services = by_kind(manifests, "Service")
    assert list(services) == ["web"]
    spec = services["web"]["spec"]
    assert spec["type"] == "ClusterIP"
    assert [p["port"] for p in spec["ports"]] == [8080, 9090]
    deployment = by_kind(manifests, "Deployment")["web-n1"]
    assert spec["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_one_deployment_per_node_and_only_placed_replicas() -> None:
    svc = service("web", image="web:1", replicas=5)
    replicas = [
        placed("web", 0, "n1"),
        placed("web", 1, "n2", ReplicaStatus.RUNNING),
        placed("web", 2, "n1"),
        queued("web", 3),
        Replica(service="web", index=4, status=ReplicaStatus.FAILED),
    ]
    deployments = by_kind(build_manifests([svc], replicas), "Deployment")
    assert {name: d["spec"]["replicas"] for name, d in deployments.items()} == {"web-n1": 2, "web-n2": 1}


def test_service_without_placed_replicas_gets_no_objects() -> None:
    manifests = build_manifests([service("idle", image="idle:1")], [queued("idle", 0)])
    assert [m["kind"] for m in manifests] == ["Namespace"]


def test_placed_service_without_image_names_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        build_manifests([service("noimage")], [placed("noimage", 0, "n1")])
    assert [p.location for p in caught.value.problems] == ["services[noimage].image"]


def test_unplaced_service_without_image_is_fine() -> None:
    assert len(build_manifests([service("noimage")], [queued("noimage", 0)])) == 1


def test_replica_of_unknown_service_is_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        build_manifests([], [placed("ghost", 0, "n1")])
    assert caught.value.problems[0].location == "replicas[0].service"


def test_names_that_collide_after_conversion_are_rejected() -> None:
    services = [service("a_b", image="x:1"), service("a-b", image="x:1")]
    with pytest.raises(InvalidInput, match="same Kubernetes object"):
        build_manifests(services, [placed("a_b", 0, "n1"), placed("a-b", 0, "n1")])


def test_invalid_namespace_and_env_key_are_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        build_manifests([], [], namespace="Bad_NS")
    assert caught.value.problems[0].location == "namespace"
    with pytest.raises(InvalidInput) as caught:
        build_manifests([service("web", image="x:1", env={"bad key": "1"})], [placed("web", 0, "n1")])
    assert caught.value.problems[0].location == "services[web].env.bad key"


def test_unknown_accelerator_is_rejected() -> None:
    svc = service("web", image="x:1", accelerators={"tpu": 1})
    with pytest.raises(InvalidInput) as caught:
        build_manifests([svc], [placed("web", 0, "n1")])
    assert caught.value.problems[0].location == "services[web].accelerators.tpu"


def test_long_and_digit_first_names_are_valid_labels() -> None:
    name = "9" + "x" * 62
    node = "node." + "n" * 40 + ".example.internal"
    manifests = build_manifests([service(name, image="x:1", ports=[80])], [placed(name, 0, node)])
    assert_valid(manifests)
    deployment = next(m for m in manifests if m["kind"] == "Deployment")
    assert deployment["metadata"]["annotations"]["rohe.io/node-name"] == node


def test_write_manifests_round_trips_and_removes_only_stale_rohe_files(tmp_path: Path) -> None:
    services, replicas = rohe_command_placement()
    manifests = build_manifests(services, replicas)
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.yaml").write_text("kind: Keep\n", encoding="utf-8")
    paths = write_manifests(manifests, out)
    assert len(paths) == 1 + len(services)
    loaded = [doc for path in sorted(paths) for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))]
    key = lambda m: (m["kind"], m["metadata"]["name"])  # noqa: E731
    assert sorted(loaded, key=key) == sorted(manifests, key=key)

    kept = [s for s in services if s.name != "kpi_minio_service"]
    write_manifests(build_manifests(kept, replicas=[r for r in replicas if r.service != "kpi_minio_service"]), out)
    assert not (out / "kpi-minio-service.yaml").exists()
    assert (out / "bts-inference-service.yaml").exists()
    assert (out / "mine.yaml").read_text(encoding="utf-8") == "kind: Keep\n"


names = st.from_regex(r"[a-z0-9]([a-z0-9_\-]{0,20}[a-z0-9])?", fullmatch=True)
nodes = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9_.\-]{0,30}[A-Za-z0-9])?", fullmatch=True)


@st.composite
def plans(draw: st.DrawFn) -> tuple[list[Service], list[Replica]]:
    service_names = draw(st.lists(names, min_size=1, max_size=4, unique_by=lambda n: n.replace("_", "-")))
    node_names = draw(st.lists(nodes, min_size=1, max_size=3, unique_by=str.lower))
    services, replicas = [], []
    for name in service_names:
        count = draw(st.integers(min_value=0, max_value=4))
        services.append(
            service(
                name,
                cpu=draw(st.integers(0, 4000)),
                rss=draw(st.integers(0, 8192)),
                image=f"img/{name}:1",
                ports=draw(st.lists(st.integers(1, 65535), max_size=3, unique=True)),
                accelerators={"gpu": draw(st.sampled_from([0, 10, 100, 150]))},
            )
        )
        for index in range(count):
            replicas.append(placed(name, index, draw(st.sampled_from(node_names))))
    return services, replicas


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_any_plan_gives_valid_manifests_with_every_replica(plan: tuple[list[Service], list[Replica]]) -> None:
    services, replicas = plan
    try:
        manifests = build_manifests(services, replicas)
    except InvalidInput as exc:
        # Only a genuine name clash (service and node names joined the same way) may be refused.
        assert "same Kubernetes object" in exc.message
        return
    assert_valid(manifests, SCHEMA_VERSIONS[:1])
    deployed = sum(m["spec"]["replicas"] for m in manifests if m["kind"] == "Deployment")
    assert deployed == len(replicas)


def test_the_container_runs_the_service_command_listening_on_the_pod_address() -> None:
    command = ["{python}", "-m", "app", "--port", "{port}", "--host", "{host}", "--id", "{service}-{replica}", "{x}"]
    svc = service("web", image="web:1", ports=[8200], command=command)
    manifests = build_manifests([svc], [placed("web", 0, "n1")])
    assert_valid(manifests)
    (container,) = next(iter(by_kind(manifests, "Deployment").values()))["spec"]["template"]["spec"]["containers"]
    # Kubernetes expands $(ROHE_POD_NAME) from the pod's own name; unknown braces are left alone.
    assert container["command"] == ["python", "-m", "app", "--port", "8200", "--host", "0.0.0.0",
                                    "--id", "web-$(ROHE_POD_NAME)", "{x}"]
    assert container["env"] == [{"name": "ROHE_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    without = build_manifests([service("db", image="db:1")], [placed("db", 0, "n1")])
    (plain,) = next(iter(by_kind(without, "Deployment").values()))["spec"]["template"]["spec"]["containers"]
    assert "command" not in plain  # the image's own entrypoint
