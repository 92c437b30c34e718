"""A running console for the browser tests: a real serving gateway process (the example pipeline, its model
endpoints left unstarted: the console only reads and sets policies), a seeded store, and `rohe ui` as a real
uvicorn process on a free port, all behind one API token; plus headless Chromium from the system (Debian's
chromium-headless-shell, never a Playwright download)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from seeding import Seeded, seed

from rohe.core.config import ApiSettings, Settings

TOKEN = "console-browser-token-0123456789"
ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "object_classification"
BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def chromium_path() -> str | None:
    configured = os.environ.get("ROHE_CHROMIUM")
    if configured:
        return configured
    for name in BROWSERS:
        bundled = Path("/usr/lib/chromium") / name
        found = shutil.which(name) or (str(bundled) if bundled.exists() else None)
        if found:
            return found
    return None


def _wait(url: str, process: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} never answered")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@dataclass
class Console:
    base: str
    ui: str
    gateway: str
    seeded: Seeded
    printed: str

    def api(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        return httpx.request(method, f"{self.base}{path}", headers={"Authorization": f"Bearer {TOKEN}"},
                             timeout=30.0, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    work = tmp_path_factory.mktemp("console")
    env = {**os.environ, "ROHE_API__TOKEN": TOKEN, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path])}
    gateway_port, api_port = free_port(), free_port()
    dead_model = f"http://127.0.0.1:{free_port()}"
    gateway = subprocess.Popen(
        [sys.executable, "-m", "rohe.cli.main", "start", "serving-service",
         "--pipeline", str(EXAMPLE / "pipeline.yaml"),
         "--contracts", str(EXAMPLE / "accuracy-first.yaml"), "--contracts", str(EXAMPLE / "fast-and-cheap.yaml"),
         "--profiles", str(EXAMPLE / "profiles.csv"), "--endpoint", f"mlp={dead_model}", "--no-observe",
         "--port", str(gateway_port)],
        env={**env, "ROHE_DATA_DIR": str(work / "gateway")}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    api: subprocess.Popen[bytes] | None = None
    try:
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        _wait(f"{gateway_url}/health", gateway)
        data = work / "data"
        settings = Settings(data_dir=data, api=ApiSettings(token=TOKEN))
        seeded = seed(settings, gateway_url=gateway_url, reports_dir=work / "reports")
        api = subprocess.Popen(
            [sys.executable, "-m", "rohe.cli.ui", "--port", str(api_port), "--reports", str(work / "reports")],
            env={**env, "ROHE_DATA_DIR": str(data)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{api_port}"
        assert api.stdout is not None
        printed = api.stdout.readline().decode().strip()
        _wait(f"{base}/health", api)
        yield Console(base, f"{base}/ui", gateway_url, seeded, printed)
    finally:
        if api is not None:
            _stop(api)
        _stop(gateway)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    executable = chromium_path()
    if executable is None:
        pytest.fail("no system Chromium: apt-get install -y chromium-headless-shell (or set ROHE_CHROMIUM)")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Where screenshots go: the test output, and docs/img when ROHE_UI_SCREENSHOTS names it."""
    folders = [tmp_path_factory.mktemp("screenshots")]
    extra = os.environ.get("ROHE_UI_SCREENSHOTS")
    if extra:
        target = (ROOT / extra).resolve()
        target.mkdir(parents=True, exist_ok=True)
        folders.append(target)
    return folders
