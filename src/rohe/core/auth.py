"""The API token: what a valid one looks like, the bind rule, and the guard every rohe HTTP app installs.

Semantics (one rule for the platform API and the serving gateway): with no token configured the app binds to
loopback only and every route is open to local callers; with a token configured EVERY route but the open ones
(`/health` by default) needs `Authorization: Bearer <token>`, reads included, because reads return registered
apps, services and agent state. The guard is ASGI middleware, not a per-route dependency, so a route added
later cannot be forgotten, and /docs and /openapi.json are covered too.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Collection

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from rohe.core.errors import InvalidInput, Problem

MIN_TOKEN_LENGTH = 16
OPEN_PATHS: frozenset[str] = frozenset({"/health"})
TOKEN_HINT = "set api.token (ROHE_API__TOKEN) to at least 16 printable characters without spaces, e.g. " \
    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"


def token_problem(token: str) -> str | None:
    """Why `token` cannot be an API token, or None when it can. A token must survive an HTTP header unchanged
    (printable ASCII, no whitespace) and be long enough not to be guessed."""
    if not token.strip():
        return "is blank"
    if any(c.isspace() for c in token):
        return "contains whitespace"
    if not all(33 <= ord(c) <= 126 for c in token):
        return "contains characters other than printable ASCII"
    if len(token) < MIN_TOKEN_LENGTH:
        return f"has {len(token)} characters; at least {MIN_TOKEN_LENGTH} are needed"
    return None


def validate_token(token: str | None, setting: str = "api.token") -> str | None:
    """`token` unchanged when usable (or None: no token); InvalidInput naming `setting` otherwise."""
    if token is None:
        return None
    problem = token_problem(token)
    if problem is not None:
        raise InvalidInput("unusable API token", [Problem(setting, problem, TOKEN_HINT)])
    return token


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to expose an unauthenticated API beyond this machine."""
    if not is_loopback(host) and not token:
        raise InvalidInput(
            f"refusing to listen on {host} without a token",
            [
                Problem(
                    "api.host",
                    "binding beyond loopback needs authentication",
                    "set api.token (ROHE_API__TOKEN) or bind to 127.0.0.1",
                )
            ],
        )


def presented_token(authorization: bytes | None) -> bytes | None:
    """The credentials of an `Authorization: Bearer <credentials>` header value, or None."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    return credentials.strip() or None


def token_matches(authorization: bytes | None, token: str) -> bool:
    presented = presented_token(authorization)
    # Bytes, so a non-ASCII header cannot make the comparison raise; constant time, so timing leaks nothing.
    return presented is not None and hmac.compare_digest(presented, token.encode("ascii"))


class TokenGuard:
    """ASGI middleware: 401 for every HTTP request outside `open_paths` without the right bearer token."""

    def __init__(self, app: ASGIApp, token: str, open_paths: Collection[str] = OPEN_PATHS) -> None:
        self.app = app
        self.token = token
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        authorization = dict(scope.get("headers") or []).get(b"authorization")
        if token_matches(authorization, self.token):
            await self.app(scope, receive, send)
            return
        problems = [{"location": "Authorization", "message": "missing or wrong bearer token",
                     "hint": "send 'Authorization: Bearer <api.token>'"}]
        response = JSONResponse(
            status_code=401,
            content={"error": "Unauthorized", "message": "this route needs the API token",
                     "problems": problems, "detail": problems},
            headers={"WWW-Authenticate": "Bearer"},
        )
        await response(scope, receive, send)


def protect(app: Starlette, token: str | None, open_paths: Collection[str] = OPEN_PATHS) -> None:
    """Put `app` behind the token guard when a token is set (validated here too, so no caller can skip it)."""
    checked = validate_token(token)
    if checked is not None:
        app.add_middleware(TokenGuard, token=checked, open_paths=open_paths)
