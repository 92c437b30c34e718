"""Ensemble selection: choose members, node types and replicas that best meet a consumer contract."""

from rohe.serving.selection.algorithms import NaiveEnumeration, RoheEnsemble, SingleBest
from rohe.serving.selection.base import TIE_TOLERANCE, EnsembleChoice, EnsembleSearch, Member, MetricOutcome
from rohe.serving.selection.registry import ENTRY_POINT_GROUP, available, get_search
from rohe.serving.selection.scoring import aggregate, evaluate, scale

__all__ = [
    "ENTRY_POINT_GROUP",
    "TIE_TOLERANCE",
    "EnsembleChoice",
    "EnsembleSearch",
    "Member",
    "MetricOutcome",
    "NaiveEnumeration",
    "RoheEnsemble",
    "SingleBest",
    "aggregate",
    "available",
    "evaluate",
    "get_search",
    "scale",
]
