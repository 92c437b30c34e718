"""Prometheus exposition of window metrics and of the agents' own counters.

`WindowExporter` is a window listener: every closed window sets gauges labelled app, run, consumer and window
(e.g. "tumbling_10s"); windows of one tumbling size also advance counters (only one size, so a request is counted
once however many window shapes an agent keeps). `metrics_asgi_app` serves GET /metrics from its registry.
Series of models, classes or stages that a newer window no longer has are removed, not left stale.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest, make_asgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from rohe.observation.metrics import LatencyStats, WindowKind, WindowMetrics

BASE = ("app", "run", "consumer", "window")
QUANTILES = (("0.5", "p50_ms"), ("0.95", "p95_ms"), ("0.99", "p99_ms"))
END_TO_END = "end_to_end"
_AGENT_COUNTERS = (
    ("rohe_agent_reports_received", "reports handed to the agent, duplicates included", "received"),
    ("rohe_agent_reports_malformed", "messages that could not be decoded", "malformed"),
    ("rohe_agent_duplicates", "reports dropped as resends", "duplicates"),
    ("rohe_agent_late_dropped", "reports that arrived after all their windows closed", "late_dropped"),
    ("rohe_agent_windows_emitted", "window metrics emitted to storage and listeners", "windows_emitted"),
    ("rohe_agent_feedback_unmatched", "ground truth for requests the agent no longer remembers", "feedback_unmatched"),
)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class _AgentLike(Protocol):
    @property
    def stats(self) -> Any: ...

    config: Any


class _AgentCollector(Collector):
    """Reads the watched agents' counters at scrape time, so they are never out of date."""

    def __init__(self) -> None:
        self.agents: list[_AgentLike] = []

    def collect(self) -> Iterable[Metric]:
        counters = {name: CounterMetricFamily(name, text, labels=["app", "run"]) for name, text, _ in _AGENT_COUNTERS}
        held = GaugeMetricFamily("rohe_agent_open_reports", "reports held in open windows", labels=["app", "run"])
        for agent in list(self.agents):
            stats, labels = agent.stats, [agent.config.app, agent.config.run]
            for name, _, field in _AGENT_COUNTERS:
                counters[name].add_metric(labels, float(getattr(stats, field)))
            held.add_metric(labels, float(stats.open_reports))
        return [*counters.values(), held]


def window_label(window: WindowMetrics) -> str:
    return f"{window.kind.value}_{window.seconds:g}s"


