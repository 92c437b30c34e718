"""Serving the API with its console from a background thread, for callers that want a URL to print (the demo)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rohe.core.background_server import BackgroundServer
from rohe.core.config import Settings
from rohe.platform import Platform
from rohe.ui import console_url


def start_console(
    settings: Settings, platform: Platform | None = None, reports_dirs: Sequence[Path] = ()
) -> tuple[BackgroundServer, str]:
    """Start the API (and /ui) on a free loopback port; returns the running server and the console's URL.
    Pass the caller's `platform` to show its store; stop the server with `.stop()`."""
    from rohe.api.app import create_app

    server = BackgroundServer(create_app(settings, platform, reports_dirs)).start()
    return server, console_url(server.url)
