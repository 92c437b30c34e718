"""How a browser carries the API token: the console signs in once and holds a session cookie.

A browser cannot add `Authorization: Bearer` to a page load, so with `api.token` set the operator types the token
into /ui/login once; the console then sets an HttpOnly, SameSite=Strict cookie holding an HMAC of the token (never
the token itself, so the cookie is no bearer credential anywhere else). This middleware sits in front of the API's
token guard and turns a valid cookie back into the Authorization header, so the guard stays the one place that
decides; it does so only for reads (GET/HEAD) and the plan preview (a dry run). Mutating console controls must send
the header themselves (the operator types the token into the control), so a forged cross-site form can change
nothing. Without a token the API is loopback-only and open, and this middleware is not installed.
"""

from __future__ import annotations

import hashlib
import hmac
import html
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from rohe.core.auth import token_matches

COOKIE = "rohe_console"
LOGIN_PATH = "/ui/login"
LOGOUT_PATH = "/ui/logout"
STATIC_PREFIX = "/ui/static/"
# Non-GET requests the cookie may authorise: reads that happen to be POSTs.
COOKIE_POSTS = frozenset({"/orchestration/plan"})
MAX_LOGIN_BODY = 4096
NOT_PAGES = ("/ui/api/", "/ui/events", "/ui/reports/file")


def session_value(token: str) -> str:
    return hmac.new(token.encode("ascii"), b"rohe-console-session", hashlib.sha256).hexdigest()


def _local_page(path: str) -> bool:
    """Only a console page may be where signing in returns to: no open redirect."""
    return (path == "/ui" or path.startswith("/ui/")) and "//" not in path and "\\" not in path


def _is_page(path: str) -> bool:
    """A console page a person opens (sent to sign in), not JSON, the stream or a file (those answer 401)."""
    return (path == "/ui" or path.startswith("/ui/")) and not path.startswith(NOT_PAGES)


def _cookie(headers: dict[bytes, bytes]) -> str | None:
    raw = headers.get(b"cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw.decode("latin-1"))
    except Exception:  # a malformed Cookie header is just no session
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel else None


class ConsoleSession:
    """ASGI middleware installed outside the token guard (see the module docstring)."""

    def __init__(self, app: ASGIApp, token: str, static: ASGIApp, login_page: str) -> None:
        self.app = app
        self.token = token
        self.session = session_value(token)
        self.static = static
        self.login_page = login_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        if path.startswith(STATIC_PREFIX):  # CSS/JS/icons hold nothing secret, and the login page needs them
            await self.static({**scope, "path": path[len("/ui/static"):], "root_path": "/ui/static"}, receive, send)
            return
        if path == LOGOUT_PATH:
            out = RedirectResponse(LOGIN_PATH, status_code=303)
            out.delete_cookie(COOKIE, path="/")
            await out(scope, receive, send)
            return
        if path == LOGIN_PATH:
            response = await self._login(method, receive)
            await response(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if b"authorization" not in headers:
            cookie = _cookie(headers)
            allowed = method in ("GET", "HEAD") or (method == "POST" and path in COOKIE_POSTS)
            if cookie is not None and allowed and hmac.compare_digest(cookie, self.session):
                extra = (b"authorization", f"Bearer {self.token}".encode("ascii"))
                scope = {**scope, "headers": [*scope.get("headers", []), extra]}
            elif method == "GET" and _is_page(path):
                await RedirectResponse(f"{LOGIN_PATH}?next={path}", status_code=303)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _page(self, error: str = "", status_code: int = 200, nxt: str = "/ui") -> HTMLResponse:
        page = self.login_page.replace("{{error}}", html.escape(error)).replace("{{next}}", html.escape(nxt))
        return HTMLResponse(page, status_code=status_code)

    async def _login(self, method: str, receive: Receive) -> Response:
        if method == "GET":
            return self._page()
        if method != "POST":
            return Response(status_code=405)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > MAX_LOGIN_BODY:
                return self._page("The form was too large.", 413)
            if not message.get("more_body"):
                break
        form = parse_qs(body.decode("utf-8", "replace"))
        typed = (form.get("token") or [""])[0].strip()
        nxt = (form.get("next") or ["/ui"])[0]
        if not _local_page(nxt):
            nxt = "/ui"
        if not typed or not typed.isascii() or not token_matches(f"Bearer {typed}".encode("ascii"), self.token):
            return self._page("Wrong token: use the API token (api.token / ROHE_API__TOKEN).", 401, nxt)
        response = RedirectResponse(nxt, status_code=303)
        response.set_cookie(COOKIE, self.session, httponly=True, samesite="strict", path="/")
        return response
