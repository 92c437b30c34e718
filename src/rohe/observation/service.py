"""ObservationService: registers apps for observation and runs their agents in this process.

Which agents should run is stored (agent registry) so a restarted service resumes them; `close` stops the
threads but keeps that wish, `stop_agent` changes it. A retention loop purges old metric windows.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from rohe.core.config import ObservationSettings, TransportKind
from rohe.core.errors import InvalidInput, NotFound, Problem
from rohe.observation.agent import AgentConfig
from rohe.observation.agent.config import TransportConfig, agent_config_from_dict
from rohe.observation.agent.plugins import load_parser, load_window_functions
from rohe.observation.exporter import WindowExporter
from rohe.observation.metrics import WindowMetrics
from rohe.observation.registration import AppRegistration, build_registration, write_registration
from rohe.observation.reports import Report
from rohe.observation.store import RUNNING, STOPPED, ObservationStore
from rohe.observation.transports import url_with_credentials
from rohe.observation.violations import Violation
from rohe.observation.wiring import default_agent, default_listeners
from rohe.quality.diagnosis import Incident

log = logging.getLogger(__name__)

WindowListener = Callable[[WindowMetrics], None]


class RunningAgent(Protocol):
    """What the service needs of H4's ObservationAgent."""

    def start(self) -> None: ...
    def stop(self, timeout: float = 10.0) -> None: ...
    def ingest(self, reports: Sequence[Report]) -> None: ...
    @property
    def stats(self) -> Any: ...
    config: AgentConfig


AgentFactory = Callable[[AgentConfig, ObservationStore, Sequence[WindowListener]], RunningAgent]
ListenerFactory = Callable[[AgentConfig, ObservationStore], Sequence[WindowListener]]


class AgentStatus(BaseModel):
    app: str
    run: str
    desired: str
    running: bool = Field(description="started in this process and subscribed to its transport")
    state: str = Field(default="stopped", description="stopped | connecting | subscribed | reconnecting")
    detail: str | None = Field(default=None, description="why it is not subscribed: the last connection error")
    stats: dict[str, Any] = {}


