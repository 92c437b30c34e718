"""The transport interface and the embedded in-process transport; broker transports live beside it."""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from urllib.parse import quote, urlsplit, urlunsplit

from rohe.core.errors import InvalidInput, Problem
from rohe.observation.reports import DecodeStats, Report, decode_batch

# An in-process message: reports as objects, or raw bytes injected as if from the wire.
_Message = tuple[Report, ...] | bytes
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_KEPT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")


def name_token(name: str) -> str:
    """`name` as a token safe in every broker's names: letters, digits and '-' stay, every other UTF-8 byte
    (including '_') becomes '_' plus two hex digits. Reversible, so distinct names never share a topic, queue,
    stream or session: `shop.v1`, `shop_v1` and `shop v1` become `shop_2ev1`, `shop_5fv1` and `shop_20v1`."""
    return "".join(chr(b) if b in _KEPT else f"_{b:02x}" for b in name.encode("utf-8"))


def channel_name(app: str, run: str, separator: str) -> str:
    """Topic/queue/subject for one app run. The tokens never hold '.', '/' or wildcards, so with either
    separator the name is injective in (app, run) and no wildcard leaks in."""
    problems = [Problem(field, "must not be empty", "pass the app and run name") for field, v in
                (("app", app), ("run", run)) if not v]
    if problems:
        raise InvalidInput("cannot derive a channel name", problems)
    return separator.join(["rohe", "obs", name_token(app), name_token(run)])


Ack = Callable[[], Awaitable[None]]


class Transport(ABC):
    """Carries batches of reports for one app run. `subscribe` is awaited before publishing starts.

    Acknowledgements: by default a received message is acknowledged on arrival. A consumer that can keep reports
    safe sets `defers_acks` before subscribing (honoured where `can_defer_acks`): the transport then appends each
    message's ack to `unacked`, in arrival order and before yielding its reports, and the consumer calls
    `acknowledge(n)` once the first n are safe (stored or checkpointed). A consumer crash leaves them
    unacknowledged, and a durable broker delivers them again.
    """

    def __init__(self) -> None:
        self.stats = DecodeStats()
        self.can_defer_acks = False
        self.defers_acks = False
        # How many unacknowledged messages a consumer may let wait before it must checkpoint: below the broker's
        # own limit (Mosquitto sends at most 20 unacknowledged QoS 1 messages per client, then waits).
        self.ack_batch = 10
        self.unacked: deque[Ack] = deque()
        self.last_error = ""  # why the subscriber last failed to connect, for status answers
        self._connected = False
        self.connected_since = time.monotonic()  # when the subscriber last (re)connected
        # How long after a (re)subscribe the broker may still hand over messages a previous subscriber left
        # unacknowledged: 0 where it redelivers at once (MQTT sessions, AMQP queues), ack_wait for JetStream.
        self.redelivery_delay_s = 0.0

    @property
    def connected(self) -> bool:
        """Whether the subscriber is connected now; False before `subscribe` and during an outage."""
        return self._connected

    def _mark_connected(self) -> None:
        self._connected, self.last_error = True, ""
        self.connected_since = time.monotonic()

    async def acknowledge(self, count: int) -> None:
        """Acknowledge the oldest `count` messages in `unacked`. An ack that fails (the connection it came on is
        gone) is dropped: the broker redelivers that message, and consumers de-duplicate by report id."""
        for _ in range(min(count, len(self.unacked))):
            ack = self.unacked.popleft()
            try:
                await ack()
            except Exception as exc:  # see above: a lost ack only means a redelivery
                self.last_error = f"ack failed: {exc}"[:300]

    def decode(self, payload: bytes | str) -> list[Report]:
        """Turn one received message into reports; an agent may replace this per instance with a user parser."""
        return decode_batch(payload, self.stats)

    @abstractmethod
    async def publish(self, batch: list[Report]) -> None:
        """Send one batch; raise on failure so the sender can keep and retry it."""

    @abstractmethod
    async def subscribe(self) -> AsyncGenerator[list[Report], None]:
        """Start receiving; the generator (aclose it when done) yields decoded batches.

        Malformed messages are counted in `stats` and skipped, never raised.
        """

    @abstractmethod
    async def close(self) -> None:
        """Release connections; safe to call twice."""


