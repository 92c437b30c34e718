"""`rohe observation site-events`: what each edge site judged and decided on its own (violations, controller
decisions, gateway policy changes), as its outbox delivered them to the central service."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from rohe.cli.errors import handle_errors
from rohe.cli.observation import Json, Url, _print_json, backend, console


@handle_errors
def site_events(
    site: Annotated[str | None, typer.Option("--site", help="only this site")] = None,
    app_name: Annotated[str | None, typer.Option("--app", help="only this app")] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="violation | decision | decision-observed | policy")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="newest N events")] = 100,
    url: Url = None,
    as_json: Json = False,
) -> None:
    """Show what sites reported (decided or judged while offline included), oldest first, with the site."""
    with backend(url) as b:
        found = b.site_events(site, app_name, kind, limit)
    if as_json:
        _print_json([e.model_dump(mode="json") for e in found])
        return
    table = Table(title=f"{len(found)} site event(s)")
    for column in ("site", "occurred", "received", "kind", "app", "run", "what", "event id"):
        table.add_column(column)
    for e in found:
        table.add_row(e.site, e.occurred_at.isoformat(timespec="seconds"), e.received_at.isoformat(timespec="seconds"),
                      e.kind, e.app, e.run, _summary(e.kind, e.payload), e.event_id)
    console.print(table)


def _summary(kind: str, payload: dict[str, object]) -> str:
    """One line an operator reads first; the whole payload is in --json."""
    if kind == "violation":
        return f"{payload.get('consumer')}: {payload.get('clause')} (observed {payload.get('observed')}) " \
               f"{payload.get('explanation') or ''}".strip()
    if kind in ("decision", "decision-observed"):
        action = payload.get("action")
        what = f"{action.get('kind')} {action.get('target')}" if isinstance(action, dict) else "?"
        observed = payload.get("observed")
        held = f"; holds: {observed.get('holds')}" if kind == "decision-observed" and isinstance(observed, dict) else ""
        return f"{payload.get('consumer')}: {what} [{payload.get('status')}] ({payload.get('trigger')}){held}"
    if kind == "policy":
        return f"{payload.get('consumer')}: algorithm {payload.get('algorithm')}, degrade {payload.get('degrade')}, " \
               f"exclude {payload.get('exclude')}"
    return ""
