"""Each transport delivers exactly the published reports; broker tests use the real local brokers."""

from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from observation.helpers import make_reports, round_trip, unique
from rohe.core.errors import InvalidInput
from rohe.observation.brokers import AmqpTransport, JetStreamTransport, MqttTransport, NatsTransport
from rohe.observation.reports import encode_batch
from rohe.observation.transports import (
    Backoff,
    InProcessTransport,
    Transport,
    channel_name,
    make_transport,
    name_token,
)

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
    assert channel_name("my app", "r/1.#", "/") == "rohe/obs/my_20app/r_2f1_2e_23"
    with pytest.raises(InvalidInput, match="channel"):
        channel_name("", "r", ".")
    assert encode_batch([]) == b"[]"


def test_names_that_used_to_collide_get_their_own_channel() -> None:
    names = {channel_name(app, "v1", "/") for app in ("shop.v1", "shop_v1", "shop v1")}
    assert len(names) == 3
    sessions = {MqttTransport(app, "r", session="agent").session_id for app in ("shop.v1", "shop_v1", "shop v1")}
    assert len(sessions) == 3


@given(st.tuples(st.text(min_size=1), st.text(min_size=1)), st.tuples(st.text(min_size=1), st.text(min_size=1)),
       st.sampled_from(["/", "."]))
def test_channel_names_are_injective_and_wildcard_free(a: tuple[str, str], b: tuple[str, str], sep: str) -> None:
    first, second = channel_name(*a, sep), channel_name(*b, sep)
    assert (first == second) == (a == b)
    assert not set(name_token(a[0])) & set("./#+*> ")


def test_jetstream_delivers_exactly_n() -> None:
    transport = JetStreamTransport(unique("app"), unique("run"))

    async def scenario() -> list[object]:
        try:
            return list(await round_trip(transport, make_reports(N), 50, timeout=15))
        finally:
            await transport.delete_stream()
            await transport.close()

    assert len(set(asyncio.run(scenario()))) == N


def test_in_process_crosses_threads_and_event_loops() -> None:
    transport = InProcessTransport()
    reports = make_reports(100)
    received: list[object] = []

    async def consume(ready: threading.Event) -> None:
        stream = await transport.subscribe()
        ready.set()
        async with asyncio.timeout(5):
            while len(received) < len(reports):
                received.extend(r.report_id for r in await anext(stream))
        await stream.aclose()

    ready = threading.Event()
    consumer = threading.Thread(target=lambda: asyncio.run(consume(ready)))
    consumer.start()
    ready.wait(5)
    for start in range(0, 100, 10):
        asyncio.run(transport.publish(reports[start : start + 10]))  # a different loop on another thread
    consumer.join(10)
    assert received == [r.report_id for r in reports]


def test_in_process_backlog_waits_for_the_first_subscriber_and_is_bounded() -> None:
    transport = InProcessTransport(maxsize=2)
    reports = make_reports(3)

    async def scenario() -> int:
        await transport.publish(reports[:1])
        await transport.publish(reports[1:2])
        with pytest.raises(ConnectionError, match="full"):
            await transport.publish(reports[2:])
        stream = await transport.subscribe()
        got = [*(await anext(stream)), *(await anext(stream))]
        await stream.aclose()
        return len(got)

    assert asyncio.run(scenario()) == 2


def test_backoff_grows_to_its_cap_and_resets() -> None:
    backoff = Backoff(0.1, 0.5)
    assert [backoff.next() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    backoff.reset()
    assert backoff.next() == 0.1


def test_unknown_transport_kind_is_a_clear_error() -> None:
    with pytest.raises(InvalidInput) as caught:
        make_transport("kafka", "a", "r")
    assert caught.value.problems[0].location == "transport" and "nats-jetstream" in caught.value.problems[0].hint


def test_mqtt_persistent_session_gets_what_was_published_while_away() -> None:
    app, run = unique("app"), unique("run")
    reports = make_reports(120)

    async def scenario() -> int:
        first = MqttTransport(app, run, session="rohe-test")
        stream = await first.subscribe()  # the broker now keeps a session for this client id
        await stream.aclose()
        await first.close()  # subscriber down
        publisher = MqttTransport(app, run)
        for start in range(0, len(reports), 20):
            await publisher.publish(reports[start : start + 20])
        await publisher.close()
        again = MqttTransport(app, run, session="rohe-test")
        stream = await again.subscribe()
        got: set[object] = set()
        try:
            async with asyncio.timeout(10):
                while len(got) < len(reports):
                    got.update(r.report_id for r in await anext(stream))
        finally:
            await stream.aclose()
            await again.close()
            await again.forget_session()
        return len(got)

    assert asyncio.run(scenario()) == 120
