"""A probe built from a registration's probe configuration talks over the transport it names."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from observation.helpers import make_reports, unique
from rohe.core.errors import InvalidInput
from rohe.observation.brokers import JetStreamTransport, MqttTransport
from rohe.observation.probes import probe_from_config
from rohe.observation.transports import InProcessTransport, channel_name, make_transport


def test_inproc_config_meets_the_agent_side_transport(tmp_path: Path) -> None:
    app = unique("cfg")
    reports = make_reports(30, app, "r1")

    async def scenario() -> int:
        # An agent configured with the same kind and channel gets the same process-wide transport.
        stream = await make_transport("inproc", app, "r1", channel="custom.channel").subscribe()
        probe = probe_from_config({"transport": "inproc", "channel": "custom.channel", "extra": "ignored"},
                                  app=app, run="r1", spill_dir=tmp_path, flush_interval_s=0.01)
        for report in reports:
            probe.submit(report)
        got: list[object] = []
        async with asyncio.timeout(5):
            while len(got) < 30:
                got.extend(await anext(stream))
        await asyncio.to_thread(probe.close)
        return len(got)

    assert asyncio.run(scenario()) == 30


def test_mqtt_config_with_credentials_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = unique("cfg")
    monkeypatch.setenv("ROHE_TEST_MQTT_CREDS", "probe:secret")  # the local broker accepts anonymous and any user
    reports = make_reports(40, app, "r1")
    config = {"transport": "mqtt", "url": "mqtt://127.0.0.1:1883", "credentials_env": "ROHE_TEST_MQTT_CREDS",
              "app": app, "run": "r1"}

    async def scenario() -> int:
        subscriber = MqttTransport(app, "r1")
        stream = await subscriber.subscribe()
        probe = probe_from_config(config, spill_dir=tmp_path, flush_interval_s=0.01)
        assert isinstance(probe.transport, MqttTransport) and probe.transport.topic == subscriber.topic
        for report in reports:
            probe.submit(report)
        got: list[object] = []
        async with asyncio.timeout(10):
            while len(got) < 40:
                got.extend(await anext(stream))
        await asyncio.to_thread(probe.close)
        await stream.aclose()
        await subscriber.close()
        return len(got)

    assert asyncio.run(scenario()) == 40


def test_each_kind_builds_its_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(make_transport("inproc", "a", "r"), InProcessTransport)
    assert make_transport("inproc", "a", "r") is make_transport("inproc", "a", "r")
    jet = make_transport("nats-jetstream", "my app", "r1", subscriber="agent-1")
    assert isinstance(jet, JetStreamTransport)
    assert (jet.subject, jet.stream, jet.durable) == (channel_name("my app", "r1", "."), "ROHE_OBS_my_20app",
                                                      "agent-1-r1")
    monkeypatch.setenv("ROHE_TEST_AMQP_URL", "amqp://u:p@broker:5672/")
    amqp = make_transport("amqp", "a", "r", credentials_env="ROHE_TEST_AMQP_URL")
    assert amqp._url == "amqp://u:p@broker:5672/"  # type: ignore[attr-defined]
    mqtt = make_transport("mqtt", "a", "r")
    assert isinstance(mqtt, MqttTransport) and mqtt.session_id is not None and mqtt.session_id.startswith("rohe-agent-")


@pytest.mark.parametrize(("config", "location"), [
    ({"transport": "kafka"}, "probe.transport"),
    ({"transport": "mqtt", "url": 5}, "probe.url"),
    ({"transport": "inproc"}, "probe.app"),
    ({"transport": "mqtt", "credentials_env": "ROHE_TEST_UNSET_VARIABLE", "app": "a"}, "credentials_env"),
])
def test_bad_configuration_names_the_field(config: dict[str, object], location: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        probe_from_config(config, spill_dir=tmp_path)
    assert caught.value.problems[0].location == location


def test_registration_shapes_are_accepted(tmp_path: Path) -> None:
    app = unique("cfg")
    record = {"transport": {"kind": "inproc", "url": None, "channel": f"rohe.obs.{app}.r2"},
              "channels": {"inproc": f"rohe.obs.{app}.r2"}, "credentials_env": None}
    for config in (record, {"app": app, "run": "r2", "user": "u", "probe": record}):
        probe = probe_from_config(config, app=None if "probe" in config else app, run="r2", spill_dir=tmp_path)
        try:
            assert (probe.origin.app, probe.origin.run) == (app, "r2")
            assert probe.transport is make_transport("inproc", app, "r2", channel=f"rohe.obs.{app}.r2")
        finally:
            probe.close()
