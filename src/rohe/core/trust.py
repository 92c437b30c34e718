"""What an untrusted API request may name: code, files, secrets and outbound URLs (docs/security.md).

The operator (the server's config file, the local CLI, installed entry points) is trusted; request bodies and
query strings are not. A request may therefore name
- code only by a built-in or entry-point name, or a dotted path the operator listed in `api.plugins`;
- files only inside the data dir (resolved, symlinks followed), and their contents never appear in errors;
- an environment variable only when `api.secrets` lists it, and only with a URL its entry allows;
- a URL to call (webhook, gateway, LLM) only under a prefix in `api.outbound_urls`.
Each refusal is an InvalidInput (422) naming the field and what the operator must add.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from rohe.core.errors import InvalidInput, Problem

_DEFAULT_PORTS = {"http": 80, "https": 443, "mqtt": 1883, "mqtts": 8883, "amqp": 5672, "amqps": 5671,
                  "nats": 4222, "tls": 4222, "ws": 80, "wss": 443}


def url_prefix_problem(prefix: str) -> None:
    """ValueError unless `prefix` is `scheme://host[:port][/path]` (config validation)."""
    try:
        parts = urlsplit(prefix)
        parts.port  # noqa: B018 - parsing the port validates it
    except ValueError as exc:
        raise ValueError(f"{prefix!r} is not a URL: {exc}") from None
    if not parts.scheme or not parts.hostname:
        raise ValueError(f"{prefix!r} is not a URL prefix like https://host[:port][/path]")
    if "@" in parts.netloc:
        raise ValueError(f"{prefix!r} carries credentials; list the host only")


def _origin_and_path(url: str) -> tuple[tuple[str, str, int | None], str] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    path = posixpath.normpath(parts.path) if parts.path else "/"
    return (scheme, parts.hostname.lower(), port or _DEFAULT_PORTS.get(scheme)), path.rstrip("/")


def url_allowed(url: str, prefixes: Iterable[str]) -> bool:
    """Same scheme, host and port as a prefix, and a path at or below its path (so `https://a.io` does not
    allow `https://a.io.evil.net`, and `https://a.io/v1` does not allow `https://a.io/v10`)."""
    wanted = _origin_and_path(url)
    if wanted is None:
        return False
    for prefix in prefixes:
        allowed = _origin_and_path(prefix)
        if allowed is None or allowed[0] != wanted[0]:
            continue
        if wanted[1] == allowed[1] or wanted[1].startswith(allowed[1] + "/"):
            return True
    return False


@dataclass(frozen=True)
class RequestPolicy:
    """The operator's allow-lists, applied to what one request names."""

    data_dir: Path
    plugins: frozenset[str] = frozenset()
    secrets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    outbound_urls: tuple[str, ...] = ()

    def plugin(self, reference: str, setting: str, known: Collection[str]) -> None:
        if reference in known or reference in self.plugins:
            return
        raise InvalidInput("a request may not choose code", [Problem(
            setting,
            f"'{reference}' is not a built-in or installed entry-point name and is not listed in api.plugins",
            f"use one of: {', '.join(sorted(known)) or '(none installed)'}; or ask the operator to install it as "
            "an entry point or add it to api.plugins in the server config")])

    def outbound(self, url: str, setting: str) -> None:
        if url_allowed(url, self.outbound_urls):
            return
        raise InvalidInput("a request may not choose where the server sends data", [Problem(
            setting, f"{_origin(url)} is not under an allowed URL prefix",
            "ask the operator to add its prefix to api.outbound_urls in the server config")])

    def secret(self, env: str, url: str | None, setting: str) -> None:
        """`env`'s value may go to `url` (None: nowhere outside this process)."""
        prefixes = self.secrets.get(env)
        if prefixes is None:
            raise InvalidInput("a request may not choose which server secret is used", [Problem(
                setting, f"environment variable '{env}' is not listed in api.secrets",
                "ask the operator to list it in api.secrets with the URLs it may be sent to")])
        if url is not None and not url_allowed(url, prefixes):
            raise InvalidInput("a request may not send a server secret to a URL of its choosing", [Problem(
                setting, f"'{env}' may not be sent to {_origin(url)}",
                f"use a URL under one of its api.secrets prefixes: {', '.join(prefixes) or '(none)'}")])

    def file(self, path: Path | str, setting: str) -> Path:
        """`path` (relative ones are taken from the data dir) resolved, if it lies inside the data dir."""
        root = self.data_dir.resolve()
        candidate = Path(path)
        try:
            resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
        except (OSError, ValueError):  # a NUL byte, a symlink loop: no file a request may name
            resolved = None
        if resolved is None or not resolved.is_relative_to(root):
            raise InvalidInput("a request may only name files inside the server's data dir", [Problem(
                setting, f"'{path}' is outside the data dir",
                "put the file in the server's data dir and give its path relative to it")])
        return resolved


def _origin(url: str) -> str:
    """The URL without user part, path and query: enough to say where, nothing secret."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "an invalid URL"
    return f"{parts.scheme}://{host}{port}" if parts.scheme else "an invalid URL"
