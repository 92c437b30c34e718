"""End-to-end report ingest rate per transport: publish -> receive + decode, counted by report id.

    .venv/bin/python benchmarks/ingest.py            # 50,000 reports per transport
    .venv/bin/python benchmarks/ingest.py --quick    # 10,000 reports per transport

Publisher and consumer run in one event loop on this machine against the local brokers; the clock starts
before the first publish and stops when the last report has been decoded. Results go to
benchmarks/results/ingest.json and a Rich table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rohe.observation.brokers import AmqpTransport, MqttTransport, NatsTransport
from rohe.observation.reports import Report, ReportKind
from rohe.observation.transports import InProcessTransport, Transport

RESULTS = Path(__file__).resolve().parent / "results" / "ingest.json"
BATCH = 100
TARGETS = {"in-process": 50_000.0, "mqtt": 10_000.0}


def _reports(count: int) -> list[Report]:
    return [Report(app="bench", run="r", kind=ReportKind.REQUEST, request_id=f"q{i}", model_id="m",
                   stage_latency_ms={"pre": 1.0, "infer": 5.0, "post": 0.5}, end_to_end_ms=6.5,
                   predicted_class="cat", confidence=0.8) for i in range(count)]


async def _measure(transport: Transport, reports: list[Report]) -> float:
    ids: set[uuid.UUID] = set()
    stream = await transport.subscribe()

    async def consume() -> None:
        async for batch in stream:
            ids.update(r.report_id for r in batch)
            if len(ids) >= len(reports):
                return

    try:
        start = time.perf_counter()
        consumer = asyncio.create_task(consume())
        async with asyncio.timeout(120):
            for i in range(0, len(reports), BATCH):
                await transport.publish(reports[i : i + BATCH])
            await consumer
        await stream.aclose()
        return len(reports) / (time.perf_counter() - start)
    finally:
        if isinstance(transport, AmqpTransport):
            await transport.delete_queue()
        await transport.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 reports per transport instead of 50,000")
    args = parser.parse_args()
    count = 10_000 if args.quick else 50_000
    reports = _reports(count)
    run = uuid.uuid4().hex[:8]
    factories: dict[str, Callable[[], Transport]] = {
        "in-process": InProcessTransport,
        "mqtt": lambda: MqttTransport("bench", run),
        "amqp": lambda: AmqpTransport("bench", run),
        "nats": lambda: NatsTransport("bench", run),
    }
    rows = []
    for name, factory in factories.items():
        rate = asyncio.run(_measure(factory(), reports))
        target = TARGETS.get(name)
        rows.append({"transport": name, "reports": count, "batch": BATCH, "reports_per_s": round(rate),
                     "target_per_s": target, "meets_target": None if target is None else rate >= target})
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": platform.platform(), "quick": args.quick, "results": rows}, indent=2))
    table = Table(title=f"Report ingest, {count} reports, batches of {BATCH}")
    for column in ("transport", "reports/s", "target", "met"):
        table.add_column(column)
    for row in rows:
        table.add_row(str(row["transport"]), f"{row['reports_per_s']:,}",
                      "-" if row["target_per_s"] is None else f"{row['target_per_s']:,.0f}",
                      "-" if row["meets_target"] is None else ("yes" if row["meets_target"] else "no"))
    Console().print(table)


if __name__ == "__main__":
    main()
