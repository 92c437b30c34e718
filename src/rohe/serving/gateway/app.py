"""The serving gateway's HTTP face (docs/serving-gateway.md): /infer, /feedback, /health, /algorithms,
/consumers, /stats, /endpoints (members, and the placement follower's state) and
/consumers/{consumer}/policy (observation actions). With a token set, every route but /health needs it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from rohe import __version__
from rohe.core.auth import protect
from rohe.core.errors import RoheError
from rohe.core.web import add_offline_docs
from rohe.serving.gateway.endpoints_watch import EndpointFollower
from rohe.serving.gateway.schema import (
    FeedbackRequest,
    InferRequest,
    InferResponse,
    PolicyRequest,
    PolicyState,
    StatsResponse,
)
from rohe.serving.gateway.service import ServingGateway


def _problem_body(exc: RoheError) -> dict[str, Any]:
    body = exc.to_dict()
    # `detail` like FastAPI's own validation errors, so clients read one key whatever rejected the request.
    return {**body, "detail": body["problems"]}


def create_gateway_app(
    gateway: ServingGateway, token: str | None = None, follower: EndpointFollower | None = None
) -> FastAPI:
    """The app serves `gateway`. On shutdown it closes the gateway's pooled connections, which belong to the
    server's event loop; the gateway stays usable and opens a new pool on its next request. With `follower`,
    the gateway follows the placements while the server runs (endpoints_watch.py)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if follower is not None:
            follower.start()
        try:
            yield
        finally:
            if follower is not None:
                await follower.stop()
            await gateway.aclose()

    app = FastAPI(
        lifespan=lifespan,
        title=f"rohe serving gateway: {gateway.app}",
        version=__version__,
        description="Per-request ensemble scheduling over the pipeline's model services.",
        docs_url=None,  # served from the package by add_offline_docs: the default page needs a CDN
        redoc_url=None,
    )
    add_offline_docs(app, f"rohe serving gateway: {gateway.app}")
    app.state.gateway = gateway
    # The platform API's rule: with a token set, every route but /health needs it (docs/security.md).
    protect(app, token)

    @app.exception_handler(RoheError)
    async def _rohe_error(_: Request, exc: RoheError) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content=_problem_body(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid_body(_: Request, exc: RequestValidationError) -> JSONResponse:
        gateway.record_rejected()  # a malformed body is a request that ended, with a 4xx
        problems = [
            {"location": ".".join(str(p) for p in e["loc"][1:]) or "body", "message": e["msg"], "hint": ""}
            for e in exc.errors()
        ]
        return JSONResponse(
            status_code=422,
            content={
                "error": "InvalidInput",
                "message": "invalid request body",
                "problems": problems,
                "detail": problems,
            },
        )

    # The hot path: the body is parsed and validated in one pydantic-core pass (no json.loads, no dependency
    # solving) and the answer is serialised once, without FastAPI re-validating it against response_model.
    # The schemas stay in the OpenAPI document; a bad body still gets the same 422 as everywhere else.
    @app.post(
        "/infer",
        response_model=InferResponse,
        responses={503: {"model": InferResponse}},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": InferRequest.model_json_schema()}},
            }
        },
    )
    async def infer(request: Request) -> Response:
        try:
            body = InferRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
        response = await gateway.infer(body)
        status = 503 if response.status == "error" else 200
        return Response(response.model_dump_json(), status_code=status, media_type="application/json")

    # async on purpose: feedback and policy then run on the event loop, like /infer, so the gateway's
    # bookkeeping is never touched from two threads at once.
    @app.post("/feedback")
    async def feedback(body: FeedbackRequest) -> dict[str, Any]:
        correct = gateway.feedback(body.request_id, body.true_class)
        return {"request_id": body.request_id, "true_class": body.true_class, "correct": correct}

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "application": gateway.app, "run": gateway.run}

    @app.get("/algorithms")
    def algorithms() -> dict[str, Any]:
        return {"default": gateway.default_algorithm, "algorithms": gateway.algorithms()}

    @app.get("/consumers")
    def consumers() -> list[dict[str, Any]]:
        rows = []
        for name in gateway.consumers():
            contract = gateway.contract(name)
            policy = gateway.policy(name)
            rows.append(
                {
                    "consumer": name,
                    "deadline_ms": contract.deadline_ms,
                    "ensemble": {"min": contract.ensemble.min, "max": contract.ensemble.max},
                    "algorithm": policy.algorithm,
                    "degrade": policy.degrade,
                    "modality_budgets": contract.modality_budgets,
                }
            )
        return rows

    @app.get("/endpoints")
    async def endpoints() -> dict[str, Any]:
        return {
            "members": [m.__dict__ for m in gateway.endpoints.members()],
            "version": gateway.endpoints.version,
            "follower": follower.status.as_dict() if follower is not None else None,
        }

    @app.get("/stats", response_model=StatsResponse)
    def stats() -> StatsResponse:
        return gateway.stats()

    @app.post("/consumers/{consumer}/policy", response_model=PolicyState)
    async def policy(consumer: str, body: PolicyRequest) -> PolicyState:
        return gateway.set_policy(consumer, body.algorithm, body.degrade, body.exclude)

    return app
