"""Everything contract evaluation needs from an observation agent's config, built in one call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rohe.core.profiles.catalog import ProfileCatalog
from rohe.observation.agent.config import AgentConfig
from rohe.observation.evaluation.actions import ActionDispatcher
from rohe.observation.evaluation.cdm import WindowFunction, contract_window_functions
from rohe.observation.evaluation.evaluator import ContractEvaluator, ViolationSink, load_contracts


@dataclass(frozen=True)
class Evaluation:
    evaluator: ContractEvaluator  # the agent's window listener
    window_functions: dict[str, WindowFunction]  # add to the agent's window functions (CDM values)
    actions: ActionDispatcher | None  # close() it when the agent stops


def evaluation_for(config: AgentConfig, sink: ViolationSink | None, *, profiles: ProfileCatalog | None = None,
                   capacity: Mapping[str, float] | None = None, token: str | None = None) -> Evaluation:
    """Contracts from `config.contracts`, actions from `config.actions`, windows of the first configured kind."""
    contracts = load_contracts(config.contracts)
    actions = None
    if config.actions.webhook_url or config.actions.gateway_url:
        actions = ActionDispatcher(webhook_url=config.actions.webhook_url, gateway_url=config.actions.gateway_url,
                                   token=token)
    evaluator = ContractEvaluator(contracts, sink, profiles, actions, capacity=capacity,
                                  window_kind=config.windows[0].kind)
    return Evaluation(evaluator, contract_window_functions(contracts.values()), actions)
