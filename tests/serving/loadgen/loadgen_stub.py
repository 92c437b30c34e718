"""A stand-in gateway speaking the /infer and /feedback wire format, served by uvicorn in a thread.

It predicts the class written in the input's first number, except for class 3, which it always gets wrong,
so the exact accuracy a run must report is known from the labels alone. Consumer `slow` answers after
STUB_SLOW_S, consumer `broken` gets a 503 error body, an unknown consumer a 422.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

STUB_SLOW_S = 0.3
STUB_DELAY_S = 0.02
WRONG_CLASS = 3
CONSUMERS = {"alpha", "beta", "slow", "broken"}


def stub_app() -> tuple[FastAPI, dict[str, Any]]:
    app = FastAPI()
    seen: dict[str, Any] = {"infer": [], "feedback": []}

    @app.post("/infer")
    async def infer(body: dict[str, Any]) -> Any:
        seen["infer"].append({**body, "received": time.monotonic()})
        consumer = body["consumer"]
        if consumer not in CONSUMERS:
            return JSONResponse(status_code=422, content={"detail": [{"location": "consumer", "message": "unknown"}]})
        await asyncio.sleep(STUB_SLOW_S if consumer == "slow" else STUB_DELAY_S)
        algorithm = body.get("algorithm") or "adaptive"
        common = {
            "request_id": body["request_id"],
            "consumer": consumer,
            "algorithm": algorithm,
            "deadline_ms": body.get("deadline_ms") or 200.0,
            "timings_ms": {"total": 1.0},
        }
        if consumer == "broken":
            return JSONResponse(
                status_code=503,
                content={
                    **common,
                    "status": "error",
                    "predicted_class": None,
                    "error": "no member answered",
                    "answered": [],
                    "late": [],
                    "failed": ["m1"],
                    "ensemble_size": 1,
                    "cost": 0.0,
                    "deadline_missed": False,
                },
            )
        label = int(body["input"][0])
        predicted = (label + 1) % 10 if label == WRONG_CLASS else label
        size = 2 if algorithm == "all-models" else 1
        return {
            **common,
            "status": "partial" if algorithm == "partial" else "ok",
            "predicted_class": predicted,
            "confidence": 0.9,
            "answered": ["m1", "m2"][:size],
            "late": [],
            "failed": [],
            "phases": 1,
            "ensemble_size": size,
            "cost": 0.001 * size,
            "deadline_missed": False,
            "error": None,
        }

    @app.post("/feedback")
    async def feedback(body: dict[str, Any]) -> Any:
        seen["feedback"].append(body)
        return {"recorded": True}

    return app, seen


@contextmanager
def serve_stub() -> Iterator[tuple[str, dict[str, Any]]]:
    app, seen = stub_app()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", access_log=False, timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    give_up = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > give_up:
            raise RuntimeError("stub gateway did not start")
        time.sleep(0.01)
    try:
        yield url, seen
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
