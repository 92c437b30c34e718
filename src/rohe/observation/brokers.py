"""Transports over MQTT (aiomqtt), AMQP (aio-pika), core NATS and NATS JetStream (nats-py).

Publishers raise on any failure so the probe's buffer keeps the batch and resends it; subscribers reconnect with
backoff after a broker restart instead of ending. Delivery is at least once: consumers de-duplicate by report_id.

The durable subscribers (MQTT with a persistent session, AMQP, JetStream) defer their acks to the consumer
(`Transport.defers_acks`), so a message is acknowledged only once its reports are safe; see docs/faults.md for
which transport survives which crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import aio_pika
import aiomqtt
import nats
from aio_pika.abc import AbstractChannel, AbstractQueue, AbstractRobustConnection
from nats.aio.client import Client as NatsClient
from nats.aio.subscription import Subscription
from nats.js import api as js_api
from nats.js.errors import NotFoundError

from rohe.observation.reports import Report, encode_batch
from rohe.observation.transports import Backoff, Transport, channel_name, name_token

log = logging.getLogger(__name__)

# A subscriber that lost its broker retries at most this far apart: the broker may come back without the
# subscription (MQTT without persistence), and until the subscriber is back, what probes send goes to nobody.
RECONNECT_MAX_S = 1.0


class MqttTransport(Transport):
    """QoS 1 on topic rohe/obs/<app>/<run>; publisher and subscriber use separate client sessions.

    With `session` set, the subscriber keeps a persistent session (fixed client id, clean_session off): the
    broker queues QoS 1 messages while it is away, and across a broker restart when the broker persists.
    """

    def __init__(self, app: str, run: str, host: str = "127.0.0.1", port: int = 1883, *, channel: str | None = None,
                 session: str | None = None, username: str | None = None, password: str | None = None,
                 publish_timeout: float = 5.0) -> None:
        super().__init__()
        self.topic = channel or channel_name(app, run, "/")
        self._host, self._port = host, port
        self._username, self._password = username, password
        # A digest of the topic: injective in practice, and short enough for brokers holding to MQTT 3.1.1's
        # 23-character client id limit.
        digest = hashlib.sha256(self.topic.encode()).hexdigest()[:12]
        self.session_id = f"{session}-{digest}" if session else None
        self.can_defer_acks = session is not None  # only a persistent session keeps unacknowledged messages
        self._publish_timeout = publish_timeout
        self._pub: aiomqtt.Client | None = None
        self._sub: aiomqtt.Client | None = None
        self._closed = False
        self.reconnects = 0
        # Reconnects on which the broker no longer had our persistent session (CONNACK session-present 0): what
        # was published between its restart and our new SUBSCRIBE went to nobody. A broker that cannot write its
        # persistence file (it only logs the error) looks exactly like this.
        self.sessions_lost = 0
        self._session_present = False
        self._subscribed = False

    @classmethod
    def from_url(cls, app: str, run: str, url: str, **options: Any) -> MqttTransport:
        parts = urlsplit(url)
        return cls(app, run, parts.hostname or "127.0.0.1", parts.port or 1883,
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None, **options)

    async def _client(self, identifier: str | None = None) -> aiomqtt.Client:
        client = aiomqtt.Client(self._host, self._port, identifier=identifier or f"rohe-{uuid.uuid4().hex[:12]}",
                                clean_session=identifier is None, max_queued_outgoing_messages=0,
                                username=self._username, password=self._password)
        if identifier is not None and self.defers_acks:
            # aiomqtt has no manual-ack switch of its own; paho's (under it) withholds PUBACK until `ack`.
            client._client.manual_ack_set(True)
        if identifier is not None:
            _watch_session(client, self)
        await client.__aenter__()
        return client

    async def publish(self, batch: list[Report]) -> None:
        if self._pub is None:
            self._pub = await self._client()
        try:
            await self._pub.publish(self.topic, encode_batch(batch), qos=1, timeout=self._publish_timeout)
        except aiomqtt.MqttError:
            # Drop the broken session so the next attempt reconnects instead of failing forever.
            pub, self._pub = self._pub, None
            await _quietly_exit(pub)
            raise

    async def subscribe(self) -> AsyncGenerator[list[Report], None]:
        await self._connect_subscriber()
        return self._iterate()

    async def _connect_subscriber(self) -> aiomqtt.Client:
        try:
            client = await self._client(self.session_id)
        except aiomqtt.MqttError as exc:
            self.last_error = f"cannot connect to {self._host}:{self._port}: {exc}"[:300]
            raise
        try:
            await client.subscribe(self.topic, qos=1)
        except aiomqtt.MqttError as exc:
            self.last_error = f"cannot subscribe to {self.topic}: {exc}"[:300]
            await _quietly_exit(client)
            raise
        self._sub = client
        self._mark_connected()
        if self.session_id is not None and self._subscribed and not self._session_present:
            self.sessions_lost += 1
            self.last_error = (f"broker {self._host}:{self._port} lost the persistent session {self.session_id}: "
                               "reports published before the re-subscription are lost; check that its "
                               "persistence file is writable")[:300]
            log.warning("MQTT subscriber: %s", self.last_error)
        self._subscribed = True
        return client

    async def _iterate(self) -> AsyncGenerator[list[Report], None]:
        backoff = Backoff(maximum=RECONNECT_MAX_S)
        while not self._closed:
            client = self._sub if self._sub is not None else await self._connect_subscriber()
            try:
                async for message in client.messages:
                    if self.defers_acks:
                        self.unacked.append(_mqtt_ack(client, message.mid, message.qos))
                    payload = message.payload
                    batch = self.decode(payload if isinstance(payload, bytes | str) else b"")
                    if batch:
                        yield batch
                    backoff.reset()
            except aiomqtt.MqttError as exc:
                if self._closed:
                    return
                log.warning("MQTT subscriber lost %s (%s); reconnecting", self.topic, exc)
                self.last_error = f"connection lost: {exc}"[:300]
            self._sub = None
            self._connected = False
            await _quietly_exit(client)
            self.reconnects += 1
            while self._sub is None and not self._closed:
                await asyncio.sleep(backoff.next())
                try:
                    await self._connect_subscriber()
                except Exception as exc:  # aiomqtt raises more than MqttError on a refused or half-open socket
                    self.last_error = f"reconnecting: {exc!r}"[:300]

    async def forget_session(self) -> None:
        """Remove the broker's persistent session for this subscriber (queued messages are dropped)."""
        if self.session_id is not None:
            client = aiomqtt.Client(self._host, self._port, identifier=self.session_id, clean_session=True,
                                    username=self._username, password=self._password)
            await client.__aenter__()
            await _quietly_exit(client)

    async def close(self) -> None:
        self._closed = True
        for client in (self._pub, self._sub):
            if client is not None:
                await _quietly_exit(client)
        self._pub = self._sub = None


