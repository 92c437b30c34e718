"""Open-loop load through InferencePipeline to three trivial model services over loopback HTTP.

    .venv/bin/python benchmarks/dataplane.py            # 10 s per rate
    .venv/bin/python benchmarks/dataplane.py --quick    # 2 s per rate, < 30 s in all

Send times are fixed up front at the offered rate and latency is measured from the *scheduled* send
time, so a slow response delays nothing and hides nothing (no coordinated omission). Each model service
runs in its own process, returns constant probabilities, and reports its own inference_ms; our overhead
is end-to-end latency minus the slowest answering member's inference_ms. Results go to
benchmarks/results/dataplane.json and a Rich table.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

from rohe.serving.dataplane import FanoutClient, InferencePipeline, InferenceResponse, ModelEndpoints

RATES = (50, 100, 200, 400)
MODELS = ("alpha", "beta", "gamma")
DEADLINE_MS = 1000.0
TARGET_RATE, TARGET_OVERHEAD_P50_MS = 200, 2.0
RESULTS = Path(__file__).resolve().parent / "results" / "dataplane.json"
SAMPLE = [0.5] * 16


def _serve(name: str, port: int) -> None:
    """Child process: one constant-probability model service."""
    import uvicorn

    from rohe.serving.model_service import create_model_app, from_callable

    constant = np.array([0.7, 0.1, 0.1, 0.1])
    predictor = from_callable(name, lambda batch: np.tile(constant, (batch.shape[0], 1)), range(4), len(SAMPLE))
    uvicorn.run(create_model_app(predictor), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_services() -> tuple[dict[str, list[str]], list[multiprocessing.context.SpawnProcess]]:
    context = multiprocessing.get_context("spawn")
    endpoints: dict[str, list[str]] = {}
    processes = []
    for name in MODELS:
        port = _free_port()
        process = context.Process(target=_serve, args=(name, port), daemon=True)
        process.start()
        processes.append(process)
        endpoints[name] = [f"http://127.0.0.1:{port}"]
    give_up = time.monotonic() + 30
    for urls in endpoints.values():
        while True:
            try:
                if httpx.get(f"{urls[0]}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > give_up:
                raise RuntimeError(f"model service {urls[0]} did not start")
            time.sleep(0.1)
    return endpoints, processes


@dataclass
class Sample:
    scheduled: float
    sent: float
    done: float
    response: InferenceResponse


async def open_loop(pipeline: InferencePipeline, rate: float, count: int) -> tuple[float, list[Sample | None]]:
    """Fire `count` requests at fixed times; None marks one whose deadline passed before it could leave."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    schedule = [start + i / rate for i in range(count)]

    async def one(index: int, at: float) -> Sample | None:
        await asyncio.sleep(max(0.0, at - loop.time()))
        sent = loop.time()
        # The deadline runs from arrival (the scheduled time), as a caller's SLO would: time spent queued
        # in our own event loop counts against it, so an overloaded run sheds stale work instead of piling up.
        budget_ms = DEADLINE_MS - (sent - at) * 1000
        if budget_ms <= 0:
            return None
        response = await pipeline.infer(f"r{rate}-{index}", SAMPLE, MODELS, "mean", budget_ms)
        return Sample(at, sent, loop.time(), response)

    samples = await asyncio.gather(*(one(i, at) for i, at in enumerate(schedule)))
    return start, list(samples)


