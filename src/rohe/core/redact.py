"""Secret redaction for everything rohe returns or logs: URLs with credentials, secret-looking settings.

A value is secret when it sits in a URL's user part (`amqp://user:pw@h`, and NATS's `nats://TOKEN@h`, where
the token is the user name), in a query parameter whose name looks secret (`?password=`, `?token=`), or in an
environment variable whose NAME looks secret (DB_PASSWORD, API_KEY, ...). Redaction keeps the shape, so an
operator still sees which host and which variable, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "<redacted>"
SECRET_NAME = re.compile(r"pass|pwd|secret|token|key|cred|auth|private|signature|session|cookie", re.IGNORECASE)
_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"]+")


def is_secret_name(name: str) -> bool:
    return SECRET_NAME.search(name) is not None


def url_secrets(url: str) -> list[str]:
    """Where `url` carries a secret ('user part', 'query parameter password', ...); empty when it carries none."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = []
    if "@" in parts.netloc:
        found.append("user part (user name, password or token before '@')")
    found += [f"query parameter '{name}'" for name, _ in parse_qsl(parts.query, keep_blank_values=True)
              if is_secret_name(name)]
    return found


def redact_url(url: str) -> str:
    """`url` with its user part and secret-named query values replaced by <redacted>."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, REDACTED if is_secret_name(k) else v) for k, v in pairs], safe="<>")
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def redact_text(text: str) -> str:
    """Every URL inside `text` redacted (for log lines and error messages that quote a URL)."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


def redact_env(env: Mapping[str, str]) -> dict[str, str]:
    """Values of secret-looking names redacted; URLs in the other values lose their credentials."""
    return {name: REDACTED if is_secret_name(name) else redact_text(value) for name, value in env.items()}


def redact_document(value: Any) -> Any:
    """A JSON-like document with secret-named keys' values redacted and URLs in its strings stripped of their
    credentials (for documents a client sent that the API shows again, e.g. a site's events)."""
    if isinstance(value, Mapping):
        return {key: REDACTED if isinstance(key, str) and is_secret_name(key) else redact_document(item)
                for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_document(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
