"""What registering an app for observation hands back: a stable id, a storage namespace, and the probe config.

The probe config tells the app's probes how to reach its observation agent (transport kind, broker URL,
channel). Credentials are only ever referenced by the NAME of an environment variable: registrations are
stored, printed and written to files, so they must never carry a secret.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from rohe.core.config import TransportKind
from rohe.core.errors import InvalidInput, Problem, ProblemCollector
from rohe.core.redact import redact_url, url_secrets
from rohe.observation.transports import channel_name

# Fixed forever: app ids derive from it, and ids must stay stable across versions and installations.
APP_NAMESPACE = uuid.UUID("5d1c2a8e-6f0b-5e4a-9a53-726f68656f62")
NAME_LIMIT = 200
DEFAULT_BROKER_URLS: dict[str, str | None] = {
    "inproc": None,
    "mqtt": "mqtt://127.0.0.1:1883",
    "amqp": "amqp://127.0.0.1:5672/",
    "nats": "nats://127.0.0.1:4222",
    "nats-jetstream": "nats://127.0.0.1:4222",
}
# MQTT topics use '/', AMQP queues and NATS subjects '.'.
_SEPARATORS = {"inproc": ".", "mqtt": "/", "amqp": ".", "nats": ".", "nats-jetstream": "."}


class TransportConfig(BaseModel):
    """The shape of an agent config's `transport` section, so a registration can fill it in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: TransportKind = "inproc"
    url: str | None = None
    channel: str

    @field_serializer("url")
    def _redacted(self, url: str | None) -> str | None:
        # Registrations made before credentials were refused may still hold some: never hand them out.
        return None if url is None else redact_url(url)


class ProbeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    transport: TransportConfig
    channels: dict[str, str] = Field(description="the channel name on every transport kind")
    credentials_env: str | None = Field(
        default=None, description="environment variable that holds the broker credentials (never the secret)"
    )


class AppRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    app_id: uuid.UUID
    app: str
    run: str
    user: str
    url: str | None = Field(default=None, description="where the app answers (its gateway), for actions")
    namespace: str = Field(description="prefix of everything stored or published for this app run")
    probe: ProbeConfig
    output_dir: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @field_serializer("url")
    def _redacted(self, url: str | None) -> str | None:
        return None if url is None else redact_url(url)


def app_id(app: str, run: str) -> uuid.UUID:
    """Stable across re-registrations and installations: derived from the names alone."""
    return uuid.uuid5(APP_NAMESPACE, f"{app}\x1f{run}")


def build_registration(
    app: str,
    run: str,
    user: str,
    url: str | None = None,
    *,
    transport: TransportKind = "inproc",
    broker_url: str | None = None,
    credentials_env: str | None = None,
    output_dir: Path | None = None,
) -> AppRegistration:
    check_names(app=app, run=run, user=user)
    chosen_url = broker_url if broker_url is not None else DEFAULT_BROKER_URLS[transport]
    if chosen_url is not None:
        _refuse_secrets(chosen_url)
    channels = {kind: channel_name(app, run, sep) for kind, sep in _SEPARATORS.items()}
    probe = ProbeConfig(
        transport=TransportConfig(kind=transport, url=chosen_url, channel=channels[transport]),
        channels=channels,
        credentials_env=credentials_env,
    )
    return AppRegistration(
        app_id=app_id(app, run),
        app=app,
        run=run,
        user=user,
        url=url,
        namespace=channel_name(app, run, "."),  # '.' never occurs inside a name token: injective
        probe=probe,
        output_dir=str(output_dir) if output_dir is not None else None,
    )


def check_names(**names: str) -> None:
    problems = ProblemCollector()
    for field, value in names.items():
        if not value or not value.strip():
            problems.add(field, "must not be empty", f"pass --{field} NAME")
        elif len(value) > NAME_LIMIT:
            problems.add(field, f"has {len(value)} characters", f"use at most {NAME_LIMIT}")
        elif any(ord(c) < 32 for c in value):
            problems.add(field, "contains control characters", "use printable characters only")
    problems.raise_if_any("invalid app registration")


def _refuse_secrets(url: str) -> None:
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = urlsplit("")
    if not parts.scheme or not parts.netloc:
        raise InvalidInput(
            "invalid broker URL",
            [Problem("broker_url", f"{redact_url(url)!r} is not a URL",
                     "use e.g. mqtt://host:1883 or amqp://host:5672/")],
        )
    found = url_secrets(url)
    if found:
        # Any user part counts, not only a password: NATS carries its token as the user name.
        raise InvalidInput(
            "the broker URL carries credentials",
            [
                Problem(
                    "broker_url",
                    f"its {' and '.join(found)} would be stored and served; registrations must not hold secrets",
                    "drop the credentials from the URL and name the environment variable holding them in "
                    "credentials_env",
                )
            ],
        )


def write_registration(registration: AppRegistration, folder: Path) -> Path:
    """<folder>/<app>-<run>.json: the metadata an app's probes are configured from."""
    target = folder / f"{_file_safe(registration.app)}-{_file_safe(registration.run)}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target.write_text(registration.model_dump_json(indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(
            f"cannot write the registration to {target}",
            [Problem("output_dir", str(exc), "point --output-dir at a writable folder")],
        ) from None
    return target


def _file_safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
