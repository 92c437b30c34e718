"""The closed loop across services: the gateway's reports go through a probe and the in-process transport to an
observation agent, whose evaluator stores an explained violation and degrades the consumer at the gateway."""

from __future__ import annotations

import time
from pathlib import Path

import yaml
from gateway_farm import Farm, catalog, contract, pipeline, served

from rohe.core.storage import Store
from rohe.observation.agent import ObservationAgent
from rohe.observation.agent.config import agent_config_from_dict
from rohe.observation.evaluation.wiring import evaluation_for
from rohe.observation.probes import Probe
from rohe.observation.store import ObservationStore
from rohe.observation.transports import make_transport
from rohe.serving.dataplane import ModelEndpoints
from rohe.serving.gateway import ServingGateway

APP, RUN = "gateway-test", "closed-loop"


def accuracy_contract_file(tmp_path: Path) -> Path:
    """Consumer `cam` must be 99% right over 1 s windows; below that the gateway is told to degrade it."""
    slo = {
        "contract_id": "cam",
        "tenant_id": "t1",
        "pipeline_id": APP,
        "effective_from": "2026-01-01T00:00:00Z",
        "performance_slo": {"response_time_p99_ms": 5000, "throughput_rps": 0.1, "availability_percent": 50},
        "quality_slo": {
            "builtin_metrics": {
                "accuracy": {"operator": ">=", "value": 0.99, "window": "1s", "action_on_violation": "degrade"}
            }
        },
    }
    document = contract().model_dump(mode="json", exclude_none=True) | {"slo": slo}
    path = tmp_path / "cam.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_an_accuracy_violation_is_explained_stored_and_degrades_the_consumer(farm: Farm, tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'rohe.db'}")
    store.upgrade()
    observations = ObservationStore(store)
    probe = Probe(APP, RUN, transport=make_transport("inproc", APP, RUN), flush_interval_s=0.02)
    # The bayes model alone is ~80% right on digits: well under the contract's 99%.
    gateway = ServingGateway(
        pipeline(("bayes",)), catalog("bayes"), [contract()], ModelEndpoints(farm.endpoints("bayes")),
        sink=probe, run=RUN, default_algorithm="single-best",
    )
    with served(gateway) as client:
        config = agent_config_from_dict(
            {
                "app": APP,
                "run": RUN,
                "transport": {"kind": "inproc"},
                "windows": [{"kind": "tumbling", "size_s": 1}],
                "allowed_lateness_s": 0.2,
                "idle_close_s": 0.5,
                "contracts": [str(accuracy_contract_file(tmp_path))],
                "actions": {"gateway_url": str(client.base_url)},
            },
            "test",
        )
        evaluation = evaluation_for(config, observations)
        agent = ObservationAgent(
            config, observations, listeners=[evaluation.evaluator], window_functions=evaluation.window_functions
        )
        agent.start()
        try:
            wrong = 0
            for i in range(60):
                body = client.post("/infer", json={"consumer": "cam", "input": farm.samples[i].tolist()}).json()
                truth = int(farm.labels[i])
                wrong += body["predicted_class"] != truth
                client.post("/feedback", json={"request_id": body["request_id"], "true_class": truth})
                time.sleep(0.03)
            assert wrong >= 2, "the fixture must make mistakes for the contract to break"

            give_up = time.monotonic() + 15
            violations = []
            while time.monotonic() < give_up and not violations:
                violations = [v for v in observations.list_violations(APP, RUN) if v.metric.startswith("accuracy")]
                time.sleep(0.1)
            assert violations, "no accuracy violation was stored"
            violation = violations[0]
            assert violation.consumer == "cam" and violation.observed is not None and violation.observed < 0.99
            assert violation.causes and violation.explanation
            assert any(c.name == "bayes" for c in violation.causes), violation.causes

            degraded = False
            while time.monotonic() < give_up and not degraded:
                degraded = any(row["consumer"] == "cam" and row["degrade"] for row in client.get("/consumers").json())
                time.sleep(0.1)
            assert degraded, "the degrade action never reached the gateway"
        finally:
            agent.stop()
            if evaluation.actions is not None:
                evaluation.actions.close(5)
            probe.close(5)
            store.close()
