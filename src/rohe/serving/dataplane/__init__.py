"""The serving data plane: fan one request out to an ensemble's model services and aggregate the answers."""

from rohe.serving.dataplane.aggregation import (
    AggregatedPrediction,
    Aggregator,
    MajorityVote,
    MaxConfidence,
    MeanProbability,
    MemberPrediction,
    WeightedVote,
    accuracy_weights,
    aggregator_names,
    make_aggregator,
)
from rohe.serving.dataplane.endpoints import ModelEndpoints
from rohe.serving.dataplane.fanout import FanoutClient, FanoutResult, MemberOutcome, MemberStatus
from rohe.serving.dataplane.feedback import FeedbackRecord, FeedbackStore, ServedPrediction
from rohe.serving.dataplane.pipeline import InferencePipeline, InferenceResponse, ResponseStatus, StageTimings

__all__ = [
    "AggregatedPrediction",
    "Aggregator",
    "FanoutClient",
    "FanoutResult",
    "FeedbackRecord",
    "FeedbackStore",
    "InferencePipeline",
    "InferenceResponse",
    "MajorityVote",
    "MaxConfidence",
    "MeanProbability",
    "MemberOutcome",
    "MemberPrediction",
    "MemberStatus",
    "ModelEndpoints",
    "ResponseStatus",
    "ServedPrediction",
    "StageTimings",
    "WeightedVote",
    "accuracy_weights",
    "aggregator_names",
    "make_aggregator",
]
