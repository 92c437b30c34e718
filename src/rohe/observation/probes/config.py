"""Building a probe from the probe configuration an app registration hands out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from rohe.core.errors import InvalidInput, Problem
from rohe.observation.probes.probe import Probe
from rohe.observation.transports import make_transport


class ProbeConfig(BaseModel):
    """{"transport": kind, "url", "channel", "credentials_env"} plus optionally "app" and "run". Other keys a
    registration adds are ignored, so the service can grow the record without breaking deployed probes."""

    model_config = ConfigDict(extra="ignore")

    transport: Literal["inproc", "mqtt", "amqp", "nats", "nats-jetstream"] = "inproc"
    url: str | None = None
    channel: str | None = None
    credentials_env: str | None = None
    app: str | None = None
    run: str | None = None


def probe_from_config(probe_config: Mapping[str, Any], *, app: str | None = None, run: str | None = None,
                      **options: Any) -> Probe:
    """A Probe on the transport `probe_config` names. Accepted shapes: the flat one above; the registration's
    `probe` record ({"transport": {"kind", "url", "channel"}, "credentials_env", ...}); or a whole registration
    ({"app", "run", "probe": {...}}). `app`/`run` given here win over the config's; `options` go to Probe
    (service, node, batch_size, spill_dir, resource_interval_s, ...)."""
    try:
        config = ProbeConfig.model_validate(_flatten(probe_config))
    except ValidationError as exc:
        raise InvalidInput("invalid probe configuration", [
            Problem("probe." + ".".join(str(p) for p in error["loc"]), error["msg"],
                    "transport is one of inproc, mqtt, amqp, nats, nats-jetstream") for error in exc.errors()
        ]) from None
    app_name, run_name = app or config.app, run or config.run or "default"
    if not app_name:
        raise InvalidInput("invalid probe configuration", [Problem("probe.app", "no app name",
                                                                   "pass app= or put 'app' in the config")])
    transport = make_transport(config.transport, app_name, run_name, url=config.url, channel=config.channel,
                               credentials_env=config.credentials_env)
    return Probe(app_name, run_name, transport=transport, **options)


def _flatten(raw: Mapping[str, Any]) -> dict[str, Any]:
    data = dict(raw)
    inner = data.get("probe")
    if isinstance(inner, Mapping):  # a whole registration: its probe record plus its app and run
        data = {**dict(inner), "app": data.get("app"), "run": data.get("run")}
    transport = data.get("transport")
    if isinstance(transport, Mapping):
        data["transport"] = transport.get("kind", "inproc")
        for key in ("url", "channel"):
            if data.get(key) is None:
                data[key] = transport.get(key)
    return data
