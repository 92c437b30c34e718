"""Probes: what services use to report requests, stages, feedback and resource use to an observation agent."""

from rohe.observation.probes.config import ProbeConfig, probe_from_config
from rohe.observation.probes.middleware import ProbeMiddleware
from rohe.observation.probes.probe import Probe, ProbeStats, probing
from rohe.observation.probes.reporting import feedback_report, member_report, request_report
from rohe.observation.probes.resources import ResourceSampler, resource_report
from rohe.observation.probes.scope import ReportOrigin, RequestScope, annotate, current_scope, request_scope
from rohe.observation.reports import ReportSink

__all__ = [
    "Probe",
    "ProbeConfig",
    "ProbeMiddleware",
    "ProbeStats",
    "ReportOrigin",
    "ReportSink",
    "RequestScope",
    "ResourceSampler",
    "annotate",
    "current_scope",
    "feedback_report",
    "member_report",
    "probe_from_config",
    "probing",
    "request_report",
    "request_scope",
    "resource_report",
]
