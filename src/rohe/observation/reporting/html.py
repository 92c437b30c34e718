"""The self-contained HTML page of an observation report: summary, plots (inline PNG), violations, incidents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from rohe.observation.metrics import ALL_CONSUMERS
from rohe.observation.reporting.incidents import incidents_section
from rohe.observation.reporting.summary import ConsumerSummary
from rohe.observation.violations import Violation
from rohe.quality.diagnosis import Incident

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}
td,th{border:1px solid #ccc;padding:.3rem .6rem;vertical-align:top;font-size:.9rem}
th{background:#f3f3f3}
td.num{text-align:right}
img{display:block;margin:1rem 0;max-width:100%}
"""


def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else format(value, pattern)


def page(app: str, rows: Sequence[ConsumerSummary], plots: Sequence[tuple[str, str]],
         violations: Sequence[Violation], incidents: Sequence[Incident] = ()) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(app)} observation report</title>"
             f"<style>{_STYLE}</style></head><body>",
             f"<h1>Observation report: {escape(app)}</h1>",
             f"<p>Generated {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC.</p>",
             "<h2>Summary</h2><table><tr><th>consumer</th><th>windows</th><th>requests</th><th>req/s</th>"
             "<th>p99 ms</th><th>accuracy</th><th>violations per clause</th></tr>"]
    for row in rows:
        clauses = "<br>".join(f"{n} &times; {escape(c)}" for c, n in row.violations.items()) or "-"
        name = "all consumers" if row.consumer == ALL_CONSUMERS else row.consumer
        parts.append(f"<tr><td>{escape(name)}</td><td class='num'>{row.windows}</td>"
                     f"<td class='num'>{row.requests}</td><td class='num'>{row.throughput_rps:.2f}</td>"
                     f"<td class='num'>{_fmt(row.p99_ms, '.1f')}</td>"
                     f"<td class='num'>{_fmt(row.accuracy, '.1%')}</td><td>{clauses}</td></tr>")
    parts.append("</table>")
    if plots:
        parts.append("<h2>Metrics over windows</h2>")
        parts += [f"<img alt='{escape(title)}' src='data:image/png;base64,{png}'>" for title, png in plots]
    else:
        parts.append("<p>No window carried latency or accuracy data to plot.</p>")
    parts.append(f"<h2>Violations ({len(violations)})</h2>")
    if violations:
        parts.append("<table><tr><th>window end</th><th>consumer</th><th>clause</th><th>observed</th>"
                     "<th>action</th><th>explanation</th><th>causes</th></tr>")
        for v in sorted(violations, key=lambda v: (v.window_end, v.consumer, v.clause)):
            causes = "<br>".join(f"{escape(c.kind.value)} {escape(c.name)} ({c.share:.0%}): {escape(c.evidence)}"
                                 for c in v.causes[:3]) or "-"
            parts.append(f"<tr><td>{v.window_end:%Y-%m-%d %H:%M:%S}</td><td>{escape(v.consumer)}</td>"
                         f"<td>{escape(v.clause)}</td><td class='num'>{_fmt(v.observed, '.4g')}</td>"
                         f"<td>{escape(v.action.value)}</td><td>{escape(v.explanation)}</td><td>{causes}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>No violations.</p>")
    parts.append(incidents_section(incidents))
    parts.append("</body></html>")
    return "\n".join(parts)
