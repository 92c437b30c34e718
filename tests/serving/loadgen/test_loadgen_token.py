"""`rohe loadgen --token` against a gateway app started with a token, over real HTTP: without the token every
/infer is refused (401); with it (also from ROHE_API__TOKEN) requests pass the gateway's guard and are answered.
And the plan's `breach` (the best-effort fallback) is recorded per request and counted per cell."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from rohe.cli.main import app as cli
from rohe.core.background_server import BackgroundServer
from rohe.serving.gateway import create_gateway_app
from rohe.serving.gateway.schema import InferRequest, InferResponse
from rohe.serving.loadgen import RequestOutcome, parse_workload_profile, run_workload
from rohe.serving.loadgen.runner import _from_response
from rohe.serving.loadgen.samples import LabelledSamples

TOKEN = "loadgen-gateway-token-0123456789"


def _answer(body: InferRequest) -> InferResponse:
    timings = {"scheduling": 0.1, "preprocessing": 0.1, "fanout": 1.0, "aggregation": 0.1, "total": 1.5}
    return InferResponse.model_validate(
        {"request_id": body.request_id or "r", "consumer": body.consumer, "algorithm": "adaptive", "status": "ok",
         "predicted_class": 1, "confidence": 0.9, "answered": ["m"], "late": [], "failed": [], "phases": 1,
         "ensemble_size": 1, "cost": 0.0, "deadline_ms": 500.0, "deadline_missed": False, "degraded": False,
         "timings_ms": timings, "modalities": {}}
    )


@pytest.fixture(scope="module")
def gateway_url() -> Iterator[str]:
    # The guard under test is the real one of the gateway app; behind it a stand-in answers every request.
    async def infer(body: InferRequest) -> InferResponse:
        return _answer(body)

    async def aclose() -> None:
        return None

    stand_in = SimpleNamespace(app="shop", run="r1", infer=infer, aclose=aclose, feedback=lambda *_: True)
    server = BackgroundServer(create_gateway_app(stand_in, TOKEN)).start()  # type: ignore[arg-type]
    try:
        yield server.url
    finally:
        server.stop()


PROFILE = {"phases": [{"name": "p", "duration_s": 0.5, "rate": 10, "arrival": "constant", "mix": {"cam": 1}}]}


def _samples() -> LabelledSamples:
    return LabelledSamples(((0.0, 1.0), (1.0, 0.0)), (0, 1))


def test_without_the_token_every_request_is_refused(gateway_url: str) -> None:
    run = run_workload(gateway_url, parse_workload_profile(PROFILE), _samples())
    assert run.results and all(r.http_status == 401 and r.status is RequestOutcome.ERROR for r in run.results)


def test_with_the_token_requests_are_answered(gateway_url: str) -> None:
    run = run_workload(gateway_url, parse_workload_profile(PROFILE), _samples(), token=TOKEN)
    assert run.results and all(r.http_status == 200 and r.status is RequestOutcome.OK for r in run.results)


def test_the_cli_takes_the_token_from_the_environment(
    gateway_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text(json.dumps(PROFILE))
    monkeypatch.setenv("ROHE_API__TOKEN", TOKEN)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["loadgen", gateway_url, str(profile), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with (out / "requests.csv").open() as handle:
        assert {row["http_status"] for row in csv.DictReader(handle)} == {"200"}


def test_a_breach_is_recorded_and_counted_per_cell() -> None:
    base: dict[str, Any] = {"index": 0, "phase": "p", "consumer": "cam", "intended_s": 0.0, "true_class": 1}
    document = {**_answer(InferRequest(consumer="cam", input=[0.0])).model_dump(mode="json"),
                "modalities": {"image": {"breach": "no ensemble meets the deadline"}}}
    breached = _from_response(200, json.dumps(document).encode(), base, "rohe-ensemble", 2.0)
    assert breached.breach == "image: no ensemble meets the deadline"
    plain = _from_response(200, json.dumps(_answer(InferRequest(consumer="cam", input=[0.0])).model_dump(
        mode="json")).encode(), {**base, "index": 1}, "rohe-ensemble", 2.0)
    assert plain.breach is None
    from rohe.serving.loadgen import summarise

    (row,) = summarise([breached, plain], 1.0, 1.0)
    assert row.breaches == 1


def test_the_gateway_serves_its_docs_offline(gateway_url: str) -> None:
    # Same page as the platform API's (rohe.core.web): no CDN, every asset from the package.
    import httpx

    headers = {"Authorization": f"Bearer {TOKEN}"}
    page = httpx.get(f"{gateway_url}/docs", headers=headers, timeout=10)
    assert page.status_code == 200
    assert "https://" not in page.text and "http://" not in page.text
    assert "/docs/static/swagger-ui-bundle.js" in page.text
    script = httpx.get(f"{gateway_url}/docs/static/swagger-ui-bundle.js", headers=headers, timeout=10)
    assert script.status_code == 200 and len(script.content) > 500_000
