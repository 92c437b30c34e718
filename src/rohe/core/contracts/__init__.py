"""Consumer contracts: typed objectives and constraints over ensemble metrics, and their loaders."""

from rohe.core.contracts.loaders import (
    contract_from_rohe_application,
    contract_from_rohe_selection,
    load_contract,
    parse_application_slo,
    parse_contract,
    rohe_metric_kind,
)
from rohe.core.contracts.miss_rate import miss_rate_definition, miss_rate_name
from rohe.core.contracts.model import (
    DEFAULT_AGGREGATION,
    Aggregation,
    Constraint,
    ConsumerContract,
    Direction,
    EnsembleSize,
    MetricKind,
    Objective,
    Scale,
)
from rohe.core.contracts.slo import (
    ApplicationSLO,
    CDMDefinition,
    Comparison,
    PerformanceSLO,
    QualitySLO,
    SLOClause,
    ViolationAction,
    window_seconds,
)

__all__ = [
    "DEFAULT_AGGREGATION",
    "Aggregation",
    "ApplicationSLO",
    "CDMDefinition",
    "Comparison",
    "Constraint",
    "ConsumerContract",
    "Direction",
    "EnsembleSize",
    "MetricKind",
    "Objective",
    "PerformanceSLO",
    "QualitySLO",
    "SLOClause",
    "Scale",
    "ViolationAction",
    "contract_from_rohe_application",
    "contract_from_rohe_selection",
    "load_contract",
    "miss_rate_definition",
    "miss_rate_name",
    "parse_application_slo",
    "parse_contract",
    "rohe_metric_kind",
    "window_seconds",
]
