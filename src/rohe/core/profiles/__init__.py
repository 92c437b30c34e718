"""Model profiles per model x node type, a catalog with dense arrays, and importers for ROHE's data."""

from rohe.core.profiles.catalog import Metric, ProfileCatalog
from rohe.core.profiles.csv_format import dumps_catalog, load_catalog, loads_catalog, save_catalog
from rohe.core.profiles.iot_journal import load_iot_journal
from rohe.core.profiles.model import ModelProfile
from rohe.core.profiles.rohe_features import (
    COST_SCALE,
    ModelQuality,
    catalog_from_rohe_features,
    load_rohe_features,
)
from rohe.core.profiles.ucc2024 import load_ucc2024, ucc2024_class_names, ucc2024_quality, ucc2024_throughput

__all__ = [
    "COST_SCALE",
    "Metric",
    "ModelProfile",
    "ModelQuality",
    "ProfileCatalog",
    "catalog_from_rohe_features",
    "dumps_catalog",
    "load_catalog",
    "load_iot_journal",
    "load_rohe_features",
    "load_ucc2024",
    "loads_catalog",
    "save_catalog",
    "ucc2024_class_names",
    "ucc2024_quality",
    "ucc2024_throughput",
]
