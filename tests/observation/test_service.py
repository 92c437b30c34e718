"""ObservationService with the real agent and store: registration, deletion, agent lifecycle, resume, retention."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rohe.core.config import ObservationSettings
from rohe.core.errors import InvalidInput, NotFound
from rohe.observation.agent import AgentConfig
from rohe.observation.brokers import MqttTransport
from rohe.observation.metrics import ALL_CONSUMERS, WindowMetrics
from rohe.observation.reports import Report, ReportKind, RequestStatus
from rohe.observation.service import ObservationService, with_credentials
from rohe.observation.store import ObservationStore
from rohe.observation.violations import Violation
from rohe.observation.wiring import silence_after_s

# Recent, so the retention loop a resumed service starts keeps these windows.
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
CONFIG: dict[str, Any] = {"windows": [{"size_s": 1}], "allowed_lateness_s": 0, "idle_close_s": None}


def requests(app: str, run: str, count: int, start: datetime = T0, step_s: float = 0.1) -> list[Report]:
    return [
        Report(app=app, run=run, kind=ReportKind.REQUEST, consumer="gold", request_id=f"{run}-{i}",
               status=RequestStatus.OK, end_to_end_ms=10.0 + i, predicted_class="cat", confidence=0.8,
               timestamp=start + timedelta(seconds=i * step_s))
        for i in range(count)
    ]


def total_requests(windows: list[WindowMetrics]) -> int:
    return sum(w.requests for w in windows if w.consumer == ALL_CONSUMERS)


@pytest.fixture
def service(store_url: str) -> Iterator[ObservationService]:
    instance = ObservationService(ObservationStore(store_url))
    yield instance
    instance.close()
    instance.store.close()


def test_register_is_idempotent_and_writes_the_metadata_file(service: ObservationService, tmp_path: Path) -> None:
    first = service.register_app("shop", "r1", "alice", output_dir=tmp_path / "meta")
    again = service.register_app("shop", "r1", "bob", url="http://gw:9000", output_dir=tmp_path / "meta")
    assert again.app_id == first.app_id and again.user == "bob" and again.created_at == first.created_at
    other = service.register_app("shop", "r2", "alice")
    assert other.app_id != first.app_id and other.namespace != first.namespace
    written = json.loads((tmp_path / "meta" / "shop-r1.json").read_text())
    assert written["app_id"] == str(first.app_id) and written["user"] == "bob"
    assert written["probe"]["transport"]["channel"] == "rohe.obs.shop.r1"
    assert [a.run for a in service.list_apps("shop")] == ["r1", "r2"]


def test_registration_refuses_secrets_and_bad_names(service: ObservationService) -> None:
    with pytest.raises(InvalidInput) as caught:
        service.register_app("shop", "r1", "alice", transport="amqp", broker_url="amqp://u:hunter2@mq:5672/")
    assert caught.value.problems[0].location == "broker_url"
    assert "hunter2" not in str(caught.value)
    with pytest.raises(InvalidInput) as caught:
        service.register_app("", "r1", "alice")
    assert caught.value.problems[0].location == "app"
    mqtt = service.register_app("shop", "r1", "alice", transport="mqtt", credentials_env="SHOP_MQTT")
    assert mqtt.probe.transport.url == "mqtt://127.0.0.1:1883" and mqtt.probe.channels["mqtt"] == "rohe/obs/shop/r1"
    assert mqtt.probe.credentials_env == "SHOP_MQTT"


def test_agent_windows_reach_the_store_and_stop_flushes(service: ObservationService) -> None:
    service.register_app("shop", "r1", "alice")
    status = service.start_agent("shop", {**CONFIG, "run": "r1"})
    assert status.running and status.desired == "running"
    service.agent("shop", "r1").ingest(requests("shop", "r1", 25))  # 2.5 s of requests: two windows close
    closed = service.windows("shop", "r1")
    assert total_requests(closed) == 20
    stopped = service.stop_agent("shop")
    assert [(s.run, s.running, s.desired) for s in stopped] == [("r1", False, "stopped")]
    everything = service.windows("shop", "r1")
    assert total_requests(everything) == 25  # the open window was flushed on stop
    assert {w.consumer for w in everything} == {ALL_CONSUMERS, "gold"}
    with pytest.raises(NotFound):
        service.agent("shop", "r1")


def test_agents_resume_after_a_restart_and_stopped_ones_do_not(store_url: str) -> None:
    first = ObservationService(ObservationStore(store_url))
    first.register_app("shop", "r1", "alice")
    first.register_app("shop", "r2", "alice")
    first.start_agent("shop", {**CONFIG, "run": "r1"})
    first.start_agent("shop", {**CONFIG, "run": "r2"})
    sent = requests("shop", "r1", 15)
    first.agent("shop", "r1").ingest(sent)
    first.stop_agent("shop", "r2")
    first.close()  # the process ends: r1 stays recorded as running
    first.store.close()

    second = ObservationService(ObservationStore(store_url), ObservationSettings(purge_interval_s=3600))
    try:
        resumed = second.resume()
        assert [(s.app, s.run, s.running) for s in resumed] == [("shop", "r1", True)]
        assert {(s.run, s.desired, s.running) for s in second.agents()} == {("r1", "running", True),
                                                                            ("r2", "stopped", False)}
        before = total_requests(second.windows("shop", "r1"))
        assert before == 15  # closed and flushed by the first process
        # Reports resent from before the restart are not counted twice; new ones are.
        later = [r.model_copy(update={"request_id": f"later-{i}"})
                 for i, r in enumerate(requests("shop", "r1", 10, start=T0 + timedelta(seconds=2)))]
        second.agent("shop", "r1").ingest(sent + later)
        second.stop_agent("shop", "r1")
        stored = second.windows("shop", "r1", consumer=ALL_CONSUMERS)
        assert total_requests(stored) == 25
        assert len(stored) == 3  # [0,1) and [1,2) from before the restart, [2,3) after: none twice
    finally:
        second.close()
        second.store.close()


def test_start_agent_rejects_bad_input_before_recording(service: ObservationService) -> None:
    with pytest.raises(NotFound):
        service.start_agent("ghost", CONFIG)
    service.register_app("shop", "default", "alice")
    with pytest.raises(InvalidInput) as caught:
        service.start_agent("shop", {"windows": [{"size_s": -1}]})
    assert caught.value.problems[0].location == "windows[0].size_s"
    with pytest.raises(InvalidInput) as caught:
        service.start_agent("shop", {**CONFIG, "app": "other"})
    assert caught.value.problems[0].location == "app"
    with pytest.raises(InvalidInput) as caught:
        service.start_agent("shop", {**CONFIG, "parser": "no.such.module:parse"})
    with pytest.raises(InvalidInput):
        service.start_agent("shop", {**CONFIG, "parser": "no.such.module:parse"}, launch=False)
    assert service.agents() == []
    with pytest.raises(NotFound):
        service.stop_agent("shop")


def test_delete_app_stops_its_agent_and_keeps_or_drops_metrics(service: ObservationService) -> None:
    for run in ("r1", "r2"):
        service.register_app("shop", run, "alice")
        service.start_agent("shop", {**CONFIG, "run": run})
        service.agent("shop", run).ingest(requests("shop", run, 12))
    service.delete_app("shop", "r1", keep_metrics=True)
    assert total_requests(service.windows("shop", "r1")) == 12  # flushed when its agent stopped, then kept
    assert [s.run for s in service.agents()] == ["r2"]
    service.delete_app("shop", keep_metrics=False)
    with pytest.raises(NotFound):
        service.windows("shop")
    assert service.agents() == [] and service.list_apps() == []


def test_retention_purges_old_windows_in_the_background(store_url: str) -> None:
    service = ObservationService(ObservationStore(store_url),
                                 ObservationSettings(retention_s=3600, purge_interval_s=0.05))
    try:
        now = datetime.now(UTC)
        # r1 keeps windows for the installation's hour; r2's agent config asks for a day.
        for run, extra in (("r1", {}), ("r2", {"retention_s": 86400})):
            service.register_app("shop", run, "alice")
            service.start_agent("shop", {**CONFIG, "run": run, **extra})
            old = requests("shop", run, 12, start=now - timedelta(hours=3))
            service.agent("shop", run).ingest(old + requests("shop", run, 12, start=now))
        service.stop_agent("shop")
        assert total_requests(service.windows("shop", "r1")) == total_requests(service.windows("shop", "r2")) == 24
        service.start_retention()
        deadline = time.monotonic() + 10
        while total_requests(service.windows("shop", "r1")) != 12 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert total_requests(service.windows("shop", "r1")) == 12  # only the recent windows remain
        assert total_requests(service.windows("shop", "r2")) == 24
    finally:
        service.close()
        service.store.close()


def test_credentials_are_added_at_run_time_only(monkeypatch: pytest.MonkeyPatch) -> None:
    config = AgentConfig.model_validate({"app": "shop", "transport": {"kind": "amqp", "url": "amqp://mq:5672/"}})
    monkeypatch.setenv("SHOP_AMQP", "rohe:p@ss")
    assert with_credentials(config, "SHOP_AMQP").transport.url == "amqp://rohe:p%40ss@mq:5672/"
    assert config.transport.url == "amqp://mq:5672/"
    monkeypatch.delenv("SHOP_AMQP")
    with pytest.raises(InvalidInput) as caught:
        with_credentials(config, "SHOP_AMQP")
    assert caught.value.problems[0].location == "credentials_env"


def test_an_app_registered_for_mqtt_gets_an_agent_on_mqtt(service: ObservationService) -> None:
    """End to end over the real broker: the agent config names no transport, the registration's is used.
    The app name is unique: parallel runs share the broker, and a fixed topic would mix their reports."""
    app = f"shop-mqtt-{uuid.uuid4().hex[:8]}"
    service.register_app(app, "r1", "alice", transport="mqtt")
    status = service.start_agent(app, {**CONFIG, "run": "r1"})
    # start_agent answers at once; the agent may still be connecting (state "connecting") on a loaded machine.
    deadline = time.monotonic() + 10
    while not status.running and time.monotonic() < deadline:
        time.sleep(0.05)
        status = service.agent_status(app, "r1")
    assert status.running and status.state == "subscribed"

    async def publish() -> None:
        transport = MqttTransport(app, "r1")
        try:
            await transport.publish(requests(app, "r1", 15))
        finally:
            await transport.close()

    asyncio.run(publish())
    deadline = time.monotonic() + 10
    while service.agent_status(app, "r1").stats.get("received", 0) < 15 and time.monotonic() < deadline:
        time.sleep(0.05)
    service.stop_agent(app)
    asyncio.run(MqttTransport(app, "r1", session="rohe-agent").forget_session())  # leave no session behind
    assert total_requests(service.windows(app)) == 15


GOLD_CONTRACT = """
contract:
  contract_id: gold
  tenant_id: shop-tenant
  pipeline_id: shop
  effective_from: "2024-01-01T00:00:00Z"
  performance_slo: {response_time_p99_ms: 12.0, throughput_rps: 0.1, availability_percent: 50.0}
  quality_slo:
    builtin_metrics:
      confidence: {operator: ">=", value: 0.5, window: "1m", action_on_violation: alert}
