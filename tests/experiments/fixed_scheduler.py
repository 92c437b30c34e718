"""A plugin scheduler for tests: always model m2, reached through the registry by its dotted path."""

from __future__ import annotations

import numpy as np

from rohe.serving.scheduling import ExecutionPlan, RequestContext
from rohe.serving.scheduling.base import make_plan


class OnlyM2:
    name = "only-m2"

    def plan(self, request: RequestContext) -> ExecutionPlan:
        view = request.consumer.view(request.node_types)
        index = request.consumer.catalog.models.index("m2")
        return make_plan(self.name, request, view, np.asarray([index]))
