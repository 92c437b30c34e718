"""Transports over MQTT (aiomqtt), AMQP (aio-pika) and core NATS (nats-py)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncGenerator
from typing import Any

import aio_pika
import aiomqtt
import nats
from aio_pika.abc import AbstractChannel, AbstractQueue, AbstractRobustConnection
from nats.aio.client import Client as NatsClient
from nats.aio.subscription import Subscription

from rohe.observation.reports import Report, decode_batch, encode_batch
from rohe.observation.transports import Transport, channel_name


class MqttTransport(Transport):
    """QoS 1 on topic rohe/obs/<app>/<run>; publisher and subscriber use separate client sessions."""

    def __init__(self, app: str, run: str, host: str = "127.0.0.1", port: int = 1883) -> None:
        super().__init__()
        self.topic = channel_name(app, run, "/")
        self._host, self._port = host, port
        self._pub: aiomqtt.Client | None = None
        self._sub: aiomqtt.Client | None = None

    async def _client(self) -> aiomqtt.Client:
        client = aiomqtt.Client(self._host, self._port, identifier=f"rohe-{uuid.uuid4().hex[:12]}",
                                max_queued_outgoing_messages=0)
        await client.__aenter__()
        return client

    async def publish(self, batch: list[Report]) -> None:
        if self._pub is None:
            self._pub = await self._client()
        try:
            await self._pub.publish(self.topic, encode_batch(batch), qos=1)
        except aiomqtt.MqttError:
            # Drop the broken session so the next attempt reconnects instead of failing forever.
            pub, self._pub = self._pub, None
            await _quietly_exit(pub)
            raise

    async def subscribe(self) -> AsyncGenerator[list[Report], None]:
        self._sub = await self._client()
        await self._sub.subscribe(self.topic, qos=1)
        return self._iterate(self._sub)

    async def _iterate(self, client: aiomqtt.Client) -> AsyncGenerator[list[Report], None]:
        async for message in client.messages:
            payload = message.payload
            batch = decode_batch(payload if isinstance(payload, bytes | str) else b"", self.stats)
            if batch:
                yield batch

    async def close(self) -> None:
        for client in (self._pub, self._sub):
            if client is not None:
                await _quietly_exit(client)
        self._pub = self._sub = None


async def _quietly_exit(client: aiomqtt.Client) -> None:
    # Already disconnected means there is nothing left to release.
    with contextlib.suppress(aiomqtt.MqttError):
        await client.__aexit__(None, None, None)


class AmqpTransport(Transport):
    """A durable queue rohe.obs.<app>.<run>, persistent messages, and publisher confirms."""

    def __init__(self, app: str, run: str, url: str = "amqp://guest:guest@127.0.0.1:5672/",
                 prefetch: int = 256) -> None:
        super().__init__()
        self.queue_name = channel_name(app, run, ".")
        self._url, self._prefetch = url, prefetch
        self._conn: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None

    async def _open(self) -> AbstractQueue:
        if self._queue is None:
            self._conn = await aio_pika.connect_robust(self._url)
            self._channel = await self._conn.channel(publisher_confirms=True)
            await self._channel.set_qos(prefetch_count=self._prefetch)
            self._queue = await self._channel.declare_queue(self.queue_name, durable=True)
        return self._queue

    async def publish(self, batch: list[Report]) -> None:
        await self._open()
        assert self._channel is not None
        message = aio_pika.Message(encode_batch(batch), delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                   content_type="application/json")
        # With confirms on, this returns only once the broker has taken responsibility for the message.
        await self._channel.default_exchange.publish(message, routing_key=self.queue_name)

    async def subscribe(self) -> AsyncGenerator[list[Report], None]:
        return self._iterate(await self._open())

    async def _iterate(self, queue: AbstractQueue) -> AsyncGenerator[list[Report], None]:
        async with queue.iterator() as messages:
            async for message in messages:
                async with message.process():
                    batch = decode_batch(message.body, self.stats)
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

    def __init__(self, app: str, run: str, servers: str = "nats://127.0.0.1:4222") -> None:
        super().__init__()
        self.subject = channel_name(app, run, ".")
        self._servers = servers
        self._nc: NatsClient | None = None
        self._sub: Subscription | None = None

    async def _connect(self) -> NatsClient:
        if self._nc is None:
            options: dict[str, Any] = {"servers": [self._servers], "allow_reconnect": True,
                                       "max_reconnect_attempts": -1, "pending_size": 64 * 1024 * 1024}
            self._nc = await nats.connect(**options)
        return self._nc

    async def publish(self, batch: list[Report]) -> None:
        nc = await self._connect()
        await nc.publish(self.subject, encode_batch(batch))

    async def subscribe(self) -> AsyncGenerator[list[Report], None]:
        nc = await self._connect()
        self._sub = await nc.subscribe(self.subject, pending_msgs_limit=1_000_000,
                                       pending_bytes_limit=1024 * 1024 * 1024)
        await nc.flush()  # the server knows the subscription once the flush returns
        return self._iterate(self._sub)

    async def _iterate(self, sub: Subscription) -> AsyncGenerator[list[Report], None]:
        async for message in sub.messages:
            batch = decode_batch(message.data, self.stats)
            if batch:
                yield batch

    async def flush(self) -> None:
        if self._nc is not None:
            await self._nc.flush()

    async def close(self) -> None:
        if self._nc is not None:
            await self._nc.drain() if self._sub is not None else await self._nc.close()
        self._nc, self._sub = None, None
