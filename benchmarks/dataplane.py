"""Open-loop load through the real serving gateway: client -> gateway (own process, HTTP) -> per-request
scheduling -> 3 trivial model services (own processes, HTTP) -> aggregation -> answer.

    .venv/bin/python benchmarks/dataplane.py            # 10 s per rate
    .venv/bin/python benchmarks/dataplane.py --quick    # 3 s per rate

Send times are fixed up front at the offered rate (rohe.serving.loadgen) and latency runs from the
*intended* send time, so a slow answer delays nothing and hides nothing (no coordinated omission). Every
request asks for `all-models`, so each one fans out to the three services. Two gateway costs are reported:
* handler overhead: the gateway's own measured total minus the time it waited on the members (scheduling,
  preprocessing, aggregation, bookkeeping), wall time inside the handler;
* gateway CPU per request: the whole gateway process's CPU time (user + system, psutil) over the rate's run
  divided by the requests it answered. That is what a user pays: HTTP parsing, body validation, response
  serialisation, the three member calls and the event loop, not only the handler.
Results: a Rich table and benchmarks/results/dataplane.json.

    .venv/bin/python benchmarks/dataplane.py --quick --rates 50,100 --profile-gateway out.pstats
    .venv/bin/python benchmarks/dataplane.py --sequential 300    # one request in flight, 3 repeats
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import socket
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np
import psutil
from rich.console import Console
from rich.table import Table

from rohe.serving.loadgen import LabelledSamples, LoadGenerator, RequestOutcome, RunResult, parse_workload_profile

RATES = (50, 100, 200, 400)
MODELS = ("alpha", "beta", "gamma")
CONSUMER = "bench"
DEADLINE_MS = 1000.0
TARGET_RATE, TARGET_OVERHEAD_P50_MS = 200, 2.0
TARGET_CPU_MS_PER_REQUEST = 1.0  # whole gateway process, three-member fan-out
RESULTS = Path(__file__).resolve().parent / "results" / "dataplane.json"
SAMPLE = [0.5] * 16
PAUSE_S = 3.0


def _serve_model(name: str, port: int) -> None:
    """Child process: one constant-probability model service."""
    import uvicorn

    from rohe.serving.model_service import create_model_app, from_callable

    constant = np.array([0.7, 0.1, 0.1, 0.1])
    predictor = from_callable(name, lambda batch: np.tile(constant, (batch.shape[0], 1)), range(4), len(SAMPLE))
    uvicorn.run(create_model_app(predictor), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _serve_gateway(port: int, endpoints: dict[str, list[str]], profile_to: str | None = None) -> None:
    """Child process: the serving gateway over the three models, one consumer, no preprocessing. With
    `profile_to`, the whole process runs under cProfile and writes its stats there on SIGTERM."""
    import uvicorn

    if profile_to is not None:
        import cProfile
        import signal
        import sys

        profiler = cProfile.Profile(time.process_time)  # CPU time: idle waiting is not a cost

        def _dump(*_: object) -> None:
            profiler.disable()
            profiler.dump_stats(profile_to)
            sys.exit(0)

        signal.signal(signal.SIGTERM, _dump)
        profiler.enable()

    from rohe.core.contracts import parse_contract
    from rohe.core.profiles import ModelProfile, ProfileCatalog
    from rohe.serving.gateway import build_gateway, create_gateway_app
    from rohe.serving.pipeline import parse_pipeline

    spec = parse_pipeline(
        {
            "application": "bench",
            "stages": [{"name": "inference", "services": list(MODELS)}],
            "services": [{"name": m, "image": "bench", "cpu": 100, "memory": {"rss": 50, "vms": 100}} for m in MODELS],
        }
    )
    # Generous p99s: the gateway caps each member's budget at its profiled p99, and this benchmark is about
    # throughput and overhead, not about members cut off by a tight profile.
    catalog = ProfileCatalog.of(
        ModelProfile(model=m, node_type="local", latency_p50_ms=5, latency_p95_ms=100, latency_p99_ms=300, accuracy=0.9)
        for m in MODELS
    )
    contract = parse_contract(
        {
            "consumer": CONSUMER,
            "ensemble": {"min": 1, "max": 3},
            "required_throughput": 1,
            "deadline_ms": DEADLINE_MS,
            "objectives": [
                {
                    "name": "acc",
                    "metric": "accuracy",
                    "aggregate": "mean",
                    "direction": "maximize",
                    "min": 0,
                    "max": 1,
                    "weight": 1,
                }
            ],
        }
    )
    gateway = build_gateway(spec, catalog, [contract], endpoints, seed=7)
    uvicorn.run(create_gateway_app(gateway), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(url: str, give_up: float) -> None:
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > give_up:
            raise RuntimeError(f"{url} did not start")
        time.sleep(0.1)


def start_processes(profile_to: str | None = None) -> tuple[str, list[Any]]:
    context = multiprocessing.get_context("spawn")
    processes: list[Any] = []
    endpoints: dict[str, list[str]] = {}
    for name in MODELS:
        port = _free_port()
        processes.append(context.Process(target=_serve_model, args=(name, port), daemon=True))
        endpoints[name] = [f"http://127.0.0.1:{port}"]
    gateway_port = _free_port()
    processes.append(context.Process(target=_serve_gateway, args=(gateway_port, endpoints, profile_to), daemon=True))
    for process in processes:
        process.start()
    give_up = time.monotonic() + 60
    for urls in endpoints.values():
        _wait_healthy(urls[0], give_up)
    url = f"http://127.0.0.1:{gateway_port}"
    _wait_healthy(url, give_up)
    return url, processes


def _profile(rate: float, duration: float) -> Any:
    return parse_workload_profile(
        {
            "name": f"{rate} req/s",
            "deadline_ms": DEADLINE_MS,
            "phases": [
                {
                    "name": "load",
                    "duration_s": duration,
                    "rate": rate,
                    "arrival": "constant",
                    "max_concurrency": 1024,
                    "mix": {CONSUMER: 1},
                    "algorithms": ["all-models"],
                }
            ],
        }
    )


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values), q)) if values else None


def summarise(rate: int, run: RunResult, cpu_share: float, gateway_cpu_s: float) -> dict[str, Any]:
    answered = [r for r in run.results if r.is_answered]
    e2e = [r.latency_ms for r in answered if r.latency_ms is not None]
    own = [r.gateway_ms - r.fanout_ms for r in answered if r.gateway_ms is not None and r.fanout_ms is not None]
    fanout = [r.fanout_ms for r in answered if r.fanout_ms is not None]
    # What the client and the HTTP hop to the gateway add: client-measured minus gateway-measured.
    outside = [r.latency_ms - r.gateway_ms for r in answered if r.latency_ms is not None and r.gateway_ms is not None]
    return {
        "offered_rps": rate,
        "requests": len(run.results),
        "ok": sum(r.status is RequestOutcome.OK for r in run.results),
        "partial": sum(r.status is RequestOutcome.PARTIAL for r in run.results),
        "errors": sum(r.status is RequestOutcome.ERROR for r in run.results),
        "dropped": sum(r.status is RequestOutcome.DROPPED for r in run.results),
        "achieved_rps": len(answered) / run.elapsed_s,
        "e2e_p50_ms": _pct(e2e, 50),
        "e2e_p99_ms": _pct(e2e, 99),
        "overhead_p50_ms": _pct(own, 50),
        "overhead_p99_ms": _pct(own, 99),
        "member_wait_p50_ms": _pct(fanout, 50),
        "client_and_gateway_http_p50_ms": _pct(outside, 50),
        "client_cpu_share": cpu_share,
        "gateway_cpu_ms_per_request": gateway_cpu_s * 1000 / len(answered) if answered else None,
        "error_kinds": _error_kinds(run),
    }


def _error_kinds(run: RunResult) -> dict[str, int]:
    """How requests failed, by the start of their message (e.g. members late at the deadline, timeouts)."""
    kinds: dict[str, int] = {}
    for result in run.results:
        if result.status is RequestOutcome.ERROR:
            key = (result.error or "?").split(":")[0][:60] if result.http_status != 503 else "503 no member answered"
            kinds[key] = kinds.get(key, 0) + 1
    return kinds


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def run(url: str, duration: float, gateway_pid: int, rates: tuple[int, ...] = RATES) -> list[dict[str, Any]]:
    gateway = psutil.Process(gateway_pid)
    samples = LabelledSamples((tuple(SAMPLE),), (0,))
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=10.0), connector=aiohttp.TCPConnector(limit=2048, limit_per_host=0)
    ) as session:
        generator = LoadGenerator(url, samples, session=session)
        await generator.run(_profile(50, 1.0))  # warm connections and code paths; not reported
        rows = []
        for rate in rates:
            await asyncio.sleep(PAUSE_S)  # let an overloaded rate drain so it does not spill into the next
            cpu_before, wall_before, gateway_before = time.process_time(), time.perf_counter(), _cpu_s(gateway)
            result = await generator.run(_profile(rate, duration))
            await asyncio.sleep(0.2)  # answers are in; let the gateway finish its bookkeeping of the last ones
            gateway_cpu = _cpu_s(gateway) - gateway_before
            cpu_share = (time.process_time() - cpu_before) / (time.perf_counter() - wall_before)
            rows.append(summarise(rate, result, cpu_share, gateway_cpu))
    return rows


async def sequential(url: str, gateway_pid: int, requests: int, repeats: int = 3) -> list[float]:
    """Gateway CPU ms per request with one request in flight: no queueing, timeouts or reconnections."""
    gateway = psutil.Process(gateway_pid)
    body = {"consumer": CONSUMER, "input": SAMPLE, "algorithm": "all-models"}
    figures = []
    async with aiohttp.ClientSession() as session:
        for round_ in range(repeats + 1):
            before = _cpu_s(gateway)
            for _ in range(requests):
                async with session.post(f"{url}/infer", json=body) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"gateway answered {response.status}")
            if round_:  # the first round warms connections and code paths
                figures.append((_cpu_s(gateway) - before) * 1000 / requests)
    return figures


def render(rows: list[dict[str, Any]]) -> None:
    table = Table(title="rohe serving gateway, open loop: 3 members (all-models), mean aggregation (ms)", expand=True)
    columns = [
        ("offered/s", "offered_rps"),
        ("achieved/s", "achieved_rps"),
        ("ok", "ok"),
        ("partial", "partial"),
        ("errors", "errors"),
        ("e2e p50", "e2e_p50_ms"),
        ("e2e p99", "e2e_p99_ms"),
        ("handler overhead p50", "overhead_p50_ms"),
        ("handler overhead p99", "overhead_p99_ms"),
        ("gateway cpu/req", "gateway_cpu_ms_per_request"),
        ("member wait p50", "member_wait_p50_ms"),
        ("http+client p50", "client_and_gateway_http_p50_ms"),
        ("client cpu", "client_cpu_share"),
    ]
    for title, _ in columns:
        table.add_column(title, justify="right")
    for row in rows:
        cells = [row[key] for _, key in columns]
        table.add_row(*("-" if c is None else f"{c:.2f}" if isinstance(c, float) else str(c) for c in cells))
    console = Console()
    if not console.is_terminal:
        console.width = 160
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 s per offered rate instead of 10 s")
    parser.add_argument("--rates", default=",".join(map(str, RATES)), help="offered rates, comma-separated")
    parser.add_argument("--profile-gateway", metavar="PSTATS", help="run the gateway under cProfile, stats here")
    parser.add_argument("--sequential", type=int, metavar="N", help="only: N requests one at a time, x3")
    args = parser.parse_args()
    rates = tuple(int(r) for r in args.rates.split(","))
    load_before = os.getloadavg()
    duration = 3.0 if args.quick else 10.0
    url, processes = start_processes(args.profile_gateway)
    if args.sequential:
        try:
            figures = asyncio.run(sequential(url, processes[-1].pid, args.sequential))
        finally:
            for process in processes:
                process.terminate()
                process.join(timeout=5)
        Console().print(
            f"gateway CPU per request, one in flight: {' / '.join(f'{f:.2f}' for f in figures)} ms "
            f"(load average {load_before[0]:.1f} -> {os.getloadavg()[0]:.1f})"
        )
        return
    try:
        rows = asyncio.run(run(url, duration, processes[-1].pid, rates))
    finally:
        for process in processes:
            process.terminate()
            process.join(timeout=5)
    render(rows)
    at_target = next((r for r in rows if r["offered_rps"] == TARGET_RATE), None)
    overhead = None if at_target is None else at_target["overhead_p50_ms"]
    met = overhead is not None and overhead < TARGET_OVERHEAD_P50_MS
    Console().print(
        f"target: handler overhead p50 < {TARGET_OVERHEAD_P50_MS} ms at {TARGET_RATE} req/s -> "
        f"{'-' if overhead is None else f'{overhead:.2f}'} ms, {'met' if met else 'NOT met'}"
    )
    cpu = {r["offered_rps"]: r["gateway_cpu_ms_per_request"] for r in rows if r["offered_rps"] <= 100}
    cpu_met = bool(cpu) and all(v is not None and v < TARGET_CPU_MS_PER_REQUEST for v in cpu.values())
    Console().print(
        f"target: gateway CPU per request < {TARGET_CPU_MS_PER_REQUEST} ms at <= 100 req/s -> "
        + ", ".join(f"{rate}/s: {'-' if v is None else f'{v:.2f}'} ms" for rate, v in cpu.items())
        + f", {'met' if cpu_met else 'NOT met'}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "dataplane",
        "path": "client -> gateway -> 3 model services -> aggregation (all HTTP, separate processes)",
        "mode": "quick" if args.quick else "full",
        "duration_s_per_rate": duration,
        "members": list(MODELS),
        "algorithm": "all-models",
        "deadline_ms": DEADLINE_MS,
        "overhead_definition": "gateway timings_ms.total - timings_ms.fanout",
        "gateway_cpu_definition": "gateway process user+system CPU time over the rate's run / requests answered",
        "machine": {
            "python": platform.python_version(),
            "cpus": multiprocessing.cpu_count(),
            # Other work on the machine skews every figure; the load average says how much there was.
            "loadavg_1m_before": load_before[0],
            "loadavg_1m_after": os.getloadavg()[0],
        },
        "target": {"rate_rps": TARGET_RATE, "overhead_p50_ms": TARGET_OVERHEAD_P50_MS, "met": met},
        "target_gateway_cpu": {"ms_per_request": TARGET_CPU_MS_PER_REQUEST, "rates": "<= 100 req/s", "met": cpu_met},
        "results": rows,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
