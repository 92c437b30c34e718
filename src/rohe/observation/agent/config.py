"""What an observation agent is told: which app run, where reports come from, which windows, which plug-ins."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rohe.core.errors import InvalidInput, Problem
from rohe.core.loading import load_document, problems_from_validation
from rohe.observation.metrics import WindowKind
from rohe.observation.transports import channel_name
from rohe.quality.narrator import LLMConfig

DetectorName = Literal["robust-z", "ewma", "cusum", "isolation-forest"]

TransportKind = Literal["inproc", "mqtt", "amqp", "nats", "nats-jetstream"]

# Topics use '/', queues and subjects '.', so a derived channel matches what the probes publish on.
_SEPARATOR: dict[str, str] = {"inproc": ".", "mqtt": "/", "amqp": ".", "nats": ".", "nats-jetstream": "."}
_DEFAULT_URL: dict[str, str | None] = {
    "inproc": None,
    "mqtt": "mqtt://127.0.0.1:1883",
    "amqp": "amqp://guest:guest@127.0.0.1:5672/",
    "nats": "nats://127.0.0.1:4222",
    "nats-jetstream": "nats://127.0.0.1:4222",
}


class TransportConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: TransportKind = "inproc"
    url: str | None = Field(default=None, description="broker URL; the local default for the kind when unset")
    channel: str | None = Field(default=None, description="topic/queue/subject; derived from app and run when unset")
    credentials_env: str | None = Field(
        default=None, description="environment variable holding 'user:password' or the broker URL (never the secret)"
    )

    def resolved_url(self) -> str | None:
        return self.url if self.url is not None else _DEFAULT_URL[self.kind]


class WindowSpec(BaseModel):
    """One window shape. Tumbling windows have step == size; sliding windows overlap by size - step."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: WindowKind = WindowKind.TUMBLING
    size_s: float = Field(gt=0, description="window length in seconds")
    step_s: float | None = Field(default=None, gt=0, description="sliding windows: seconds between window starts")

    @model_validator(mode="after")
    def _step_fits_kind(self) -> WindowSpec:
        if self.kind is WindowKind.SLIDING:
            if self.step_s is None:
                raise ValueError("sliding windows need 'step_s' (seconds between window starts)")
            if self.step_s > self.size_s:
                raise ValueError("'step_s' must not exceed 'size_s', or reports between windows would be lost")
        elif self.step_s is not None and self.step_s != self.size_s:
            raise ValueError("tumbling windows take no 'step_s' (it always equals 'size_s'); use kind: sliding")
        return self

    @property
    def step(self) -> float:
        return self.size_s if self.step_s is None else self.step_s

    @property
    def key(self) -> str:
        """Stable name of this shape, used in saved agent state."""
        return f"{self.kind.value}:{self.size_s:g}:{self.step:g}"


class ActionsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: str | None = None
    gateway_url: str | None = None
    gateway_token_env: str | None = Field(
        default=None, description="environment variable holding the gateway's API token (never the token itself)"
    )