class InProcessTransport(Transport):
    """The embedded default: batches handed between event loops of one process.

    Reports are immutable, so a published batch is handed over as objects, never encoded: JSON round trips
    would cost more than everything else an agent does. Raw bytes (`publish_raw`) are decoded on arrival.

    Publishers and subscribers may live on different threads, each with its own event loop (a probe's sender
    thread and an agent's thread), so delivery goes through `call_soon_threadsafe`. Every subscriber gets every
    batch. Batches published while nobody subscribes wait in a backlog (bounded by `maxsize`, 0 = unbounded)
    and go to the first subscriber, so a probe that starts before the agent loses nothing.
    """

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__()
        self._maxsize = maxsize
        self._lock = threading.Lock()
        self._backlog: deque[_Message] = deque()
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[_Message]]] = []

    async def publish(self, batch: list[Report]) -> None:
        self._deliver(tuple(batch))

    async def publish_raw(self, payload: bytes) -> None:
        """Inject bytes as if from the wire (used to exercise malformed-message handling)."""
        self._deliver(payload)

    def _deliver(self, payload: _Message) -> None:
        with self._lock:
            subscribers = [(loop, queue) for loop, queue in self._subscribers if not loop.is_closed()]
            self._subscribers = subscribers
            if not subscribers:
                if self._maxsize and len(self._backlog) >= self._maxsize:
                    # Raising makes the sender keep the batch and retry, exactly as for an unreachable broker.
                    raise ConnectionError(f"in-process channel full ({self._maxsize} batches) and no subscriber")
                self._backlog.append(payload)
                return
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        for loop, queue in subscribers:
            if loop is here:
                queue.put_nowait(payload)  # same loop: no need to pay for a cross-thread wake-up
            else:
                loop.call_soon_threadsafe(queue.put_nowait, payload)

    async def subscribe(self) -> AsyncGenerator[list[Report], None]:
        queue: asyncio.Queue[_Message] = asyncio.Queue()
        with self._lock:
            while self._backlog:
                queue.put_nowait(self._backlog.popleft())
            entry = (asyncio.get_running_loop(), queue)
            self._subscribers.append(entry)
        self._mark_connected()
        return self._iterate(entry)

    async def _iterate(self, entry: tuple[asyncio.AbstractEventLoop, asyncio.Queue[_Message]]
                       ) -> AsyncGenerator[list[Report], None]:
        try:
            while True:
                message = await entry[1].get()
                if isinstance(message, tuple):
                    self.stats.messages += 1
                    self.stats.reports += len(message)
                    batch = list(message)
                else:
                    batch = self.decode(message)
                if batch:
                    yield batch
        finally:
            with self._lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

    async def close(self) -> None:
        return None  # nothing external to release


SHARED_BACKLOG_BATCHES = 10_000
_shared: dict[str, InProcessTransport] = {}
_shared_lock = threading.Lock()


def shared_in_process(channel: str) -> InProcessTransport:
    """The process-wide in-process transport for `channel`: probes and an agent in one process meet here."""
    with _shared_lock:
        # Bounded, so reports for an agent that never starts end up in the probe's spill file, not in memory.
        return _shared.setdefault(channel, InProcessTransport(maxsize=SHARED_BACKLOG_BATCHES))


class Backoff:
    """Exponential delays between reconnect or resend attempts, reset after a success."""

    def __init__(self, initial: float = 0.2, maximum: float = 5.0, factor: float = 2.0) -> None:
        self._initial, self._maximum, self._factor = initial, max(initial, maximum), factor
        self._next = initial

    def next(self) -> float:
        delay, self._next = self._next, min(self._next * self._factor, self._maximum)
        return delay

    def reset(self) -> None:
        self._next = self._initial


TRANSPORT_KINDS = ("inproc", "mqtt", "amqp", "nats", "nats-jetstream")
_DEFAULT_URLS = {"mqtt": "mqtt://127.0.0.1:1883", "amqp": "amqp://guest:guest@127.0.0.1:5672/",
                 "nats": "nats://127.0.0.1:4222", "nats-jetstream": "nats://127.0.0.1:4222"}


def make_transport(kind: str, app: str, run: str, *, url: str | None = None, channel: str | None = None,
                   credentials_env: str | None = None, subscriber: str = "rohe-agent") -> Transport:
    """The transport a probe or an agent configuration names.

    `credentials_env` names an environment variable (never the secret itself) holding either a whole broker URL
    or `user:password` to put into `url`. `subscriber` names the durable subscription (MQTT persistent session,
    JetStream durable consumer) so a subscriber that was down receives what it missed.
    """
    if kind not in TRANSPORT_KINDS:
        raise InvalidInput("unknown transport", [Problem("transport", f"'{kind}' is not a transport kind",
                                                         f"use one of {', '.join(TRANSPORT_KINDS)}")])
    if kind == "inproc":
        return shared_in_process(channel or channel_name(app, run, "."))
    from rohe.observation import brokers  # brokers imports this module; importing here avoids the cycle

    address = url_with_credentials(url or _DEFAULT_URLS[kind], credentials_env)
    if kind == "mqtt":
        return brokers.MqttTransport.from_url(app, run, address, channel=channel, session=subscriber)
    if kind == "amqp":
        return brokers.AmqpTransport(app, run, address, channel=channel)
    if kind == "nats":
        return brokers.NatsTransport(app, run, address, channel=channel)
    return brokers.JetStreamTransport(app, run, address, channel=channel, durable=subscriber)


def url_with_credentials(url: str, credentials_env: str | None) -> str:
    """`url` with the broker secret the variable `credentials_env` holds: `user:password` (URL-quoted into the
    address) or a whole broker URL (used instead). Only the variable's name is ever stored."""
    if not credentials_env:
        return url
    secret = os.environ.get(credentials_env)
    if not secret:
        raise InvalidInput("broker credentials missing", [Problem(
            "credentials_env", f"environment variable {credentials_env} is not set",
            "export it as 'user:password' or as the whole broker URL")])
    if "://" in secret:
        return secret
    if ":" not in secret:
        raise InvalidInput("broker credentials malformed", [Problem(
            "credentials_env", f"{credentials_env} must hold 'user:password' or a broker URL", "fix its value")])
    user, _, password = secret.partition(":")
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"))
