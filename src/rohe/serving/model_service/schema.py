"""Wire format of a model service: what /predict takes and returns."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class PredictRequest(BaseModel):
    """One input (`input`) or a batch (`inputs`); each input is a flat list of numbers."""

    model_config = ConfigDict(extra="forbid")

    request_id: str | None = None
    input: list[float] | None = None
    inputs: list[list[float]] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> PredictRequest:
        if (self.input is None) == (self.inputs is None):
            raise ValueError("give exactly one of `input` (one sample) or `inputs` (a batch)")
        if self.inputs is not None and not self.inputs:
            raise ValueError("`inputs` must hold at least one sample")
        return self

    def batch(self) -> list[list[float]]:
        return self.inputs if self.inputs is not None else [self.input or []]


class Prediction(BaseModel):
    probabilities: list[float]
    predicted_class: int
    confidence: float = Field(ge=0, le=1)


class PredictResponse(BaseModel):
    model: str
    request_id: str | None = None
    predictions: list[Prediction]
    inference_ms: float