class AnomalySpec(BaseModel):
    """One metric stream watched by one detector; `options` are the detector's constructor arguments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = Field(min_length=1, description="a quality.series metric name, e.g. end_to_end.p99_ms")
    detector: DetectorName = "robust-z"
    options: dict[str, float | int] = Field(default_factory=dict, description="e.g. {threshold: 5, warmup: 10}")


class QualityConfig(BaseModel):
    """Tiers 1-3 in the agent: rules, anomaly detection and incident diagnosis (optionally LLM-narrated)."""

    model_config = ConfigDict(extra="forbid")

    rules: Path | list[dict[str, Any]] | None = Field(
        default=None, description="a rules YAML file (quality.rules format) or the list of rules inline")
    anomaly: list[AnomalySpec] = Field(default_factory=list, description="metric streams and their detectors")
    llm: LLMConfig | None = Field(default=None, description="OpenAI-compatible endpoint narrating incidents")
    context_windows: int = Field(default=5, ge=1, description="recent windows attached to an incident as evidence")


class AgentConfig(BaseModel):
    """One agent per app run. Loaded from YAML with `load_agent_config`."""

    model_config = ConfigDict(extra="forbid")

    app: str = Field(min_length=1)
    run: str = Field(default="default", min_length=1)
    transport: TransportConfig = Field(default_factory=TransportConfig)
    windows: list[WindowSpec] = Field(default_factory=lambda: [WindowSpec(size_s=10.0)], min_length=1)
    allowed_lateness_s: float = Field(default=2.0, ge=0, description="how long a window waits for late reports")
    idle_close_s: float | None = Field(
        default=5.0,
        gt=0,
        description="with no report for this long, close windows by wall clock (null: only by event time)",
    )
    retention_s: float = Field(default=7 * 24 * 3600.0, gt=0, description="how long stored windows are kept")
    max_future_s: float = Field(
        default=300.0, gt=0,
        description="reports stamped further ahead of the agent's clock are rejected (and counted), so one wrong "
        "clock cannot push the watermark into the future and make every later report late",
    )
    parser: str | None = Field(default=None, description="dotted path or entry point of bytes -> list[Report]")
    window_functions: dict[str, str] = Field(default_factory=dict, description="metric name -> dotted path")
    contracts: list[Path] = Field(default_factory=list, description="consumer contract files for evaluation")
    actions: ActionsConfig = Field(default_factory=ActionsConfig)
    quality: QualityConfig | None = Field(default=None, description="rules, anomaly detection, diagnosis")
    max_predictions: int = Field(default=100_000, ge=1, description="recent predictions kept to join feedback")
    dedup_capacity: int = Field(default=200_000, ge=1, description="recent report ids kept to drop resends")
    state_interval_s: float = Field(
        default=5.0, ge=0, description="how often the ids of reports in open windows are saved with the state"
    )
    max_window_reports: int = Field(
        default=1_000_000, ge=1, description="reports held in open windows at most; beyond, the oldest close early"
    )

    @model_validator(mode="after")
    def _windows_distinct(self) -> AgentConfig:
        keys = [w.key for w in self.windows]
        if len(set(keys)) != len(keys):
            raise ValueError("'windows' lists the same window shape twice")
        return self

    def channel(self) -> str:
        if self.transport.channel is not None:
            return self.transport.channel
        return channel_name(self.app, self.run, _SEPARATOR[self.transport.kind])


def agent_config_from_dict(document: Any, source: str = "<agent config>") -> AgentConfig:
    """Validate a parsed document; every problem is reported with its field path."""
    if not isinstance(document, dict):
        raise InvalidInput(
            f"{source} must be a mapping",
            [Problem(source, f"got {type(document).__name__}", "write 'app: NAME' and the other keys")],
        )
    try:
        config = AgentConfig.model_validate(document)
    except ValidationError as exc:
        raise InvalidInput(f"invalid observation agent config in {source}", problems_from_validation(exc)) from None
    if config.quality is not None:
        check_quality(config.quality, source)
    return config


def check_quality(quality: QualityConfig, source: str = "<agent config>") -> None:
    """What pydantic cannot see: inline rules and metric names must parse, detector options must fit the
    detector. A rules file is read when the agent is built (its path may still be relative here)."""
    from rohe.quality.anomaly import DETECTORS
    from rohe.quality.rules import parse_rules
    from rohe.quality.series import metric_reader

    message = f"invalid quality section in {source}"
    try:
        if isinstance(quality.rules, list):
            parse_rules({"rules": quality.rules}, source)
        for i, spec in enumerate(quality.anomaly):
            metric_reader(spec.metric, f"anomaly[{i}].metric")
    except InvalidInput as exc:
        raise InvalidInput(message, [_in_quality(p) for p in exc.problems]) from None
    seen: set[tuple[str, str]] = set()
    for i, spec in enumerate(quality.anomaly):
        if (spec.metric, spec.detector) in seen:
            raise InvalidInput(message, [Problem(f"quality.anomaly[{i}]", f"{spec.detector} on {spec.metric} twice",
                                                 "keep one entry per metric and detector")])
        seen.add((spec.metric, spec.detector))
        try:
            DETECTORS[spec.detector](**spec.options)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(message, [Problem(f"quality.anomaly[{i}].options", str(exc),
                                                 f"give only options the {spec.detector} detector takes")]) from None


def _in_quality(problem: Problem) -> Problem:
    return Problem(f"quality.{problem.location}", problem.message, problem.hint)


def load_agent_config(path: Path | str) -> AgentConfig:
    """Read an agent config from YAML or JSON (safe loader); relative contract paths resolve next to the file."""
    file = Path(path)
    config = agent_config_from_dict(load_document(file), str(file))
    resolved = [c if c.is_absolute() else (file.parent / c) for c in config.contracts]
    update: dict[str, Any] = {"contracts": resolved}
    if config.quality is not None and isinstance(config.quality.rules, Path) and not config.quality.rules.is_absolute():
        update["quality"] = config.quality.model_copy(update={"rules": file.parent / config.quality.rules})
    return config.model_copy(update=update)