def _watch_session(client: aiomqtt.Client, transport: MqttTransport) -> None:
    # aiomqtt does not pass on CONNACK's session-present flag; paho's connect callback under it sees it first.
    def on_connect(paho: Any, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        transport._session_present = bool(flags.session_present)
        client._on_connect(paho, userdata, flags, reason, properties)

    client._client.on_connect = on_connect


def _mqtt_ack(client: aiomqtt.Client, mid: int, qos: int) -> Callable[[], Awaitable[None]]:
    async def ack() -> None:
        # On a client that has since disconnected this sends nothing; the session redelivers the message.
        client._client.ack(mid, qos)

    return ack


async def _quietly_exit(client: aiomqtt.Client) -> None:
    # Already disconnected means there is nothing left to release.
    with contextlib.suppress(aiomqtt.MqttError):
        await client.__aexit__(None, None, None)
    # aiomqtt leaves the disconnect reason in a private future; reading it here stops asyncio from logging
    # "Future exception was never retrieved" for a disconnect we have already handled.
    disconnected = getattr(client, "_disconnected", None)
    if isinstance(disconnected, asyncio.Future) and disconnected.done() and not disconnected.cancelled():
        disconnected.exception()


class AmqpTransport(Transport):
    """A durable queue rohe.obs.<app>.<run>, persistent messages, and publisher confirms.

    The robust connection reconnects by itself and restores the consumer; a publish during an outage times out
    and raises, so the buffer keeps the batch.
    """

    def __init__(self, app: str, run: str, url: str = "amqp://guest:guest@127.0.0.1:5672/", prefetch: int = 256,
                 *, channel: str | None = None, publish_timeout: float = 5.0) -> None:
        super().__init__()
        self.queue_name = channel or channel_name(app, run, ".")
        self._url, self._prefetch, self._publish_timeout = url, prefetch, publish_timeout
        self._conn: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self.can_defer_acks = True
        self.ack_batch = max(1, prefetch // 2)  # RabbitMQ stops delivering at `prefetch` unacknowledged

    @property
    def connected(self) -> bool:
        # The robust connection clears its `connected` event while it is down and sets it once reconnected.
        return self._connected and self._conn is not None and self._conn.connected.is_set()

    async def _open(self) -> tuple[AbstractChannel, AbstractQueue]:
        if self._channel is None or self._queue is None:
            async with asyncio.timeout(self._publish_timeout):
                if self._conn is None:
                    self._conn = await aio_pika.connect_robust(self._url)
                    self._conn.reconnect_callbacks.add(lambda *_: self._mark_connected())
                channel = await self._conn.channel(publisher_confirms=True)
                await channel.set_qos(prefetch_count=self._prefetch)
                self._queue = await channel.declare_queue(self.queue_name, durable=True)
                self._channel = channel
        return self._channel, self._queue

    async def publish(self, batch: list[Report]) -> None:
        try:
            channel, _ = await self._open()
            message = aio_pika.Message(encode_batch(batch), delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                       content_type="application/json")
            # With confirms on, this returns only once the broker has taken responsibility for the message.
            async with asyncio.timeout(self._publish_timeout):
                await channel.default_exchange.publish(message, routing_key=self.queue_name)
        except Exception:
            if self._conn is None:  # never connected: start over next time
                self._channel = self._queue = None
            raise

    async def subscribe(self) -> AsyncGenerator[list[Report], None]:
        try:
            _, queue = await self._open()
        except Exception as exc:
            self.last_error = f"cannot open {self.queue_name}: {exc!r}"[:300]
            raise
        self._mark_connected()
        return self._iterate(queue)

    async def _iterate(self, queue: AbstractQueue) -> AsyncGenerator[list[Report], None]:
        async with queue.iterator() as messages:
            async for message in messages:
                # Acknowledged by the consumer once the reports are safe; on a channel that has been replaced
                # since, the ack fails and RabbitMQ (which requeued the message when the old channel closed)
                # delivers it again.
                if self.defers_acks:
                    self.unacked.append(message.ack)
                else:
                    with contextlib.suppress(aio_pika.exceptions.AMQPError, RuntimeError):
                        await message.ack()
                batch = self.decode(message.body)
                if batch:
                    yield batch

    async def delete_queue(self) -> None:
        """Remove the durable queue (tests and benchmarks use throwaway names)."""
        if self._queue is not None:
            await self._queue.delete(if_unused=False, if_empty=False)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
        self._conn = self._channel = self._queue = None


class NatsTransport(Transport):
    """Core NATS on subject rohe.obs.<app>.<run> (at-most-once; the buffer's resend covers publish failures)."""

    def __init__(self, app: str, run: str, servers: str = "nats://127.0.0.1:4222", *,
                 channel: str | None = None) -> None:
        super().__init__()
        self.subject = channel or channel_name(app, run, ".")
        self._servers = servers
        self._nc: NatsClient | None = None
        self._sub: Subscription | None = None
        self._closed = False

    @property
    def connected(self) -> bool:
        return self._connected and self._nc is not None and self._nc.is_connected

    async def _connect(self) -> NatsClient:
        if self._nc is None:
            options: dict[str, Any] = {"servers": [self._servers], "allow_reconnect": True,
                                       "max_reconnect_attempts": -1, "reconnect_time_wait": 0.5,
                                       "pending_size": 64 * 1024 * 1024,
                                       "reconnected_cb": self._on_reconnect}
            self._nc = await nats.connect(**options)
        return self._nc

    async def _on_reconnect(self) -> None:
        if self._connected:
            self._mark_connected()

    async def publish(self, batch: list[Report]) -> None:
        nc = await self._connect()
        await nc.publish(self.subject, encode_batch(batch))

    async def subscribe(self) -> AsyncGenerator[list[Report], None]:
        try:
            nc = await self._connect()
            self._sub = await nc.subscribe(self.subject, pending_msgs_limit=1_000_000,
                                           pending_bytes_limit=1024 * 1024 * 1024)
            await nc.flush()  # the server knows the subscription once the flush returns
        except Exception as exc:
            self.last_error = f"cannot subscribe to {self.subject}: {exc!r}"[:300]
            raise
        self._mark_connected()
        return self._iterate(self._sub)

    async def _iterate(self, sub: Subscription) -> AsyncGenerator[list[Report], None]:
        async for message in sub.messages:
            batch = self.decode(message.data)
            if batch:
                yield batch

    async def flush(self) -> None:
        if self._nc is not None:
            await self._nc.flush()

    async def close(self) -> None:
        self._closed = True
        if self._nc is not None:
            await self._nc.drain() if self._sub is not None else await self._nc.close()
        self._nc, self._sub = None, None


class JetStreamTransport(NatsTransport):
    """NATS JetStream: a file-backed stream per app (subjects rohe.obs.<app>.>), acknowledged publishes, and a
    durable pull consumer per run with explicit acks, so a subscriber that was down gets what it missed.

    Each batch carries a Nats-Msg-Id derived from its report ids: a resent identical batch is dropped by the
    server's duplicate window; anything else redelivered is left to the consumer's de-duplication.
    """

    def __init__(self, app: str, run: str, servers: str = "nats://127.0.0.1:4222", *, channel: str | None = None,
                 durable: str = "rohe-agent", max_age_s: float = 7 * 86400, ack_wait_s: float = 10.0,
                 publish_timeout: float = 5.0, fetch_batch: int = 64) -> None:
        super().__init__(app, run, servers, channel=channel)
        self.stream = f"ROHE_OBS_{name_token(app)}"
        self._stream_subject = f"rohe.obs.{name_token(app)}.>" if channel is None else self.subject
        self.durable = f"{name_token(durable)}-{name_token(run)}"
        self._max_age, self._ack_wait = max_age_s, ack_wait_s
        self.redelivery_delay_s = ack_wait_s
        self._publish_timeout, self._fetch_batch = publish_timeout, fetch_batch
        self._stream_ready = False
        self.can_defer_acks = True
        self.ack_batch = 256  # the consumer's max_ack_pending is 1000 messages

    async def _ensure_stream(self) -> None:
        if self._stream_ready:
            return
        js = (await self._connect()).jetstream(timeout=self._publish_timeout)
        try:
            info = await js.stream_info(self.stream)
            subjects = list(info.config.subjects or [])
            if not any(_subject_covers(pattern, self.subject) for pattern in subjects):
                await js.update_stream(info.config.evolve(subjects=[*subjects, self._stream_subject]))
        except NotFoundError:
            await js.add_stream(name=self.stream, subjects=[self._stream_subject], max_age=self._max_age,
                                storage=js_api.StorageType.FILE)
        self._stream_ready = True

    async def publish(self, batch: list[Report]) -> None:
        await self._ensure_stream()
        js = (await self._connect()).jetstream()
        digest = hashlib.sha256(b"".join(r.report_id.bytes for r in batch)).hexdigest()
        await js.publish(self.subject, encode_batch(batch), timeout=self._publish_timeout, stream=self.stream,
                         headers={"Nats-Msg-Id": digest})

    async def subscribe(self) -> AsyncGenerator[list[Report], None]:
        try:
            await self._ensure_stream()
            js = (await self._connect()).jetstream(timeout=self._publish_timeout)
            config = js_api.ConsumerConfig(ack_policy=js_api.AckPolicy.EXPLICIT, ack_wait=self._ack_wait,
                                           filter_subject=self.subject)
            pull = await js.pull_subscribe(self.subject, durable=self.durable, stream=self.stream, config=config)
        except Exception as exc:
            self.last_error = f"cannot subscribe to {self.subject}: {exc!r}"[:300]
            raise
        self._mark_connected()
        return self._fetch(pull)

    async def _fetch(self, pull: Any) -> AsyncGenerator[list[Report], None]:
        backoff = Backoff(maximum=RECONNECT_MAX_S)
        while True:
            try:
                messages = await pull.fetch(self._fetch_batch, timeout=1.0)
            except TimeoutError:
                continue  # nothing new; nats' TimeoutError is an asyncio.TimeoutError too
            except nats.errors.Error as exc:  # server restarting: the client reconnects on its own
                if self._closed:
                    return
                log.warning("JetStream fetch on %s failed (%s); retrying", self.subject, exc)
                self.last_error = f"fetch failed: {exc!r}"[:300]
                await asyncio.sleep(backoff.next())
                continue
            backoff.reset()
            for message in messages:
                # Acknowledged by the consumer once the reports are safe; unacknowledged ones come again after
                # `ack_wait`, and the consumer's de-duplication absorbs them.
                if self.defers_acks:
                    self.unacked.append(message.ack)
                else:  # a lost ack means a redelivery later, which the consumer's de-duplication absorbs
                    with contextlib.suppress(nats.errors.Error):
                        await message.ack()
                batch = self.decode(message.data)
                if batch:
                    yield batch

    async def delete_stream(self) -> None:
        """Remove the app's stream with every run in it (tests use throwaway app names)."""
        js = (await self._connect()).jetstream()
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(self.stream)
        self._stream_ready = False


def _subject_covers(pattern: str, subject: str) -> bool:
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)
