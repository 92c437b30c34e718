"""The MQTT transport (aiomqtt): QoS 1, persistent sessions for durable subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomqtt

from rohe.observation.brokers.backoff import RECONNECT_MAX_S
from rohe.observation.reports import Report, encode_batch
from rohe.observation.transports import Backoff, Transport, channel_name

log = logging.getLogger(__name__)


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
