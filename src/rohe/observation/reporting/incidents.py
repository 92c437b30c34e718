"""Diagnosed incidents in reports: a rich table for the terminal and a section of the HTML page."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from rich.table import Table

from rohe.observation.metrics import ALL_CONSUMERS
from rohe.quality.diagnosis import Incident


def _consumer(name: str) -> str:
    return "all consumers" if name == ALL_CONSUMERS else name


def _top_cause(incident: Incident) -> str:
    if not incident.suspected_causes:
        return "-"
    top = incident.suspected_causes[0]
    return f"{top.kind.value} {top.name} ({top.score:.0%})"


def _signals(incident: Incident) -> str:
    counts: dict[str, int] = {}
    for symptom in incident.symptoms:
        counts[symptom.source] = counts.get(symptom.source, 0) + 1
    return ", ".join(f"{n} {source}" for source, n in counts.items())


def ordered(incidents: Sequence[Incident]) -> list[Incident]:
    return sorted(incidents, key=lambda i: (i.window_end, i.consumer, str(i.incident_id)))


def incidents_table(app: str, incidents: Sequence[Incident], narratives: bool = True) -> Table:
    table = Table(title=f"{len(incidents)} incident(s) of {app}")
    columns = ["detected", "run", "consumer", "severity", "signals", "top suspected cause"]
    for column in columns + (["narrative"] if narratives else []):
        table.add_column(column)
    for i in ordered(incidents):
        row = [i.window_end.isoformat(timespec="seconds"), i.run, _consumer(i.consumer), i.severity.value,
               _signals(i), _top_cause(i)]
        table.add_row(*row, *([i.narrative] if narratives else []))
    return table


def incidents_section(incidents: Sequence[Incident]) -> str:
    parts = [f"<h2>Incidents ({len(incidents)})</h2>"]
    if not incidents:
        parts.append("<p>No incidents.</p>")
        return "\n".join(parts)
    parts.append("<table><tr><th>detected</th><th>consumer</th><th>severity</th><th>symptoms</th>"
                 "<th>suspected causes</th><th>narrative</th></tr>")
    for i in ordered(incidents):
        symptoms = "<br>".join(f"{escape(s.source)}: {escape(s.description)}" for s in i.symptoms)
        causes = "<br>".join(f"{escape(c.kind.value)} {escape(c.name)} ({c.score:.0%})"
                             for c in i.suspected_causes[:3]) or "-"
        source = " <em>(LLM)</em>" if i.narrative_source == "llm" else ""
        parts.append(f"<tr><td>{i.window_end:%Y-%m-%d %H:%M:%S}</td><td>{escape(_consumer(i.consumer))}</td>"
                     f"<td>{escape(i.severity.value)}</td><td>{symptoms}</td><td>{causes}</td>"
                     f"<td>{escape(i.narrative)}{source}</td></tr>")
    parts.append("</table>")
    return "\n".join(parts)
