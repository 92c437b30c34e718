"""Root cause of issue 8: the private Mosquitto ran as root, switched to the `mosquitto` user, could not write its
persistence file into the test's root-owned folder and forgot the agent's session on every restart. These tests
restart a private broker under the agent's persistent subscriber and read CONNACK's session-present flag, which
the subscriber now counts in `sessions_lost`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from faults.brokers import PrivateBroker, mosquitto
from faults.conftest import unique
from rohe.observation.brokers import MqttTransport

pytestmark = pytest.mark.slow


async def _restart_under(subscriber: MqttTransport, broker: PrivateBroker,
                         down: Callable[[PrivateBroker], None]) -> None:
    stream = await subscriber.subscribe()
    consumer = asyncio.create_task(anext(stream))  # keeps the subscriber reading, so it notices the outage
    try:
        await asyncio.to_thread(down, broker)
        await asyncio.to_thread(broker.start)
        async with asyncio.timeout(15):
            while subscriber.reconnects == 0 or not subscriber.connected:
                await asyncio.sleep(0.05)
    finally:
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        await stream.aclose()
        await subscriber.close()


@pytest.mark.parametrize("down", [PrivateBroker.stop, PrivateBroker.kill], ids=["sigterm", "kill-9"])
def test_private_mosquitto_keeps_the_session_across_a_restart(
        tmp_path: Path, down: Callable[[PrivateBroker], None]) -> None:
    broker = mosquitto(tmp_path / "mosquitto")
    broker.start()
    subscriber = MqttTransport(unique("sess"), "r1", port=broker.port, session="rohe-test")
    try:
        asyncio.run(_restart_under(subscriber, broker, down))
    finally:
        broker.stop()
    assert subscriber.reconnects >= 1
    assert subscriber.sessions_lost == 0, subscriber.last_error
    log = broker.log.read_text(errors="replace")
    assert "Error saving in-memory database" not in log, log[-1500:]


def test_a_broker_that_forgets_the_session_is_reported(tmp_path: Path) -> None:
    conf = tmp_path / "forgetful.conf"
    conf.write_text("allow_anonymous true\npersistence false\n")
    broker = mosquitto(tmp_path / "mosquitto", conf=conf)
    broker.start()
    subscriber = MqttTransport(unique("sess"), "r1", port=broker.port, session="rohe-test")
    try:
        asyncio.run(_restart_under(subscriber, broker, PrivateBroker.stop))
    finally:
        broker.stop()
    assert subscriber.sessions_lost == 1
    assert "lost the persistent session" in subscriber.last_error and subscriber.connected