"""


def test_contracts_in_the_config_turn_windows_into_stored_violations(
    service: ObservationService, tmp_path: Path
) -> None:
    contract = tmp_path / "gold.yaml"
    contract.write_text(GOLD_CONTRACT)
    service.register_app("shop", "r1", "alice")
    service.start_agent("shop", {**CONFIG, "run": "r1", "contracts": [str(contract)]})
    # Window [0,1) has end-to-end 10..19 ms (p99 above 12), window [1,2) 20..24 ms: both break the p99 clause.
    service.agent("shop", "r1").ingest(requests("shop", "r1", 15))
    service.stop_agent("shop")
    found = service.violations("shop", "r1")
    assert [v.clause for v in found] == ["performance_slo.response_time_p99_ms <= 12"] * 2
    assert all(v.consumer == "gold" and v.observed is not None and v.observed > 12 for v in found)
    missing = tmp_path / "nope.yaml"
    with pytest.raises(InvalidInput):
        service.start_agent("shop", {**CONFIG, "run": "r1", "contracts": [str(missing)]})


STEADY_CONTRACT = """
contract:
  contract_id: gold
  tenant_id: shop-tenant
  pipeline_id: shop
  effective_from: "2024-01-01T00:00:00Z"
  performance_slo: {response_time_p99_ms: 1000.0, throughput_rps: 5.0, availability_percent: 50.0}
  quality_slo:
    builtin_metrics:
      confidence: {operator: ">=", value: 0.5, window: "1s", action_on_violation: alert}
