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
from rohe.serving.scheduling.registry import ENTRY_POINT_GROUP, available_schedulers, get_scheduler
from rohe.serving.scheduling.selected import SelectedEnsemble

__all__ = [
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
    "Oracle",
    "Phase1Rule",
    "PreparedConsumer",
    "RandomSubset",
    "RequestContext",
    "RequestScheduler",
    "SelectedEnsemble",
    "SingleBest",
    "available_schedulers",
    "budgets",
    "get_scheduler",
    "prepare",
]
