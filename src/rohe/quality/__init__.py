"""Quality evaluation in three tiers: rules over metric streams, anomaly detection, and incident diagnosis."""

from rohe.quality.anomaly import (
    CUSUM,
    DETECTORS,
    EWMA,
    Anomaly,
    AnomalyMonitor,
    Detector,
    IsolationForestDetector,
    RobustZScore,
    Score,
)
from rohe.quality.diagnosis import Incident, SuspectedCause, Symptom, build_incident, deterministic_narrative
from rohe.quality.narrator import Diagnoser, LLMConfig, request_narrative
from rohe.quality.rules import Rule, RuleAlert, RuleEngine, Severity, load_rules, parse_rules
from rohe.quality.series import metric_reader
from rohe.quality.watch import QualityWatch

__all__ = [
    "CUSUM",
    "DETECTORS",
    "EWMA",
    "Anomaly",
    "AnomalyMonitor",
    "Detector",
    "Diagnoser",
    "Incident",
    "IsolationForestDetector",
    "LLMConfig",
    "QualityWatch",
    "RobustZScore",
    "Rule",
    "RuleAlert",
    "RuleEngine",
    "Score",
    "Severity",
    "SuspectedCause",
    "Symptom",
    "build_incident",
    "deterministic_narrative",
    "load_rules",
    "metric_reader",
    "parse_rules",
    "request_narrative",
]
