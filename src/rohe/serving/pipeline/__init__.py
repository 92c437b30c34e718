"""Pipeline specs (stages, modalities, fusion), per-modality budgets, preprocessing and plan execution."""

from rohe.serving.pipeline.budgets import ModalityNeed, modality_budgets, need_from_latencies, share_weights
from rohe.serving.pipeline.execution import ModalityResult, execute_plan, phase0_deadline
from rohe.serving.pipeline.preprocessing import Preprocess, resolve_preprocessors, run_preprocessing
from rohe.serving.pipeline.spec import (
    DEFAULT_MODALITY,
    GATEWAY_EXECUTOR,
    INFERENCE_STAGE,
    Modality,
    PipelineSpec,
    Stage,
    load_pipeline,
    parse_pipeline,
)

__all__ = [
    "DEFAULT_MODALITY",
    "GATEWAY_EXECUTOR",
    "INFERENCE_STAGE",
    "Modality",
    "ModalityNeed",
    "ModalityResult",
    "PipelineSpec",
    "Preprocess",
    "Stage",
    "execute_plan",
    "load_pipeline",
    "modality_budgets",
    "need_from_latencies",
    "parse_pipeline",
    "phase0_deadline",
    "resolve_preprocessors",
    "run_preprocessing",
    "share_weights",
]
