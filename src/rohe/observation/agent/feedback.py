"""Recent predictions by request id, so ground truth that arrives later can be judged against them."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from rohe.observation.reports import Report, ReportKind, RequestStatus


@dataclass
class Prediction:
    """What was answered for one request: the ensemble's class and each member's own class."""

    consumer: str | None = None
    predicted_class: str | None = None  # None: no member answered (or no aggregated report seen yet)
    aggregated: bool = False  # the gateway's aggregated report was seen, so predicted_class is the outcome
    members: dict[str, str] = field(default_factory=dict)


class PredictionMemory:
    """The most recent `capacity` requests; older ones are forgotten, so their feedback goes unmatched."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: OrderedDict[str, Prediction] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def remember(self, report: Report) -> None:
        if report.kind is not ReportKind.REQUEST or report.request_id is None:
            return
        entry = self._items.get(report.request_id)
        if entry is None:
            entry = self._items[report.request_id] = Prediction()
            if len(self._items) > self._capacity:
                self._items.popitem(last=False)
        if report.consumer is not None:
            entry.consumer = report.consumer
        answered = report.status is not RequestStatus.ERROR and report.predicted_class is not None
        if report.model_id is None:
            entry.predicted_class = report.predicted_class if answered else None
            entry.aggregated = True
        elif answered and report.predicted_class is not None:
            entry.members[report.model_id] = report.predicted_class

    def lookup(self, request_id: str | None) -> Prediction | None:
        return None if request_id is None else self._items.get(request_id)
