"""Bearer-token guard for mutating routes, and the bind rule: loopback unless a token is set."""

from __future__ import annotations

import ipaddress
import secrets

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rohe.core.errors import InvalidInput, Problem

_bearer = HTTPBearer(auto_error=False)


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


def require_token(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    token: str | None = request.app.state.token
    if token is None:
        return
    if credentials is None or not secrets.compare_digest(credentials.credentials, token):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="this route needs 'Authorization: Bearer <api.token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
