"""Control routes: the adaptation controller's decision records and status, and the operator's override
(pause/resume, pin/unpin). The controller itself runs in `rohe control run`; these read and steer its state."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from rohe.control.records import ControlState, DecisionRecord, Override
from rohe.platform import Platform

router = APIRouter(prefix="/control", tags=["control"])

Run = Query(default="default", min_length=1, max_length=63)


class PauseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=500)


class PinBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str = Field(min_length=1, max_length=253, description="a service or consumer name")


def _state(app: str, run: str, request: Request) -> ControlState:
    platform: Platform = request.app.state.platform
    return ControlState(platform.store, app, run)


def state(request: Request, app: str, run: str = Run) -> ControlState:
    return _state(app, run, request)


@router.get("/{app}/decisions")
def decisions(
    control: ControlState = Depends(state),
    consumer: str | None = Query(default=None),
    limit: int | None = Query(default=None, ge=1, le=500),
) -> list[DecisionRecord]:
    """Decision records, oldest first: trigger, evidence, action, prediction, effect observed one window later."""
    return control.decisions(consumer, limit)


@router.get("/{app}/status")
def status(control: ControlState = Depends(state)) -> dict[str, Any]:
    return control.status()


@router.post("/{app}/pause")
def pause(body: PauseBody | None = None, control: ControlState = Depends(state)) -> Override:
    return control.pause(True, body.note if body else "")


@router.post("/{app}/resume")
def resume(control: ControlState = Depends(state)) -> Override:
    return control.pause(False)


@router.post("/{app}/pin")
def pin(body: PinBody, control: ControlState = Depends(state)) -> Override:
    return control.pin(body.target, True)


@router.post("/{app}/unpin")
def unpin(body: PinBody, control: ControlState = Depends(state)) -> Override:
    return control.pin(body.target, False)
