"""GET /metrics: window metrics and agent counters in the Prometheus text format; the dashboard uses only those."""

from __future__ import annotations

import asyncio
import json
import re
from importlib import resources

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from observation.agent.support import MemorySink, feedback, member, request, resource
from rohe.observation.agent import AgentConfig, ObservationAgent
from rohe.observation.exporter import WindowExporter, metrics_asgi_app
from rohe.observation.reports import RequestStatus


def _scrape(exporter: WindowExporter) -> list[Sample]:
    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=metrics_asgi_app(exporter))
        async with httpx.AsyncClient(transport=transport, base_url="http://rohe") as client:
            return await client.get("/")

    response = asyncio.run(get())
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return [s for family in text_string_to_metric_families(response.text) for s in family.samples]


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, f"{name} {labels}: {found}"
    return found[0]


def _exported_agent() -> tuple[WindowExporter, ObservationAgent]:
    exporter = WindowExporter()
    config = AgentConfig.model_validate(
        {
            "app": "shop",
            "run": "r1",
            "idle_close_s": None,
            "allowed_lateness_s": 0,
            "windows": [{"size_s": 10}, {"kind": "sliding", "size_s": 20, "step_s": 10}],
        }
    )
    agent = ObservationAgent(config, MemorySink(), listeners=[exporter])
    exporter.watch_agent(agent)
    return exporter, agent


def _traffic(agent: ObservationAgent) -> None:
    reports = [
        request(
            i,
            f"q{i}",
            e2e=10.0 * (i + 1),
            status=RequestStatus.ERROR if i == 3 else RequestStatus.OK,
            app="shop",
            run="r1",
        )
        for i in range(5)
    ]
    extra = [
        member(1, "q1", "m1", inference=7.0),
        feedback(2, "q1", "cat"),
        feedback(2, "q2", "dog"),
        resource(3, 1.5, 256.0),
    ]
    agent.ingest([*reports, *(r.model_copy(update={"app": "shop", "run": "r1"}) for r in extra)])
    agent.ingest(reports[:2])  # duplicates
    agent.ingest([request(15, "late-enough", app="shop", run="r1")])  # closes the first tumbling window


def test_metrics_text_parses_and_matches_the_windows() -> None:
    exporter, agent = _exported_agent()
    _traffic(agent)
    samples = _scrape(exporter)
    base = {"app": "shop", "run": "r1", "consumer": "c1", "window": "tumbling_10s"}
    assert _value(samples, "rohe_window_requests", **base) == 5
    assert _value(samples, "rohe_throughput_rps", **base) == 0.5
    assert _value(samples, "rohe_availability", **base) == 0.8
    assert _value(samples, "rohe_accuracy", **base) == 0.5
    assert _value(samples, "rohe_latency_ms", **base, stage="end_to_end", quantile="0.5") == 30.0
    assert _value(samples, "rohe_latency_max_ms", **base, stage="end_to_end") == 50.0
    assert _value(samples, "rohe_model_latency_ms", **base, model="m1", quantile="0.99") == 7.0
    assert _value(samples, "rohe_class_miss_rate", **base, **{"class": "dog"}) == 1.0
    all_base = {**base, "consumer": "*"}
    assert _value(samples, "rohe_resource_cpu_cores", **all_base, service="svc", node="n1") == 1.5
    assert _value(samples, "rohe_requests_total", app="shop", run="r1", consumer="c1") == 5
    assert _value(samples, "rohe_errors_total", app="shop", run="r1", consumer="c1") == 1
    assert _value(samples, "rohe_agent_reports_received_total", app="shop", run="r1") == 12
    assert _value(samples, "rohe_agent_duplicates_total", app="shop", run="r1") == 2
    assert _value(samples, "rohe_agent_open_reports", app="shop", run="r1") > 0
    # The sliding window [0, 20) is still open, and sliding windows never advance the counters.
    agent.flush()
    samples = _scrape(exporter)
    assert _value(samples, "rohe_window_requests", **{**base, "window": "sliding_20s"}) == 1
    assert _value(samples, "rohe_requests_total", app="shop", run="r1", consumer="c1") == 6


def test_series_a_newer_window_lacks_are_removed() -> None:
    exporter, agent = _exported_agent()
    _traffic(agent)
    agent.flush()
    samples = _scrape(exporter)
    base = {"app": "shop", "run": "r1", "consumer": "c1", "window": "tumbling_10s"}
    assert not [s for s in samples if s.name == "rohe_model_requests" and s.labels.get("window") == "tumbling_10s"]
    assert not [s for s in samples if s.name == "rohe_accuracy" and s.labels == base], "no feedback in [10, 20)"


def test_every_dashboard_query_uses_exposed_metrics_and_labels() -> None:
    exporter, agent = _exported_agent()
    exporter.custom.labels("shop", "r1", "c1", "tumbling_10s", "f").set(1.0)
    _traffic(agent)
    samples = _scrape(exporter)
    labels_of: dict[str, set[str]] = {}
    for s in samples:
        labels_of.setdefault(s.name, set()).update(s.labels)
    dashboard = json.loads(resources.files("rohe.observation").joinpath("data/grafana-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    exprs += [v["query"]["query"] for v in dashboard["templating"]["list"] if isinstance(v.get("query"), dict)]
    assert len(exprs) > 20
    for expr in exprs:
        names = re.findall(r"\b(rohe_[a-z_]+)", expr)
        assert names, expr
        for name in names:
            assert name in labels_of, f"{name} in {expr!r} is not exposed"
        for name, matchers in re.findall(r"\b(rohe_[a-z_]+)\{([^}]*)\}", expr):
            used = set(re.findall(r"(\w+)\s*(?:=~|!=|!~|=)", matchers))
            assert used <= labels_of[name] | {"__name__"}, f"{expr!r} filters on {used - labels_of[name]}"
