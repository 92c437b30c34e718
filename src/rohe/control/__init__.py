"""The adaptation controller (docs/adaptation.md): observed windows and violations in, platform actions out.

`Controller.reconcile()` is one level-triggered pass; actions live behind `ControlAction` + a registry
(`rohe.control.actions`), predictions behind `RemedyPredictor` (`rohe.control.predictor`), guard rails in
`rohe.control.guard`, and every decision is a stored `DecisionRecord` (`rohe.control.records`).
"""

from rohe.control.actions import Actuator, ControlAction, actions, get_action, register
from rohe.control.actuator import GatewayPolicy, PlatformActuator, observed_cores
from rohe.control.controller import Controller, ControlSettings
from rohe.control.guard import Guard, GuardSettings
from rohe.control.predictor import QueueingPredictor, RemedyPredictor
from rohe.control.records import ControlState, DecisionRecord, Override, Prediction, Remedy

__all__ = [
    "Actuator",
    "ControlAction",
    "ControlSettings",
    "ControlState",
    "Controller",
    "DecisionRecord",
    "GatewayPolicy",
    "Guard",
    "GuardSettings",
    "Override",
    "PlatformActuator",
    "Prediction",
    "QueueingPredictor",
    "Remedy",
    "RemedyPredictor",
    "actions",
    "get_action",
    "observed_cores",
    "register",
]
