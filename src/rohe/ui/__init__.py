"""The operator console: live pages at /ui served by the API process, behind the API's token.

`mount_console` adds it to an API app; `rohe.ui.server.start_console` serves an API with the console on a free
loopback port from a background thread (what `rohe demo` calls to print a URL). Every asset ships in this
package (static/); no page loads anything from another origin.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from rohe.core.config import Settings

STATIC = Path(__file__).parent / "static"


def mount_console(app: FastAPI, settings: Settings, reports_dirs: Sequence[Path] = ()) -> None:
    """Add /ui to an API app. Call it after the token guard is installed, so the session middleware wraps it."""
    from rohe.ui.auth import ConsoleSession
    from rohe.ui.live import SharedViews
    from rohe.ui.quality import SeriesCache
    from rohe.ui.routes import router

    static = StaticFiles(directory=STATIC)
    app.state.console_views = SharedViews()
    app.state.console_series = SeriesCache()
    app.state.console_reports = [settings.data_dir, *reports_dirs]
    app.mount("/ui/static", static, name="ui-static")
    app.include_router(router)
    if settings.api.token:
        login = (STATIC / "login.html").read_text(encoding="utf-8")
        app.add_middleware(ConsoleSession, token=settings.api.token, static=static, login_page=login)


def console_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/ui"


__all__ = ["console_url", "mount_console"]