def summarise(rate: int, start: float, attempts: list[Sample | None], cpu_share: float) -> dict[str, Any]:
    samples = [s for s in attempts if s is not None]
    ok = [s for s in samples if s.response.ok]
    end_to_end = np.array([(s.done - s.scheduled) * 1000 for s in ok])
    inference = np.array(
        [max(o.inference_ms or 0.0 for o in s.response.outcomes if o.inference_ms is not None) for s in ok]
    )
    overhead = end_to_end - inference
    # What our own code adds on top of the slowest member's HTTP round trip: task setup, deadline
    # bookkeeping, aggregation. The rest of `overhead` is the HTTP stacks on both sides and the kernel.
    internal = np.array([s.response.timings.total_ms - max(o.latency_ms for o in s.response.outcomes) for s in ok])
    send_lag = np.array([(s.sent - s.scheduled) * 1000 for s in samples])
    elapsed = max((s.done for s in samples), default=start + 1) - start

    def pct(values: np.ndarray[Any, Any], q: float) -> float | None:
        return float(np.percentile(values, q)) if values.size else None

    return {
        "offered_rps": rate,
        "requests": len(attempts),
        "ok": len(ok),
        "errors": len(samples) - len(ok),
        "expired_before_send": len(attempts) - len(samples),
        "client_cpu_share": cpu_share,
        "late_members": sum(len(s.response.late) for s in samples),
        "failed_members": sum(len(s.response.failed) for s in samples),
        "achieved_rps": len(ok) / elapsed,
        "e2e_p50_ms": pct(end_to_end, 50),
        "e2e_p99_ms": pct(end_to_end, 99),
        "overhead_p50_ms": pct(overhead, 50),
        "overhead_p99_ms": pct(overhead, 99),
        "pipeline_internal_p50_ms": pct(internal, 50),
        "member_inference_p50_ms": pct(inference, 50),
        "send_lag_p99_ms": pct(send_lag, 99),
    }


async def run(endpoints: dict[str, list[str]], duration: float, max_count: int) -> list[dict[str, Any]]:
    rows = []
    async with FanoutClient(ModelEndpoints(endpoints)) as fanout:
        pipeline = InferencePipeline(fanout)
        await open_loop(pipeline, 50, 50)  # warm connections and code paths; not reported
        for rate in RATES:
            cpu_before, wall_before = time.process_time(), time.perf_counter()
            start, samples = await open_loop(pipeline, rate, min(int(rate * duration), max_count))
            cpu_share = (time.process_time() - cpu_before) / (time.perf_counter() - wall_before)
            rows.append(summarise(rate, start, samples, cpu_share))
    return rows


def render(rows: list[dict[str, Any]]) -> None:
    table = Table(title="rohe data plane: open-loop, 3 members, mean aggregation (ms)", expand=True)
    columns = [
        ("offered/s", "offered_rps"),
        ("achieved/s", "achieved_rps"),
        ("ok", "ok"),
        ("errors", "errors"),
        ("expired", "expired_before_send"),
        ("client cpu", "client_cpu_share"),
        ("e2e p50", "e2e_p50_ms"),
        ("e2e p99", "e2e_p99_ms"),
        ("overhead p50", "overhead_p50_ms"),
        ("overhead p99", "overhead_p99_ms"),
        ("internal p50", "pipeline_internal_p50_ms"),
        ("member inf p50", "member_inference_p50_ms"),
    ]
    for title, _ in columns:
        table.add_column(title, justify="right")
    for row in rows:
        cells = [row[key] for _, key in columns]
        table.add_row(*("-" if c is None else f"{c:.2f}" if isinstance(c, float) else str(c) for c in cells))
    Console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 s per offered rate instead of 10 s")
    args = parser.parse_args()
    load_before = os.getloadavg()
    duration, max_count = (2.0, 800) if args.quick else (10.0, 4000)
    endpoints, processes = start_services()
    try:
        rows = asyncio.run(run(endpoints, duration, max_count))
    finally:
        for process in processes:
            process.terminate()
            process.join(timeout=5)
    render(rows)
    at_target = next(r for r in rows if r["offered_rps"] == TARGET_RATE)
    met = at_target["overhead_p50_ms"] is not None and at_target["overhead_p50_ms"] < TARGET_OVERHEAD_P50_MS
    Console().print(
        f"target: overhead p50 < {TARGET_OVERHEAD_P50_MS} ms at {TARGET_RATE} req/s -> "
        f"{at_target['overhead_p50_ms']:.2f} ms, {'met' if met else 'NOT met'}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "dataplane",
        "mode": "quick" if args.quick else "full",
        "duration_s_per_rate": duration,
        "members": list(MODELS),
        "aggregation": "mean",
        "deadline_ms": DEADLINE_MS,
        "machine": {
            "python": platform.python_version(),
            "cpus": multiprocessing.cpu_count(),
            # Other work on the machine skews every figure; the load average says how much there was.
            "loadavg_1m_before": load_before[0],
            "loadavg_1m_after": os.getloadavg()[0],
        },
        "target": {"rate_rps": TARGET_RATE, "overhead_p50_ms": TARGET_OVERHEAD_P50_MS, "met": met},
        "results": rows,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