class ObservationService:
    def __init__(
        self,
        store: ObservationStore,
        settings: ObservationSettings | None = None,
        *,
        agent_factory: AgentFactory | None = None,
        listener_factory: ListenerFactory | None = None,
        extra_listeners: Sequence[WindowListener] = (),
        exporter: WindowExporter | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or ObservationSettings()
        self._agent_factory = agent_factory or default_agent
        self._listener_factory = listener_factory or default_listeners
        # The Prometheus exporter of this process hears every agent's windows and reads its counters.
        self.exporter = exporter
        self.extra_listeners: list[WindowListener] = [*extra_listeners]
        if exporter is not None:
            self.extra_listeners.append(exporter)
        self._agents: dict[tuple[str, str], RunningAgent] = {}
        self._listeners_of: dict[tuple[str, str], list[WindowListener]] = {}
        self._lock = threading.RLock()
        self._purge_stop = threading.Event()
        self._purge_thread: threading.Thread | None = None

    # -- registration ------------------------------------------------------------------------------
    def register_app(
        self,
        app: str,
        run: str = "default",
        user: str = "default",
        url: str | None = None,
        output_dir: Path | None = None,
        *,
        transport: TransportKind | None = None,
        broker_url: str | None = None,
        credentials_env: str | None = None,
    ) -> AppRegistration:
        """Register (or update) an app run; the id stays the same on re-registration. With `output_dir`,
        also write <output_dir>/<app>-<run>.json for the app's probes."""
        folder = output_dir if output_dir is not None else self.settings.output_dir
        kind = transport or self.settings.transport
        registration = build_registration(
            app,
            run,
            user,
            url,
            transport=kind,
            # The configured broker is for the configured transport kind only.
            broker_url=broker_url if broker_url is not None or kind != self.settings.transport
            else self.settings.broker_url,
            credentials_env=credentials_env if credentials_env is not None else self.settings.credentials_env,
            output_dir=folder,
        )
        stored = self.store.save_app(registration)
        if folder is not None:
            write_registration(stored, folder)
        return stored

    def get_app(self, app: str, run: str = "default") -> AppRegistration:
        return self.store.get_app(app, run)

    def list_apps(self, app: str | None = None) -> list[AppRegistration]:
        return self.store.list_apps(app)

    def delete_app(self, app: str, run: str | None = None, keep_metrics: bool = True) -> list[AppRegistration]:
        """Unregister; its agents stop first. Metric windows and violations stay unless keep_metrics=False."""
        with self._lock:
            for key in [k for k in self._agents if k[0] == app and (run is None or k[1] == run)]:
                self._halt(key)
            return self.store.delete_app(app, run, keep_metrics)

    # -- agents --------------------------------------------------------------------------------------
    def start_agent(
        self, app: str, config: AgentConfig | Mapping[str, Any], *, launch: bool = True
    ) -> AgentStatus:
        """Validate `config`, record that its agent should run, and (with `launch`) start it in this process.

        The app run must be registered. Without a `transport` section the registration's probe transport is used.
        A running agent of the same app run is replaced. `launch=False` only records the wish (embedded CLI);
        a running service starts it on `resume`.
        """
        parsed = self._parse_config(app, config)
        registration = self.store.get_app(parsed.app, parsed.run)
        if "transport" not in parsed.model_fields_set:
            parsed = parsed.model_copy(update={"transport": _agent_transport(registration)})
        # Refuse bad input (missing broker secret, bad contract files or plug-in paths) before recording anything.
        runtime = with_credentials(parsed, registration.probe.credentials_env)
        listeners = self._listeners(parsed)
        if launch:
            self._launch(runtime, listeners)
        else:
            _check_plugins(parsed)
        # Only what was given is recorded, so settings left to defaults (retention) follow the installation's.
        self.store.set_agent(parsed.app, parsed.run, RUNNING, parsed.model_dump(mode="json", exclude_unset=True))
        return self.agent_status(parsed.app, parsed.run)

    def stop_agent(self, app: str, run: str | None = None) -> list[AgentStatus]:
        """Stop the app's agents (one run or all) and record that they should stay stopped."""
        recorded = [(a, r) for a, r, _, _ in self.store.list_agents() if a == app and (run is None or r == run)]
        if not recorded:
            what = f"app '{app}'" + (f" run '{run}'" if run else "")
            raise NotFound(
                f"no observation agent for {what}",
                [Problem("app", "no agent was started for it", "use `rohe observation start-observation-agent`")],
            )
        for a, r in recorded:
            self.store.set_agent(a, r, STOPPED)
            with self._lock:
                self._halt((a, r))
        return [self.agent_status(a, r) for a, r in recorded]

    def agent_status(self, app: str, run: str) -> AgentStatus:
        desired = {(a, r): d for a, r, d, _ in self.store.list_agents()}.get((app, run), STOPPED)
        with self._lock:
            agent = self._agents.get((app, run))
        if agent is None:
            return AgentStatus(app=app, run=run, desired=desired, running=False)
        # Agents from other factories may not report a connection state; running is all they can say.
        state = str(getattr(agent, "state", "subscribed"))
        detail = getattr(agent, "detail", None)
        return AgentStatus(app=app, run=run, desired=desired, running=state == "subscribed", state=state,
                           detail=None if detail is None else str(detail), stats=_as_dict(agent.stats))

    def agents(self) -> list[AgentStatus]:
        return [self.agent_status(a, r) for a, r, _, _ in self.store.list_agents()]

    def agent(self, app: str, run: str = "default") -> RunningAgent:
        """The running agent of an app run, for in-process ingestion (`agent.ingest(reports)`)."""
        with self._lock:
            agent = self._agents.get((app, run))
        if agent is None:
            raise NotFound(
                f"no observation agent runs for app '{app}' run '{run}'",
                [Problem("app", "not running in this process", "start it with start_agent, or resume()")],
            )
        return agent

    def resume(self) -> list[AgentStatus]:
        """Start every agent recorded as running but not running here, and the retention loop. Agents whose
        config no longer loads are logged and skipped, so one broken entry never blocks the service."""
        resumed: list[AgentStatus] = []
        for app, run, _, document in self.store.list_agents(RUNNING):
            with self._lock:
                if (app, run) in self._agents:
                    continue
            try:
                config = self._parse_config(app, document)
                credentials_env = self.store.get_app(app, run).probe.credentials_env
                self._launch(with_credentials(config, credentials_env), self._listeners(config))
            except Exception as exc:  # resumption must survive one broken entry
                log.error("cannot resume the observation agent of %s/%s: %s", app, run, exc)
                continue
            resumed.append(self.agent_status(app, run))
        self.start_retention()
        return resumed

    # -- reads ---------------------------------------------------------------------------------------
    def windows(
        self, app: str, run: str | None = None, consumer: str | None = None,
        since: datetime | None = None, limit: int | None = None,
    ) -> list[WindowMetrics]:
        self._require_known(app)
        return self.store.list_windows(app, run, consumer, since, limit)

    def violations(self, app: str, run: str | None = None, consumer: str | None = None) -> list[Violation]:
        self._require_known(app)
        return self.store.list_violations(app, run, consumer)

    def incidents(self, app: str, run: str | None = None, consumer: str | None = None) -> list[Incident]:
        self._require_known(app)
        return self.store.list_incidents(app, run, consumer)

    # -- retention -----------------------------------------------------------------------------------
    def purge(self, now: datetime | None = None) -> int:
        """Retention: delete windows older than their app run's agent `retention_s`, or `observation.retention_s`
        for runs without a recorded agent. Returns how many went."""
        moment = now or datetime.now(UTC)
        retention = {(a, r): float(c.get("retention_s", self.settings.retention_s))
                     for a, r, _, c in self.store.list_agents()}
        removed = 0
        for app, run in self.store.window_runs():
            keep_s = retention.get((app, run), self.settings.retention_s)
            removed += self.store.purge_windows(moment - timedelta(seconds=keep_s), app, run)
        if removed:
            log.info("retention: removed %d metric window(s)", removed)
        return removed

    def start_retention(self) -> None:
        if self._purge_thread is not None and self._purge_thread.is_alive():
            return
        self._purge_stop.clear()
        self._purge_thread = threading.Thread(target=self._retention_loop, name="rohe-obs-retention", daemon=True)
        self._purge_thread.start()

    def _retention_loop(self) -> None:
        while True:
            try:
                self.purge()
            except Exception as exc:  # a database hiccup must not end the loop; the next round retries
                log.warning("retention purge failed: %s", exc)
            if self._purge_stop.wait(self.settings.purge_interval_s):
                return

    def close(self, timeout: float = 10.0) -> None:
        """Stop the threads of this process; the agents stay recorded as running, to resume at next start."""
        self._purge_stop.set()
        if self._purge_thread is not None:
            self._purge_thread.join(timeout)
            self._purge_thread = None
        with self._lock:
            for key in list(self._agents):
                try:
                    self._halt(key, timeout)
                except Exception as exc:  # closing must reach every agent
                    log.warning("the observation agent of %s/%s did not stop cleanly: %s", *key, exc)

    # -- plumbing ------------------------------------------------------------------------------------
    def _parse_config(self, app: str, config: AgentConfig | Mapping[str, Any]) -> AgentConfig:
        if isinstance(config, AgentConfig):
            parsed = config
        else:
            parsed = agent_config_from_dict({"app": app, **dict(config)}, "agent config")
        if parsed.app != app:
            raise InvalidInput(
                "the agent config is for another app",
                [Problem("app", f"the config says '{parsed.app}', the request '{app}'", "make them the same")],
            )
        return parsed

    def _listeners(self, config: AgentConfig) -> list[WindowListener]:
        return [*self._listener_factory(config, self.store), *self.extra_listeners]

    def _launch(self, config: AgentConfig, listeners: Sequence[WindowListener]) -> None:
        with self._lock:
            key = (config.app, config.run)
            self._halt(key)
            agent = self._agent_factory(config, self.store, listeners)
            agent.start()
            self._agents[key] = agent
            self._listeners_of[key] = list(listeners)
            if self.exporter is not None:
                self.exporter.watch_agent(agent)

    def _halt(self, key: tuple[str, str], timeout: float = 10.0) -> None:
        """Stop one running agent (flushing its windows), then what it fed: the exporter, action dispatchers."""
        agent = self._agents.pop(key, None)
        listeners = self._listeners_of.pop(key, [])
        if agent is None:
            return
        agent.stop(timeout)
        if self.exporter is not None:
            self.exporter.unwatch_agent(agent)
        for listener in listeners:
            # ContractEvaluator owns an ActionDispatcher with a worker thread; let it finish what is queued.
            close = getattr(getattr(listener, "actions", None), "close", None)
            if callable(close):
                close(timeout)

    def _require_known(self, app: str) -> None:
        if not self.store.list_apps(app) and not self.store.has_data(app):
            raise NotFound(
                f"app '{app}' is not registered and has no stored metrics",
                [Problem("app", f"unknown app '{app}'", "list apps with `rohe observation list-apps`")],
            )


def with_credentials(config: AgentConfig, credentials_env: str | None) -> AgentConfig:
    """The config with the broker secret from `credentials_env` put into its URL, for this process only: the
    stored config and registration never hold it (same convention as the probes' transports)."""
    url = config.transport.resolved_url()
    if not credentials_env or url is None:
        return config
    transport = config.transport.model_copy(update={"url": url_with_credentials(url, credentials_env)})
    return config.model_copy(update={"transport": transport})


def _check_plugins(config: AgentConfig) -> None:
    load_parser(config)
    load_window_functions(config)


def _agent_transport(registration: AppRegistration) -> TransportConfig:
    return TransportConfig.model_validate(registration.probe.transport.model_dump())


def _as_dict(stats: Any) -> dict[str, Any]:
    if isinstance(stats, BaseModel):
        return stats.model_dump(mode="json")
    if is_dataclass(stats) and not isinstance(stats, type):
        return asdict(stats)
    if isinstance(stats, Mapping):
        return dict(stats)
    return {k: v for k, v in vars(stats).items() if not k.startswith("_")} if hasattr(stats, "__dict__") else {}
