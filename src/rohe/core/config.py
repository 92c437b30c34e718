"""Settings: one YAML file plus `ROHE_*` environment overrides, with defaults that need nothing set.

Precedence, highest first: environment (`ROHE_API__PORT=6000`), the config file (`ROHE_CONFIG` or
`./rohe.yaml`), the defaults below. Nested keys use a double underscore in the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from rohe.core.auth import TOKEN_HINT, token_problem
from rohe.core.errors import InvalidInput
from rohe.core.loading import load_document, problems_from_validation
from rohe.core.rohe_config import settings_from_rohe_config
from rohe.core.trust import url_prefix_problem

DEFAULT_CONFIG_FILE = "rohe.yaml"


class ApiSettings(BaseModel):
    """How the API is reached, and what its callers may name (docs/security.md). Request bodies and query
    strings are untrusted: code, secrets and outbound URLs they name must be allowed here, by the operator."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=5010, ge=1, le=65535)
    token: str | None = Field(
        default=None, description="when set, every route but /health requires 'Authorization: Bearer <token>'"
    )
    plugins: list[str] = Field(
        default_factory=list,
        description="dotted paths (module:attr) API requests may name as parser, window function or algorithm; "
        "installed entry points and built-in names need no listing",
    )
    secrets: dict[str, list[str]] = Field(
        default_factory=dict,
        description="environment variable NAME -> URL prefixes its value may be sent to, for the *_env fields of "
        "API requests (credentials_env, quality.llm.api_key_env, actions.gateway_token_env)",
    )
    outbound_urls: list[str] = Field(
        default_factory=list,
        description="URL prefixes API requests may make the server call (webhooks, gateways, LLM endpoints)",
    )

    @field_validator("token")
    @classmethod
    def _usable_token(cls, value: str | None) -> str | None:
        problem = None if value is None else token_problem(value)
        if problem is not None:
            raise ValueError(f"the token {problem} ({TOKEN_HINT})")
        return value

    @field_validator("outbound_urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        for url in value:
            url_prefix_problem(url)
        return value

    @field_validator("secrets")
    @classmethod
    def _secret_urls(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for urls in value.values():
            for url in urls:
                url_prefix_problem(url)
        return value


class Weights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cpu: float = Field(default=1.0, ge=0)
    memory: float = Field(default=1.0, ge=0)


class OrchestrationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    algorithm: str = Field(
        default="rohe-scoring",
        description="a built-in name, an entry point in 'rohe.placement', or module:Class",
    )
    strategy: Literal["first-fit", "best-fit", "worst-fit", "pack"] = "best-fit"
    weights: Weights = Field(default_factory=Weights)
    sensitivity_boost: float = Field(default=1.0, ge=0, description="extra weight on a sensitive resource")
    interval: PositiveFloat = Field(default=2.0, description="seconds between agent rounds")
    optimal_time_limit: PositiveFloat = Field(default=10.0, description="seconds for the exact solver")


class DeploySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: Literal["local", "kubernetes"] = "local"
    namespace: str = "rohe"
    kubeconfig: str | None = None
    health_timeout: PositiveFloat = 10.0


TransportKind = Literal["inproc", "mqtt", "amqp", "nats", "nats-jetstream"]


class ObservationSettings(BaseModel):
    """Defaults for registered apps and the observation agents this installation runs."""

    model_config = ConfigDict(extra="forbid")

    transport: TransportKind = Field(default="inproc", description="how probes reach agents by default")
    broker_url: str | None = Field(
        default=None, description="broker URL handed to probes; no password in it (see credentials_env)"
    )
    credentials_env: str | None = Field(
        default=None, description="NAME of the environment variable holding the broker credentials, never the secret"
    )
    retention_s: PositiveFloat = Field(default=7 * 24 * 3600.0, description="metric windows older than this go")
    purge_interval_s: PositiveFloat = Field(default=300.0, description="seconds between retention purges")
    output_dir: Path | None = Field(default=None, description="where register-app writes <app>-<run>.json")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROHE_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Path(".rohe")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default: SQLite file in data_dir")
    api: ApiSettings = Field(default_factory=ApiSettings)
    orchestration: OrchestrationSettings = Field(default_factory=OrchestrationSettings)
    deploy: DeploySettings = Field(default_factory=DeploySettings)
    observation: ObservationSettings = Field(default_factory=ObservationSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # init kwargs carry the config file's content; the environment overrides it.
        return (env_settings, init_settings)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'rohe.db').resolve()}"

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir


def load_settings(path: str | Path | None = None) -> Settings:
    """Read the config file (if any) and apply environment overrides; raise InvalidInput on a bad key."""
    candidate = path or os.environ.get("ROHE_CONFIG")
    data: dict[str, Any] = {}
    if candidate:
        data = _as_mapping(load_document(Path(candidate)), str(candidate))
    elif Path(DEFAULT_CONFIG_FILE).is_file():
        data = _as_mapping(load_document(Path(DEFAULT_CONFIG_FILE)), DEFAULT_CONFIG_FILE)
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise InvalidInput(
            f"invalid configuration in {candidate or 'the environment'}", problems_from_validation(exc)
        ) from None


def _as_mapping(document: Any, source: str) -> dict[str, Any]:
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise InvalidInput(f"{source}: the configuration must be a mapping of settings")
    if "orchestrateConfig" in document:
        # ROHE's orchestrationConfig.yaml: its weights, strategy and timer map onto our orchestration
        # settings; its MongoDB and queue keys have no counterpart.
        return {"orchestration": settings_from_rohe_config(document)}
    return document
