"""A dispatch gate: at most `capacity` requests fan out at once; when the gate is full, the waiting request
whose plan has the highest priority goes next (arrival order on a tie).

This is where a scheduler's plan priority matters: `dream` raises it with urgency and with the age of the
consumer's oldest waiting request, so an urgent request overtakes, and a consumer that keeps waiting
eventually overtakes the urgent ones. Without a capacity the gate admits everything at once.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools

from rohe.core.errors import InvalidInput, Problem


class PriorityGate:
    def __init__(self, capacity: int | None = None) -> None:
        if capacity is not None and capacity < 1:
            raise InvalidInput(
                "dispatch capacity too small", [Problem("max_in_flight", f"got {capacity}", "use >= 1, or none")]
            )
        self.capacity = capacity
        self.in_use = 0
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    @property
    def queued(self) -> int:
        return sum(1 for _, _, f in self._waiting if not f.done())

    async def acquire(self, priority: float, timeout_s: float) -> bool:
        """Wait for a slot for at most `timeout_s`; False when none came in time (nothing is then held)."""
        if self.capacity is None or (self.in_use < self.capacity and not self.queued):
            self.in_use += 1
            return True
        if timeout_s <= 0:
            return False
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (-priority, next(self._arrivals), future))
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            if future.done() and not future.cancelled():  # granted in the instant the wait timed out
                return True
            future.cancel()
            return False
        except BaseException:
            # The caller went away (e.g. the client disconnected): pass on a slot it was just given.
            if future.done() and not future.cancelled():
                self.release()
            else:
                future.cancel()
            raise
        return True

    def release(self) -> None:
        """Give the slot to the highest-priority waiter still waiting, or free it."""
        while self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)  # the slot passes on: in_use stays the same
                return
        self.in_use -= 1
