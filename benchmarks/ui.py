"""The console at fleet size: page load time, SSE update latency and browser memory with 1,000 nodes, 10,000
replicas and 50 consumers (the store is seeded directly; the API runs as `rohe ui` in its own process).

    .venv/bin/python benchmarks/ui.py                      # 1,000 nodes / 10,000 replicas / 50 consumers
    .venv/bin/python benchmarks/ui.py --nodes 100 --replicas 1000 --consumers 10 --runs 2

Per page, in headless Chromium (the system's chromium-headless-shell, as in tests/ui): `load` is navigation start
to the load event (HTML, CSS, JS, the server-rendered tables), `live` is navigation start to the first SSE update
applied to the page (the page is then fully current); `html` is the page's size; `heap` is the JS heap the page
uses and `dom` its element count (Chrome DevTools Performance metrics); `browser PSS` is the proportional
resident memory of the whole Chromium process tree with the five pages open. `SSE latency` is the time from an
API call that adds a node to the cluster page showing the new node count, without a reload (the stream checks
for a change every second, so part of it is that interval, and at fleet size the time to rebuild the view).
Output: a Rich table and benchmarks/results/ui.json with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ui"))
from console_fixtures import chromium_path, free_port  # noqa: E402
from seeding import seed  # noqa: E402

from rohe.core.config import Settings  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "ui.json"
PAGES = ("cluster", "apps", "violations", "serving", "reports")


def _browser_rss(pid: int) -> float:
    root = psutil.Process(pid)
    # PSS, not RSS: Chromium's processes share most of their pages, and RSS would count them once per process.
    return sum(p.memory_full_info().pss for p in [root, *root.children(recursive=True)]) / 2**20


def _measure_page(browser: Any, base: str, name: str) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    started = time.perf_counter()
    response = page.goto(f"{base}/ui/{name}", wait_until="load", timeout=300_000)
    loaded = time.perf_counter() - started
    live = float("nan")
    if name != "reports":
        page.wait_for_selector("body[data-updates]", state="attached", timeout=300_000)
        live = time.perf_counter() - started
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    html = len(response.body()) if response is not None else 0
    result = {"load_s": loaded, "live_s": live, "html_kib": html / 1024,
              "heap_mib": metrics.get("JSHeapUsedSize", 0) / 2**20, "dom_nodes": metrics.get("Nodes", 0)}
    page.close()
    return result


def _sse_latency(browser: Any, base: str, runs: int) -> list[float]:
    page = browser.new_page()
    page.goto(f"{base}/ui/cluster", timeout=300_000)
    page.wait_for_selector("body[data-updates]", state="attached", timeout=300_000)
    latencies = []
    for i in range(runs):
        count = int(page.inner_text("[data-total=nodes] >> nth=0"))
        node = {"name": f"late-{i}", "cores": [1000, 1000], "memory": {"rss": 2048, "vms": 2048}}
        httpx.post(f"{base}/orchestration/nodes", json=node, timeout=60).raise_for_status()
        added = time.perf_counter()
        page.wait_for_function(f"document.querySelector('[data-total=nodes]').textContent === '{count + 1}'",
                               timeout=120_000, polling=20)
        latencies.append(time.perf_counter() - added)
    page.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--replicas", type=int, default=10_000)
    parser.add_argument("--consumers", type=int, default=50)
    parser.add_argument("--windows", type=int, default=60, help="stored windows per consumer (chart points)")
    parser.add_argument("--runs", type=int, default=3, help="loads per page and SSE measurements")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise SystemExit("no system Chromium: apt-get install -y chromium-headless-shell (or set ROHE_CHROMIUM)")
    work = Path(tempfile.mkdtemp(prefix="rohe-ui-bench-"))
    settings = Settings(data_dir=work / "data")
    started = time.perf_counter()
    seed(settings, nodes=args.nodes, replicas=args.replicas, consumers=args.consumers, windows=args.windows,
         direct=True, reports_dir=work / "data" / "reports")
    seeded_s = time.perf_counter() - started
    port = free_port()
    env = {**os.environ, "ROHE_DATA_DIR": str(settings.data_dir),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    env.pop("ROHE_API__TOKEN", None)
    server = subprocess.Popen([sys.executable, "-m", "rohe.cli.ui", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        json_s = []
        for _ in range(args.runs):
            t = time.perf_counter()
            httpx.get(f"{base}/ui/api/cluster", timeout=120).raise_for_status()
            json_s.append(time.perf_counter() - t)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            pid = browser_pid(browser)
            pages: dict[str, dict[str, float]] = {}
            for name in PAGES:
                runs = [_measure_page(browser, base, name) for _ in range(args.runs)]
                pages[name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            context = browser.new_context()
            opened = [context.new_page() for _ in PAGES]
            for page, name in zip(opened, PAGES, strict=True):
                page.goto(f"{base}/ui/{name}", timeout=300_000)
            rss_all = _browser_rss(pid) if pid else float("nan")
            context.close()
            sse = _sse_latency(browser, base, args.runs)
            browser.close()
        server_rss = psutil.Process(server.pid).memory_info().rss / 2**20
    finally:
        server.terminate()
        server.wait(timeout=30)
    load = os.getloadavg()
    table = Table(title=f"Console at {args.nodes} nodes / {args.replicas} replicas / {args.consumers} consumers "
                        f"(load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f})")
    for column in ("page", "load (s)", "live (s)", "HTML (KiB)", "JS heap (MiB)", "DOM nodes"):
        table.add_column(column, justify="left" if column == "page" else "right")
    for name, r in pages.items():
        table.add_row(name, f"{r['load_s']:.2f}", f"{r['live_s']:.2f}", f"{r['html_kib']:.0f}",
                      f"{r['heap_mib']:.1f}", f"{r['dom_nodes']:.0f}")
    Console().print(table)
    Console().print(f"SSE update latency (median of {len(sse)}): {statistics.median(sse):.2f} s "
                    f"(max {max(sse):.2f} s) · /ui/api/cluster JSON: {statistics.median(json_s):.2f} s · "
                    f"Chromium PSS with all five pages open: {rss_all:.0f} MiB · API process RSS: {server_rss:.0f} MiB"
                    f" · seeding: {seeded_s:.1f} s")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "nodes": args.nodes, "replicas": args.replicas, "consumers": args.consumers, "windows": args.windows,
        "pages": pages, "sse_latency_s": sse, "cluster_json_s": json_s, "browser_rss_mib": rss_all,
        "api_rss_mib": server_rss, "seed_s": seeded_s, "loadavg": load,
    }, indent=2))


def browser_pid(browser: Any) -> int | None:
    """The Chromium process Playwright launched: the child of this process running the executable."""
    for child in psutil.Process().children(recursive=True):
        try:
            if "chrom" in child.name() and child.parent() and "chrom" not in child.parent().name():
                return int(child.pid)
        except psutil.Error:
            continue
    return None


if __name__ == "__main__":
    main()
