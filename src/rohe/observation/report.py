"""`build_report` (what `rohe observation report` calls); the implementation lives in rohe.observation.reporting."""

from rohe.observation.reporting import ConsumerSummary, ObservationReport, build_report

__all__ = ["ConsumerSummary", "ObservationReport", "build_report"]
