"""Per consumer x algorithm counters: how every request ended, and accuracy once feedback arrives.

Feedback is judged against the prediction the gateway remembered for the request id (bounded memory, see
FeedbackStore), so a label that arrives late still counts for the algorithm that served the request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from rohe.serving.gateway.schema import CounterRow, StatsResponse


@dataclass
class _Counter:
    requests: int = 0
    ok: int = 0
    partial: int = 0
    error: int = 0
    deadline_missed: int = 0
    latency_total_ms: float = 0.0
    labelled: int = 0
    correct: int = 0


class GatewayStats:
    def __init__(self) -> None:
        self._counters: dict[tuple[str, str], _Counter] = {}
        self._models: dict[str, list[int]] = {}  # model -> [labelled, correct]
        self._rejected = 0
        self._lock = threading.Lock()

    def _counter(self, consumer: str, algorithm: str) -> _Counter:
        return self._counters.setdefault((consumer, algorithm), _Counter())

    def served(self, consumer: str, algorithm: str, status: str, latency_ms: float, deadline_missed: bool) -> None:
        with self._lock:
            counter = self._counter(consumer, algorithm)
            counter.requests += 1
            if status == "ok":
                counter.ok += 1
            elif status == "partial":
                counter.partial += 1
            else:
                counter.error += 1
            counter.deadline_missed += int(deadline_missed)
            counter.latency_total_ms += latency_ms

    def rejected(self) -> None:
        with self._lock:
            self._rejected += 1

    def labelled(self, consumer: str, algorithm: str, correct: bool, members: dict[str, bool]) -> None:
        with self._lock:
            counter = self._counter(consumer, algorithm)
            counter.labelled += 1
            counter.correct += int(correct)
            for model, right in members.items():
                tally = self._models.setdefault(model, [0, 0])
                tally[0] += 1
                tally[1] += int(right)

    def snapshot(self) -> StatsResponse:
        with self._lock:
            rows = [
                CounterRow(
                    consumer=consumer,
                    algorithm=algorithm,
                    requests=c.requests,
                    ok=c.ok,
                    partial=c.partial,
                    error=c.error,
                    deadline_missed=c.deadline_missed,
                    mean_latency_ms=c.latency_total_ms / c.requests if c.requests else None,
                    labelled=c.labelled,
                    correct=c.correct,
                    accuracy=c.correct / c.labelled if c.labelled else None,
                )
                for (consumer, algorithm), c in sorted(self._counters.items())
            ]
            models = {m: right / seen for m, (seen, right) in sorted(self._models.items()) if seen}
            return StatsResponse(
                requests=sum(r.requests for r in rows), rejected=self._rejected, rows=rows, model_accuracy=models
            )
