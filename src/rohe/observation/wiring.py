"""How the observation service builds an agent from its config: the contract evaluator as a window listener,
the contracts' derived metrics as window functions, and clock ticks that notice consumers gone silent."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from rohe.observation.agent import AgentConfig, ObservationAgent
from rohe.observation.metrics import WindowMetrics
from rohe.observation.store import ObservationStore
from rohe.observation.violations import Violation

SILENCE_MARGIN_S = 1.5  # the agent's clock tick plus delivery jitter, beyond a window's expected close

WindowListener = Callable[[WindowMetrics], None]


def default_listeners(config: AgentConfig, store: ObservationStore) -> list[WindowListener]:
    """The contract evaluator when the config lists contracts: it saves violations into `store` and acts on
    them (webhook alerts, gateway degrade/reroute) as the config's `actions` say."""
    if not config.contracts:
        return []
    # Imported here: evaluation pulls in the serving contracts, which agents without contracts never need.
    from rohe.observation.evaluation.wiring import evaluation_for

    token = os.environ.get(config.actions.gateway_token_env) if config.actions.gateway_token_env else None
    evaluator: WindowListener = evaluation_for(config, store, token=token).evaluator
    return [evaluator]


def default_agent(
    config: AgentConfig, store: ObservationStore, listeners: Sequence[WindowListener]
) -> ObservationAgent:
    functions = {}
    if config.contracts:
        # The contracts' derived metrics (cdm_definitions) are computed by the agent, per window, from the raw
        # reports; the evaluator then judges them like any other metric.
        from rohe.observation.evaluation import load_contracts
        from rohe.observation.evaluation.cdm import contract_window_functions

        functions = contract_window_functions(load_contracts(config.contracts).values())
    return ObservationAgent(config, store, listeners=listeners, window_functions=functions,
                            tickers=silence_tickers(config, listeners))


@runtime_checkable
class SilenceChecker(Protocol):
    """What the contract evaluator offers for consumers that stopped sending (see ContractEvaluator)."""

    def check_silence(self, now: datetime, after_s: float = ...) -> Sequence[Violation]: ...


def silence_after_s(config: AgentConfig) -> float:
    """How long after a consumer's last window it counts as silent. A sending consumer's next window closes
    one window length plus the allowed lateness after the last one ended; the margin covers the agent's clock
    tick (1 s) and delivery, so a healthy consumer is never flagged and a silent one is within about a window."""
    evaluated = config.windows[0]  # the evaluator judges windows of the first configured kind
    sizes = [w.size_s for w in config.windows if w.kind is evaluated.kind]
    return max(sizes) + config.allowed_lateness_s + SILENCE_MARGIN_S


class SilenceTicker:
    """Asks a silence checker, on every agent tick, which consumers went quiet for longer than `after_s`."""

    def __init__(self, checker: SilenceChecker, after_s: float) -> None:
        self.checker = checker
        self.after_s = after_s

    def __call__(self, now: datetime) -> None:
        self.checker.check_silence(now, self.after_s)


def silence_tickers(config: AgentConfig, listeners: Sequence[object]) -> list[SilenceTicker]:
    """A clock tick for every listener that can detect silent consumers (the contract evaluator): the agent
    emits no window for a consumer that sends nothing, so only the clock can tell that it stopped."""
    after_s = silence_after_s(config)
    return [SilenceTicker(listener, after_s) for listener in listeners if isinstance(listener, SilenceChecker)]
