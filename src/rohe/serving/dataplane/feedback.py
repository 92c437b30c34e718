"""Ground truth arriving after the fact, joined to what was predicted, kept in bounded memory.

Predictions wait in a bounded map until their label arrives (or are evicted, oldest first); labelled
records go to a bounded ring. An observation layer can read `records()` to judge models over time.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass

from rohe.core.errors import Conflict, InvalidInput, NotFound, Problem


@dataclass(frozen=True)
class ServedPrediction:
    request_id: str
    strategy: str
    predicted_class: int
    member_classes: tuple[tuple[str, int], ...]  # (model, its own class) for every member that answered
    consumer: str = ""  # whose request it was, so a late label counts for the right consumer
    algorithm: str = ""  # the scheduler that chose the members, for per-algorithm accuracy


@dataclass(frozen=True)
class FeedbackRecord:
    served: ServedPrediction
    true_class: int

    @property
    def correct(self) -> bool:
        return self.served.predicted_class == self.true_class


class FeedbackStore:
    def __init__(self, max_pending: int = 10_000, max_records: int = 10_000) -> None:
        if max_pending < 1 or max_records < 1:
            raise InvalidInput(
                "feedback store too small",
                [Problem("max_pending/max_records", "must be at least 1", "e.g. 10000")],
            )
        self._pending: OrderedDict[str, ServedPrediction] = OrderedDict()
        self._max_pending = max_pending
        self._records: deque[FeedbackRecord] = deque(maxlen=max_records)
        self._labelled: set[str] = set()

    def remember(self, served: ServedPrediction) -> None:
        self._pending[served.request_id] = served
        self._pending.move_to_end(served.request_id)
        while len(self._pending) > self._max_pending:
            self._pending.popitem(last=False)

    def record(self, request_id: str, true_class: int) -> FeedbackRecord:
        if true_class < 0:
            raise InvalidInput("invalid label", [Problem("true_class", f"{true_class} is negative", "")])
        served = self._pending.pop(request_id, None)
        if served is None:
            if request_id in self._labelled:
                raise Conflict(
                    "feedback already recorded",
                    [Problem("request_id", f"{request_id!r} already has a label", "send each label once")],
                )
            raise NotFound(
                "no such prediction",
                [
                    Problem(
                        "request_id",
                        f"{request_id!r} was not served, failed, or is too old",
                        "send feedback sooner or raise max_pending",
                    )
                ],
            )
        record = FeedbackRecord(served, true_class)
        if len(self._records) == self._records.maxlen:
            self._labelled.discard(self._records[0].served.request_id)
        self._records.append(record)
        self._labelled.add(request_id)
        return record

    def records(self) -> tuple[FeedbackRecord, ...]:
        return tuple(self._records)

    def accuracy(self) -> float | None:
        """Share of labelled requests the ensemble got right; None before any label."""
        if not self._records:
            return None
        return sum(r.correct for r in self._records) / len(self._records)

    def model_accuracy(self) -> dict[str, float]:
        """Per member model, over the labelled requests it answered."""
        hits: dict[str, list[bool]] = {}
        for record in self._records:
            for model, predicted in record.served.member_classes:
                hits.setdefault(model, []).append(predicted == record.true_class)
        return {model: sum(h) / len(h) for model, h in sorted(hits.items())}
