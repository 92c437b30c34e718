"""The AMQP transport (aio-pika): a durable queue per subscriber, acks deferred to the consumer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractQueue, AbstractRobustConnection

from rohe.observation.reports import Report, encode_batch
from rohe.observation.transports import Transport, channel_name

log = logging.getLogger(__name__)


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
