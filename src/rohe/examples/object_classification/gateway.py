"""Run the example pipeline's serving gateway as a service: `python -m rohe.examples.object_classification.gateway`.

This is the command of the pipeline's `oc-gateway` service, so `rohe orchestration deploy` starts it next to
the model services it fans out to. It listens at once (GET /health answers `starting` while it gets
ready, so the deployer's health check passes), then finds the model endpoints (discovery.py: --endpoint,
else Kubernetes Service names inside a pod, else the local deployer's state), takes the profiles from
--profiles or measures them on those endpoints, and only then serves /infer and the rest of the gateway.
Until then every other path answers 503. If it cannot get ready it stops with a non-zero exit code and
the reason in its log. It reports nothing to observation; `rohe start serving-service` does.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from rohe.core.auth import check_bind
from rohe.core.config import Settings
from rohe.core.errors import RoheError
from rohe.core.profiles import ProfileCatalog, load_catalog
from rohe.core.shutdown import exit_cleanly_on_sigterm
from rohe.examples.object_classification import CONTRACT_FILES, PIPELINE_FILE, data_file
from rohe.examples.object_classification.discovery import in_kubernetes, kubernetes_endpoints, wait_for_local_endpoints
from rohe.observation.embedded import observed_run
from rohe.observation.reports import ReportSink
from rohe.platform import Platform
from rohe.serving.gateway import ServingGateway, build_gateway, create_gateway_app, parse_endpoint_options
from rohe.serving.pipeline import PipelineSpec, load_pipeline

log = logging.getLogger("rohe.examples.object_classification.gateway")


class DeferredGateway:
    """An ASGI app that is up before the gateway is: /health says `starting`, the rest 503, until `ready`."""

    def __init__(self, application: str) -> None:
        self.application = application
        self.gateway: ServingGateway | None = None
        self._app: ASGIApp | None = None
        self.stage = "finding the model endpoints"
        self.failure: str | None = None

    def ready(self, gateway: ServingGateway) -> None:
        self._app = create_gateway_app(gateway, Settings().api.token)
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if self._app is not None:
            await self._app(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        body: dict[str, Any] = {"status": "starting", "application": self.application, "detail": self.stage}
        code = 200 if scope["path"] == "/health" else 503
        await JSONResponse(body, status_code=code, headers={"Retry-After": "2"})(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        # The inner app's own lifespan only closes the gateway's pooled connections; done here instead,
        # since the inner app may not exist yet when the server starts.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.gateway is not None:
                    await self.gateway.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def find_endpoints(spec: PipelineSpec, options: list[str], state_dir: Path, timeout: float) -> dict[str, list[str]]:
    if options:
        return parse_endpoint_options(options)
    if in_kubernetes():
        return kubernetes_endpoints(spec)
    return wait_for_local_endpoints(spec, state_dir, timeout)


def measured_profiles(data_dir: Path, endpoints: dict[str, list[str]]) -> ProfileCatalog:
    # Imported here: the measurement loads all five models, which a gateway given --profiles never needs.
    from rohe.examples.object_classification import object_classification_workload
    from rohe.serving.profiling_http import measure_catalog

    return measure_catalog(object_classification_workload(data_dir), endpoints, http_samples=15, repeats=15)


def prepare(
    deferred: DeferredGateway,
    spec: PipelineSpec,
    args: argparse.Namespace,
    server: uvicorn.Server,
    sink: ReportSink | None = None,
) -> None:
    """Find the endpoints, get the profiles, build the gateway; on failure stop the server (exit code 1)."""
    try:
        settings = Settings()
        state_dir = args.state_dir or settings.data_dir / "local"
        endpoints = find_endpoints(spec, args.endpoint or [], state_dir, args.wait)
        log.info("model endpoints: %s", endpoints)
        deferred.stage = "measuring the model profiles" if args.profiles is None else "loading the profiles"
        catalog = load_catalog(args.profiles) if args.profiles else measured_profiles(settings.data_dir, endpoints)
        contracts = [data_file(name) for name in CONTRACT_FILES]
        deferred.ready(
            build_gateway(spec, catalog, contracts, endpoints, default_algorithm=args.algorithm, sink=sink)
        )
        log.info("gateway ready for %s", ", ".join(deferred.gateway.consumers() if deferred.gateway else []))
    except (RoheError, OSError, httpx.HTTPError) as exc:
        deferred.failure = deferred.stage = f"the gateway cannot start: {exc}"
        log.error("%s", deferred.failure)
        server.should_exit = True  # also when the server is still starting; main() then exits non-zero
    except Exception:  # a bug: still stop, rather than answer `starting` forever
        deferred.failure = deferred.stage = "the gateway cannot start: unexpected error (see the log)"
        log.exception("the gateway cannot start")
        server.should_exit = True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=5020)
    parser.add_argument("--host", default=None, help="default 127.0.0.1; 0.0.0.0 in a Kubernetes pod (needs api.token)")
    parser.add_argument("--endpoint", action="append", help="model=URL; repeat per replica (skips discovery)")
    parser.add_argument("--profiles", type=Path, default=None, help="profile CSV (default: measured at start)")
    parser.add_argument("--algorithm", default="adaptive", help="default scheduler")
    parser.add_argument("--data-dir", type=Path, default=None, help="model cache and local state (ROHE_DATA_DIR)")
    parser.add_argument("--state-dir", type=Path, default=None, help="local deployer state (default data dir/local)")
    parser.add_argument("--wait", type=float, default=180.0, help="seconds to wait for the model replicas")
    parser.add_argument("--no-observe", dest="observe", action="store_false", help="do not report to observation")
    parser.add_argument("--run", default="default", help="observation run label")
    parser.add_argument("--window", type=float, default=10.0, help="observation window in seconds (inproc agent)")
    args = parser.parse_args(argv)
    if args.data_dir is not None:
        # Process-wide, so the spec's preprocessing entrypoint (it reads the settings) finds the same cache.
        os.environ["ROHE_DATA_DIR"] = str(args.data_dir)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per member call would bury the log
    # Other pods reach a pod's port only on its pod address; on one machine loopback is enough and safest.
    host = args.host or ("0.0.0.0" if in_kubernetes() else "127.0.0.1")
    try:
        check_bind(host, Settings().api.token)
    except RoheError as exc:
        sys.exit(f"rohe: {exc}")
    spec = load_pipeline(data_file(PIPELINE_FILE))
    deferred = DeferredGateway(spec.application)
    server = uvicorn.Server(uvicorn.Config(deferred, host=host, port=args.port, log_level="warning"))
    exit_cleanly_on_sigterm()  # a deployer's stop must still drain the probe and store the last window
    with contextlib.ExitStack() as stack:
        sink = None
        if args.observe:
            platform = Platform.open(Settings())
            stack.callback(platform.close)
            contracts = [data_file(name) for name in CONTRACT_FILES]
            sink = stack.enter_context(
                observed_run(platform.observation, spec.application, args.run, contracts, window_s=args.window)
            ).probe
        preparing = threading.Thread(
            target=prepare, args=(deferred, spec, args, server, sink), name="gateway-prepare", daemon=True
        )
        preparing.start()
        server.run()
    if deferred.failure is not None:
        sys.exit(1)


if __name__ == "__main__":
    main()
