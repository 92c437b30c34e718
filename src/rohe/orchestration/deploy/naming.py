"""Turning rohe names into names Kubernetes accepts, without losing the way back.

rohe allows `_` and upper case in node and service names; Kubernetes object names are DNS labels and label
values have their own alphabet. Every conversion here is deterministic, so re-planning the same input yields
the same object names and server-side apply updates objects in place instead of creating new ones.
"""

from __future__ import annotations

import hashlib
import re

DNS_LABEL_MAX = 63
LABEL_VALUE_MAX = 63

# RFC 1035 label: what Service names require; also fine for every other object kind rohe writes.
DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")


def _digest(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def _shorten(candidate: str, original: str, limit: int) -> str:
    """Cut to `limit`, keeping names unique by ending them with a hash of the full original."""
    if len(candidate) <= limit:
        return candidate
    suffix = _digest(original)
    head = candidate[: limit - len(suffix) - 1].rstrip("-_.")
    return f"{head}-{suffix}"


def dns_label(*parts: str) -> str:
    """A DNS-1035 label from one or more rohe names: `bts_inference_service` -> `bts-inference-service`."""
    original = "-".join(parts)
    text = re.sub(r"[^a-z0-9]+", "-", original.lower()).strip("-")
    if not text:
        text = "x-" + _digest(original)
    elif not text[0].isalpha():
        # Service names must start with a letter; a digit-first rohe name gets a fixed prefix.
        text = "r-" + text
    return _shorten(text, original, DNS_LABEL_MAX)


def label_value(text: str) -> str:
    """A valid label value for any text; unchanged when the text already is one."""
    if LABEL_VALUE.match(text):
        return text
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-_.")
    if not cleaned:
        return "x-" + _digest(text)
    return _shorten(cleaned, text, LABEL_VALUE_MAX).strip("-_.")


def hostname_for(node: str) -> str | None:
    """The `kubernetes.io/hostname` label the kubelet gives this node, or None if no node can carry it.

    The kubelet registers the lower-cased hostname, so a rohe node named `Edge01` matches cluster node `edge01`.
    """
    value = node.lower()
    return value if LABEL_VALUE.match(value) else None
