"""Contract evaluation: clauses from consumer contracts, checked over windows, explained, and acted upon.

`rohe.observation.evaluation.wiring.evaluation_for(agent_config, sink)` builds it all from an agent config; it is
not re-exported here so that the agent package may import this one without an import cycle.
"""

from rohe.observation.evaluation.actions import ActionDispatcher, ActionOutcome
from rohe.observation.evaluation.cdm import (
    WindowFunction,
    cdm_window_function,
    compile_definition,
    contract_window_functions,
    metric_window_function,
    report_rows,
)
from rohe.observation.evaluation.clauses import Clause, Family, MetricRef, builtin_metric, clauses_for, known_metrics
from rohe.observation.evaluation.evaluator import ContractEvaluator, ViolationSink, load_contracts
from rohe.observation.evaluation.explain import explain, profiled_accuracy
from rohe.observation.evaluation.span import combine_windows, mixture_quantile, select_span

__all__ = [
    "ActionDispatcher",
    "ActionOutcome",
    "Clause",
    "ContractEvaluator",
    "Family",
    "MetricRef",
    "ViolationSink",
    "WindowFunction",
    "builtin_metric",
    "cdm_window_function",
    "clauses_for",
    "combine_windows",
    "compile_definition",
    "contract_window_functions",
    "explain",
    "known_metrics",
    "load_contracts",
    "metric_window_function",
    "mixture_quantile",
    "profiled_accuracy",
    "report_rows",
    "select_span",
]
