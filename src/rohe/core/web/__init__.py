"""Interactive API docs that work offline: Swagger UI served from the package instead of a CDN.

FastAPI's default /docs page loads Swagger UI's script and style from a CDN and is blank without internet
access (an edge site often has none). `add_offline_docs` serves the vendored Swagger UI dist files (see
swagger-ui/README.md for version and licence) under /docs/static and a /docs page that references only
them; the validator badge, which would call validator.swagger.io, is switched off. ReDoc is not vendored,
so /redoc is not offered.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
STATIC_URL = "/docs/static"
SWAGGER_UI = Path(str(files("rohe.core.web") / "swagger-ui"))


def add_offline_docs(app: FastAPI, title: str) -> None:
    """Add /docs (and its OAuth2 redirect) to an app built with `docs_url=None, redoc_url=None`."""
    app.mount(STATIC_URL, StaticFiles(directory=SWAGGER_UI), name="swagger-ui")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - API docs",
            swagger_js_url=f"{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{STATIC_URL}/favicon-32x32.png",
            oauth2_redirect_url=f"{DOCS_URL}/oauth2-redirect",
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(f"{DOCS_URL}/oauth2-redirect", include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