class WindowExporter:
    def __init__(self, registry: CollectorRegistry | None = None, *, counted_window_s: float | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._counted_s = counted_window_s
        self._counted_of: dict[tuple[str, str], float] = {}  # app, run -> the tumbling size its counters follow
        self._lock = threading.Lock()
        self._children: dict[tuple[int, tuple[str, ...]], set[tuple[str, ...]]] = {}
        self._agents = _AgentCollector()
        self.registry.register(self._agents)

        def gauge(name: str, text: str, *extra: str) -> Gauge:
            return Gauge(name, text, [*BASE, *extra], registry=self.registry)

        def counter(name: str, text: str) -> Counter:
            return Counter(name, text, ["app", "run", "consumer"], registry=self.registry)

        self.requests_total = counter("rohe_requests_total", "requests seen (one tumbling window size counts)")
        self.errors_total = counter("rohe_errors_total", "requests no model answered")
        self.partial_total = counter("rohe_partial_total", "requests answered with members late or failed")
        self.cost_total = counter("rohe_cost_total", "cost of the requests served")
        self.labelled_total = counter("rohe_labelled_total", "requests whose ground truth arrived")
        self.simple: dict[str, Gauge] = {
            "requests": gauge("rohe_window_requests", "requests in the latest window"),
            "errors": gauge("rohe_window_errors", "unanswered requests in the latest window"),
            "throughput_rps": gauge("rohe_throughput_rps", "requests per second over the latest window"),
            "availability": gauge("rohe_availability", "share of requests answered"),
            "accuracy": gauge("rohe_accuracy", "share of labelled requests answered correctly"),
            "labelled": gauge("rohe_window_labelled", "labelled requests in the latest window"),
            "confidence_mean": gauge("rohe_confidence_mean", "mean confidence of the answers"),
            "ensemble_size_mean": gauge("rohe_ensemble_size_mean", "mean number of members that answered"),
            "cost_total": gauge("rohe_window_cost", "cost of the requests in the latest window"),
            "end": gauge("rohe_window_end_timestamp_seconds", "end of the latest window (Unix time)"),
        }
        self.latency = gauge(
            "rohe_latency_ms", "latency quantiles per stage (end_to_end for the whole request)", "stage", "quantile"
        )
        self.latency_mean = gauge("rohe_latency_mean_ms", "mean latency per stage", "stage")
        self.latency_max = gauge("rohe_latency_max_ms", "maximum latency per stage", "stage")
        self.class_accuracy = gauge("rohe_class_accuracy", "share of answers of a class that were right", "class")
        self.class_miss_rate = gauge(
            "rohe_class_miss_rate", "share of requests of a true class answered wrong", "class"
        )
        self.model_requests = gauge("rohe_model_requests", "requests a model answered", "model")
        self.model_late = gauge("rohe_model_late", "requests a model was late for or failed", "model")
        self.model_accuracy = gauge("rohe_model_accuracy", "a model's own accuracy against ground truth", "model")
        self.model_latency = gauge(
            "rohe_model_latency_ms", "a model's inference latency quantiles", "model", "quantile"
        )
        self.cpu = gauge("rohe_resource_cpu_cores", "mean CPU cores in use", "service", "node")
        self.cpu_max = gauge("rohe_resource_cpu_max_cores", "peak CPU cores in use", "service", "node")
        self.memory = gauge("rohe_resource_memory_mib", "mean memory in use (MiB)", "service", "node")
        self.gpu = gauge("rohe_resource_gpu_fraction", "mean GPU utilisation", "service", "node")
        self.custom = gauge("rohe_custom", "user window functions", "name")

    # WindowListener
    def __call__(self, window: WindowMetrics) -> None:
        base = (window.app, window.run, window.consumer, window_label(window))
        with self._lock:
            self._count(window)
            simple = {
                "requests": window.requests,
                "errors": window.errors,
                "throughput_rps": window.throughput_rps,
                "availability": window.availability,
                "accuracy": window.accuracy,
                "labelled": window.labelled,
                "confidence_mean": window.confidence_mean,
                "ensemble_size_mean": window.ensemble_size_mean,
                "cost_total": window.cost_total,
                "end": window.end.timestamp(),
            }
            for key, value in simple.items():
                self._family(self.simple[key], base, {(): value})
            stages = {END_TO_END: window.end_to_end, **window.stages}
            self._family(
                self.latency,
                base,
                {(stage, q): _quantile(s, attr) for stage, s in stages.items() for q, attr in QUANTILES},
            )
            self._family(self.latency_mean, base, {(k,): s.mean_ms if s else None for k, s in stages.items()})
            self._family(self.latency_max, base, {(k,): s.max_ms if s else None for k, s in stages.items()})
            self._family(self.class_accuracy, base, {(c,): v for c, v in window.class_accuracy.items()})
            self._family(self.class_miss_rate, base, {(c,): v for c, v in window.class_miss_rate.items()})
            models = window.models
            self._family(self.model_requests, base, {(m,): s.requests for m, s in models.items()})
            self._family(self.model_late, base, {(m,): s.late for m, s in models.items()})
            self._family(self.model_accuracy, base, {(m,): s.accuracy for m, s in models.items()})
            self._family(
                self.model_latency,
                base,
                {(m, q): _quantile(s.latency, attr) for m, s in models.items() for q, attr in QUANTILES},
            )
            where = {key: tuple(key.split("@", 1)) if "@" in key else (key, "") for key in window.resources}
            resources = window.resources.items()
            self._family(self.cpu, base, {where[k]: r.cpu_mean for k, r in resources})
            self._family(self.cpu_max, base, {where[k]: r.cpu_max for k, r in resources})
            self._family(self.memory, base, {where[k]: r.memory_mean for k, r in resources})
            self._family(self.gpu, base, {where[k]: r.gpu_mean for k, r in resources})
            self._family(self.custom, base, {(name,): v for name, v in window.custom.items()})

    def watch_agent(self, agent: _AgentLike) -> None:
        """Expose the agent's own counters (received, malformed, duplicates, late_dropped, ...)."""
        if agent not in self._agents.agents:
            self._agents.agents.append(agent)

    def unwatch_agent(self, agent: _AgentLike) -> None:
        if agent in self._agents.agents:
            self._agents.agents.remove(agent)

    def render(self) -> bytes:
        """The text exposition format (serve with `CONTENT_TYPE`)."""
        return generate_latest(self.registry)

    def _count(self, window: WindowMetrics) -> None:
        if window.kind is not WindowKind.TUMBLING:
            return
        # Without a fixed size, each app run's counters follow the first tumbling size it reports.
        counted = self._counted_s or self._counted_of.setdefault((window.app, window.run), window.seconds)
        if window.seconds != counted:
            return
        labels = (window.app, window.run, window.consumer)
        self.requests_total.labels(*labels).inc(window.requests)
        self.errors_total.labels(*labels).inc(window.errors)
        self.partial_total.labels(*labels).inc(window.partial)
        self.cost_total.labels(*labels).inc(window.cost_total)
        self.labelled_total.labels(*labels).inc(window.labelled)

    def _family(self, gauge: Gauge, base: tuple[str, ...], values: Mapping[tuple[str, ...], float | None]) -> None:
        """Set every series of `gauge` under `base`; drop the ones this window no longer has (or has no value)."""
        key = (id(gauge), base)  # gauges live as long as the exporter, so ids are stable
        previous = self._children.get(key, set())
        current = {extra for extra, value in values.items() if value is not None}
        for extra in previous - current:
            gauge.remove(*base, *extra)
        for extra in current:
            value = values[extra]
            assert value is not None
            gauge.labels(*base, *extra).set(float(value))
        self._children[key] = current


def _quantile(stats: LatencyStats | None, attribute: str) -> float | None:
    return None if stats is None else float(getattr(stats, attribute))


def metrics_asgi_app(exporter: WindowExporter) -> Any:
    """An ASGI app answering GET with the exporter's metrics (mount it at /metrics)."""
    return make_asgi_app(registry=exporter.registry)
