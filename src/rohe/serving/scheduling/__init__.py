"""Per-request member selection and scheduling behind one `RequestScheduler` interface."""

from rohe.serving.scheduling.algorithms import Adaptive, Dream, Escalation, LeastLaxityFirst
from rohe.serving.scheduling.base import (
    DEFAULT_CONFIDENCE_THRESHOLD,
    ExecutionPlan,
    MemberTask,
    ModelView,
    Phase1Rule,
    PreparedConsumer,
    RequestContext,
    RequestScheduler,
    budgets,
    prepare,
)
from rohe.serving.scheduling.baselines import AllModels, Fastest, Oracle, RandomSubset, SingleBest
from rohe.serving.scheduling.fallback import NearestFeasible, describe, nearest_feasible
from rohe.serving.scheduling.registry import ENTRY_POINT_GROUP, available_schedulers, get_scheduler
from rohe.serving.scheduling.selected import BEST_EFFORT, SelectedEnsemble, Selection

__all__ = [
    "BEST_EFFORT",
    "DEFAULT_CONFIDENCE_THRESHOLD",
    "ENTRY_POINT_GROUP",
    "Adaptive",
    "AllModels",
    "Dream",
    "Escalation",
    "ExecutionPlan",
    "Fastest",
    "LeastLaxityFirst",
    "MemberTask",
    "ModelView",
    "NearestFeasible",
    "Oracle",
    "Phase1Rule",
    "PreparedConsumer",
    "RandomSubset",
    "RequestContext",
    "RequestScheduler",
    "SelectedEnsemble",
    "Selection",
    "SingleBest",
    "available_schedulers",
    "budgets",
    "describe",
    "get_scheduler",
    "nearest_feasible",
    "prepare",
]
