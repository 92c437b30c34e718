"""Vetting what an API request names before any service acts on it (the rules are in rohe.core.trust).

Request bodies and query strings are untrusted: here every plug-in name, file, secret name and outbound URL
they carry is checked against the operator's allow-lists (api.plugins, api.secrets, api.outbound_urls) and the
data dir. The local CLI and the server config go straight to the services: they are the operator.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from rohe.core.config import Settings, TransportKind
from rohe.core.errors import InvalidInput, Problem, RoheError
from rohe.core.trust import RequestPolicy
from rohe.observation.agent.config import AgentConfig, agent_config_from_dict
from rohe.observation.agent.plugins import PARSER_GROUP, WINDOW_FUNCTION_GROUP
from rohe.observation.registration import DEFAULT_BROKER_URLS, AppRegistration
from rohe.orchestration.placement import available_algorithms

log = logging.getLogger(__name__)


def request_policy(settings: Settings) -> RequestPolicy:
    """The allow-lists of `settings`; the observation broker and secret of the server config are allowed too."""
    secrets = {name: tuple(urls) for name, urls in settings.api.secrets.items()}
    observation = settings.observation
    if observation.credentials_env:
        own = observation.broker_url or DEFAULT_BROKER_URLS[observation.transport]
        secrets[observation.credentials_env] = (*secrets.get(observation.credentials_env, ()),
                                                *([own] if own else []))
    return RequestPolicy(
        data_dir=settings.data_dir,
        plugins=frozenset(settings.api.plugins),
        secrets=secrets,
        outbound_urls=tuple(settings.api.outbound_urls),
    )


def vet_algorithm(policy: RequestPolicy, algorithm: str | None) -> None:
    """A placement algorithm named in a query: built-in, entry point or listed in api.plugins."""
    if algorithm is not None:
        policy.plugin(algorithm, "algorithm", available_algorithms())


def vet_registration(
    policy: RequestPolicy, settings: Settings, transport: TransportKind | None, broker_url: str | None,
    credentials_env: str | None,
) -> None:
    """The secret a registration's probes and agent would send, and where (the service's own defaulting)."""
    observation = settings.observation
    kind = transport or observation.transport
    env = credentials_env if credentials_env is not None else observation.credentials_env
    if not env:
        return
    url = broker_url
    if url is None:
        url = observation.broker_url if kind == observation.transport else None
        url = url or DEFAULT_BROKER_URLS[kind]
    policy.secret(env, url, "credentials_env" if credentials_env is not None else "broker_url")


def parse_agent_request(app: str, document: Mapping[str, Any]) -> AgentConfig:
    return agent_config_from_dict({"app": app, **dict(document)}, "agent config")


def vet_agent_config(policy: RequestPolicy, config: AgentConfig, registration: AppRegistration) -> AgentConfig:
    """The agent config a request sent, checked; its file paths come back resolved in the data dir."""
    if config.parser is not None:
        policy.plugin(config.parser, "parser", _entry_point_names(PARSER_GROUP))
    for name, reference in config.window_functions.items():
        policy.plugin(reference, f"window_functions.{name}", _entry_point_names(WINDOW_FUNCTION_GROUP))
    _vet_transport(policy, config, registration)
    actions = config.actions
    for setting, url in (("actions.webhook_url", actions.webhook_url), ("actions.gateway_url", actions.gateway_url)):
        if url is not None:
            policy.outbound(url, setting)
    if actions.gateway_token_env is not None:
        policy.secret(actions.gateway_token_env, actions.gateway_url, "actions.gateway_token_env")
    update: dict[str, Any] = {}
    if config.contracts:
        update["contracts"] = [_readable(policy, path, f"contracts[{i}]", _load_contract)
                               for i, path in enumerate(config.contracts)]
    quality = config.quality
    if quality is not None:
        if quality.llm is not None:
            policy.outbound(quality.llm.base_url, "quality.llm.base_url")
            # The default key variable counts only when it exists: then its value would be sent.
            if "api_key_env" in quality.llm.model_fields_set or os.environ.get(quality.llm.api_key_env):
                policy.secret(quality.llm.api_key_env, quality.llm.base_url, "quality.llm.api_key_env")
        if isinstance(quality.rules, Path):
            rules = _readable(policy, quality.rules, "quality.rules", _load_rules)
            update["quality"] = quality.model_copy(update={"rules": rules})
    return config.model_copy(update=update) if update else config


def _vet_transport(policy: RequestPolicy, config: AgentConfig, registration: AppRegistration) -> None:
    # Without a transport section the service uses the registration's; either way the registration's secret
    # (credentials_env) is put into the URL the agent connects to, so that URL must be one the secret may reach.
    given = "transport" in config.model_fields_set
    url = config.transport.resolved_url() if given else registration.probe.transport.url
    if config.transport.credentials_env is not None:
        policy.secret(config.transport.credentials_env, url, "transport.credentials_env")
    if registration.probe.credentials_env:
        policy.secret(registration.probe.credentials_env, url, "transport.url")


def _readable(policy: RequestPolicy, path: Path, setting: str, load: Any) -> Path:
    """`path` confined to the data dir and loaded once, so a bad file is refused here with a message that
    names the field but never quotes the file: its parse errors could echo any line of it."""
    resolved = policy.file(path, setting)
    try:
        load(resolved)
    except RoheError as exc:
        log.info("request named an unusable file for %s: %s", setting, exc)
        raise InvalidInput("a file named by the request cannot be used", [Problem(
            setting, f"'{path}' is missing, unreadable or not in the expected format",
            "check the file in the server's data dir; the server log has the details")]) from None
    return resolved


def _load_contract(path: Path) -> None:
    from rohe.observation.evaluation.evaluator import load_contracts

    load_contracts([path])


def _load_rules(path: Path) -> None:
    from rohe.quality.rules import load_rules

    load_rules(path)


def _entry_point_names(group: str) -> list[str]:
    return [ep.name for ep in entry_points(group=group)]
