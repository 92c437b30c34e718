"""Each transport delivers exactly the published reports; broker tests use the real local brokers."""

from __future__ import annotations

import asyncio

import pytest

from observation.helpers import make_reports, round_trip, unique
from rohe.core.errors import InvalidInput
from rohe.observation.brokers import AmqpTransport, MqttTransport, NatsTransport
from rohe.observation.reports import encode_batch
from rohe.observation.transports import InProcessTransport, Transport, channel_name

N = 500


def _check(transport: Transport, batch: int) -> None:
    reports = make_reports(N)

    async def scenario() -> list[object]:
        try:
            return list(await round_trip(transport, reports, batch, timeout=15))
        finally:
            if isinstance(transport, AmqpTransport):
                await transport.delete_queue()
            await transport.close()

    received = asyncio.run(scenario())
    assert sorted(map(str, received)) == sorted(str(r.report_id) for r in reports)
    assert transport.stats.errors == 0


def test_in_process_delivers_exactly_n() -> None:
    _check(InProcessTransport(), batch=50)


def test_mqtt_delivers_exactly_n() -> None:
    _check(MqttTransport(unique("app"), unique("run")), batch=50)


def test_amqp_delivers_exactly_n() -> None:
    _check(AmqpTransport(unique("app"), unique("run")), batch=50)


def test_nats_delivers_exactly_n() -> None:
    _check(NatsTransport(unique("app"), unique("run")), batch=50)


def test_malformed_message_does_not_stop_the_consumer() -> None:
    transport = InProcessTransport()
    reports = make_reports(3)

    async def scenario() -> list[int]:
        stream = await transport.subscribe()
        await transport.publish_raw(b"garbage")
        await transport.publish(reports)
        async with asyncio.timeout(5):
            return [len(await anext(stream))]

    assert asyncio.run(scenario()) == [3]
    assert transport.stats.errors == 1 and transport.stats.reports == 3


def test_channel_names_are_sanitised_and_validated() -> None:
    assert channel_name("my app", "r/1.#", "/") == "rohe/obs/my_app/r_1__"
    with pytest.raises(InvalidInput, match="channel"):
        channel_name("", "r", ".")
    assert encode_batch([]) == b"[]"
