"""Model-service SDK: wrap any Python predict function as an HTTP service with /predict, /health, /profile."""

from rohe.serving.model_service.app import ReplicaCapacity, create_model_app
from rohe.serving.model_service.onnx import from_onnx
from rohe.serving.model_service.predictor import Predictor, from_callable, from_sklearn
from rohe.serving.model_service.schema import Prediction, PredictRequest, PredictResponse

__all__ = [
    "PredictRequest",
    "PredictResponse",
    "Prediction",
    "Predictor",
    "ReplicaCapacity",
    "create_model_app",
    "from_callable",
    "from_onnx",
    "from_sklearn",
]
