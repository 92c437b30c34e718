"""Core NATS and NATS JetStream transports (nats-py)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncGenerator
from typing import Any

import nats
from nats.aio.client import Client as NatsClient
from nats.aio.subscription import Subscription
from nats.js import api as js_api
from nats.js.errors import NotFoundError

from rohe.observation.brokers.backoff import RECONNECT_MAX_S
from rohe.observation.reports import Report, encode_batch
from rohe.observation.transports import Backoff, Transport, channel_name, name_token

log = logging.getLogger(__name__)


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
