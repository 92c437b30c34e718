"""The transport interface and the embedded in-process transport; broker transports live beside it."""

from __future__ import annotations

import asyncio
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator

from rohe.core.errors import InvalidInput, Problem
from rohe.observation.reports import DecodeStats, Report, decode_batch, encode_batch

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def channel_name(app: str, run: str, separator: str) -> str:
    """Topic/queue/subject for one app run; unsafe characters become '_' so wildcards never leak in."""
    problems = [Problem(field, "must not be empty", "pass the app and run name") for field, v in
                (("app", app), ("run", run)) if not v]
    if problems:
        raise InvalidInput("cannot derive a channel name", problems)
    return separator.join(["rohe", "obs", _UNSAFE.sub("_", app), _UNSAFE.sub("_", run)])


class Transport(ABC):
    """Carries batches of reports for one app run. `subscribe` is awaited before publishing starts."""

    def __init__(self) -> None:
        self.stats = DecodeStats()

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
    """The embedded default: an asyncio queue of encoded batches, so the decode path is the same as on a broker."""

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__()
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize)

    async def publish(self, batch: list[Report]) -> None:
        await self._queue.put(encode_batch(batch))

    async def publish_raw(self, payload: bytes) -> None:
        """Inject bytes as if from the wire (used to exercise malformed-message handling)."""
        await self._queue.put(payload)

    async def subscribe(self) -> AsyncGenerator[list[Report], None]:
        return self._iterate()

    async def _iterate(self) -> AsyncGenerator[list[Report], None]:
        while True:
            batch = decode_batch(await self._queue.get(), self.stats)
            if batch:
                yield batch

    async def close(self) -> None:
        return None  # nothing external to release
