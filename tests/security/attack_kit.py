"""What the attack tests share: the token, its header, a minimal agent config, the client factory's type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

TOKEN = "attack-tests-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
AGENT: dict[str, Any] = {"windows": [{"size_s": 1}], "allowed_lateness_s": 0, "idle_close_s": None}

MakeClient = Callable[..., TestClient]
