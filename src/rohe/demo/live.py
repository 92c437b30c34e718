"""The gateway a live experiment sends to, as a LiveTarget: a running one named by the spec, or an example
app started here for the duration of the run (rohe.demo.stack) and stopped after, whatever happens.

Layer 4 on purpose: the example apps' stacks and held-out inputs live here and in rohe.examples; the live
backend (rohe.experiments.live) only ever sees a URL, a token and labelled inputs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from rohe.core.profiles import ProfileCatalog, load_catalog
from rohe.experiments.live import LiveTarget, needs_gateway, token_from_env
from rohe.experiments.spec import Spec

# Whose inputs a running gateway is sent when the spec names no app: `rohe loadgen` sends the same ones.
DEFAULT_INPUTS_APP = "object-classification"


@contextlib.contextmanager
def live_target(spec: Spec, data_dir: Path, out: Path, console: Console) -> Iterator[LiveTarget]:
    """`live.gateway_url` as is (inputs from `live.app`'s held-out set), else `live.app` started locally."""
    from rohe.examples.registry import example_app

    if spec.live.gateway_url is not None:
        app = example_app(spec.live.app or DEFAULT_INPUTS_APP)
        yield LiveTarget(spec.live.gateway_url.rstrip("/"), app.load_samples(), token_from_env(spec))
        return
    if spec.live.app is None:
        raise needs_gateway()
    from rohe.demo.stack import example_stack

    app = example_app(spec.live.app)
    console.print(f"starting the {app.name} example locally for the live experiment (stopped after it)")
    with example_stack(data_dir, out, console, quick=spec.live.quick, app=app) as stack:
        # Started without a token: it listens on loopback only, for this run.
        yield LiveTarget(stack.url, app.load_samples(), None, _served_catalog(out))


def _served_catalog(out: Path) -> ProfileCatalog | None:
    path = out / "profiles.csv"
    return load_catalog(path) if path.is_file() else None
