"""The FastAPI application: one process serving the orchestration and observation APIs (OpenAPI docs at /docs)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from rohe import __version__
from rohe.api.control import router as control_router
from rohe.api.observation import router as observation_router
from rohe.api.orchestration import router as orchestration_router
from rohe.api.vetting import request_policy
from rohe.core.auth import protect
from rohe.core.config import Settings
from rohe.core.errors import RoheError
from rohe.core.web import add_offline_docs
from rohe.platform import Platform
from rohe.ui import mount_console


def create_app(
    settings: Settings, platform: Platform | None = None, reports_dirs: Sequence[Path] = ()
) -> FastAPI:
    """Build the app. Pass `platform` to share one with the caller (tests, embedded use); `reports_dirs` are
    where the console at /ui lists report folders besides the data dir."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = platform is None
        app.state.platform = platform or Platform.open(settings)
        app.state.platform.agent.resume()
        app.state.platform.observation.resume()
        try:
            yield
        finally:
            if owned:
                app.state.platform.close()
            else:
                app.state.platform.agent.shutdown()
                app.state.platform.observation.close()

    app = FastAPI(
        title="rohe",
        version=__version__,
        description="Orchestration and observation of ML inference pipelines on edge clusters.",
        lifespan=lifespan,
        docs_url=None,  # served from the package by add_offline_docs: the default page needs a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.policy = request_policy(settings)
    add_offline_docs(app, "rohe")
    # Every route but /health needs the token when one is set (docs/security.md).
    protect(app, settings.api.token)
    mount_console(app, settings, reports_dirs)  # after protect: its session middleware wraps the guard

    @app.exception_handler(RoheError)
    async def _rohe_error(_: Request, exc: RoheError) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content=exc.to_dict())

    @app.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(orchestration_router)
    app.include_router(observation_router)
    app.include_router(control_router)
    return app