"""


def test_a_consumer_that_goes_silent_is_flagged_within_about_a_window(
    service: ObservationService, tmp_path: Path
) -> None:
    contract = tmp_path / "gold.yaml"
    contract.write_text(STEADY_CONTRACT)
    config = {"run": "r1", "windows": [{"size_s": 0.2}], "allowed_lateness_s": 0.0, "idle_close_s": 0.05,
              "contracts": [str(contract)]}
    service.register_app("quiet", "r1", "alice")
    service.start_agent("quiet", config)
    agent = service.agent("quiet", "r1")
    parsed = AgentConfig.model_validate({"app": "quiet", **config})
    after_s = silence_after_s(parsed)
    # Sending in real time for longer than the silence threshold: a healthy consumer is never called silent.
    sent_until = time.monotonic() + after_s + 0.5
    while time.monotonic() < sent_until:
        now = datetime.now(UTC)
        agent.ingest([r.model_copy(update={"timestamp": now}) for r in requests("quiet", "r1", 5, start=now)])
        time.sleep(0.05)
    assert service.violations("quiet", "r1") == [], "no violation while the consumer sends 100 req/s"
    stopped_at = time.monotonic()
    deadline = stopped_at + after_s + 0.2 + 2.0
    found: list[Violation] = []
    while not found and time.monotonic() < deadline:
        time.sleep(0.05)
        found = [v for v in service.violations("quiet", "r1") if v.metric == "throughput_rps"]
    delay = time.monotonic() - stopped_at
    assert found, f"no throughput violation {delay:.1f} s after the consumer stopped"
    [silent] = found
    assert silent.consumer == "gold" and silent.observed == 0.0
    assert silent.causes[0].name == "no requests"
    # The last window ends at most one window after the last report; silence is declared `after_s` later.
    assert delay <= after_s + 0.2 + 1.0
    service.stop_agent("quiet")
    assert [v.metric for v in service.violations("quiet", "r1")] == ["throughput_rps"], "flagged once"
