"""End-to-end observation ingest per transport: probe -> transport -> agent (decode, dedup, windows) -> storage.

    .venv/bin/python benchmarks/ingest.py                  # 50,000 reports per transport, in-memory sink
    .venv/bin/python benchmarks/ingest.py --quick          # 10,000 reports per transport
    .venv/bin/python benchmarks/ingest.py --store sqlite   # windows go to rohe's ObservationStore (SQLite file)
    .venv/bin/python benchmarks/ingest.py --store postgresql+psycopg://postgres@127.0.0.1/test

A Probe (H5's non-blocking sender, batches of 100) submits gateway-like REQUEST reports with timestamps spread
over the run; an ObservationAgent subscribed on the same channel keeps 1 s tumbling and 5 s / 1 s sliding windows
per consumer. The clock starts before the first submit and stops once the agent has received every report and
stop() has flushed the last windows into the sink. Reports are built before the clock starts (that is the
caller's work, not ingest). Checks: the stored tumbling windows for all consumers count exactly N requests.
Results go to benchmarks/results/ingest.json and a Rich table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import platform
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rohe.observation.agent import AgentConfig, ObservationAgent, WindowSink
from rohe.observation.brokers import AmqpTransport, JetStreamTransport
from rohe.observation.metrics import ALL_CONSUMERS, WindowKind, WindowMetrics
from rohe.observation.probes import Probe
from rohe.observation.reports import Report, ReportKind, RequestStatus
from rohe.observation.transports import make_transport

RESULTS = Path(__file__).resolve().parent / "results" / "ingest.json"
BATCH = 100
KINDS = ("direct", "inproc", "mqtt", "amqp", "nats", "nats-jetstream")
TARGETS = {"direct": 50_000.0, "inproc": 50_000.0, "mqtt": 10_000.0}
RATE_HINT = 50_000  # reports per second of event time, so windows hold realistic counts


class MemorySink:
    """WindowSink keeping the latest version of every window in a dict (what a database upsert does)."""

    def __init__(self) -> None:
        self.windows: dict[tuple[Any, ...], WindowMetrics] = {}
        self.state: dict[tuple[str, str], dict[str, Any]] = {}

    def save_windows(self, windows: Sequence[WindowMetrics]) -> None:
        for w in windows:
            self.windows[(w.app, w.run, w.consumer, w.kind, w.start, w.end)] = w

    def load_agent_state(self, app: str, run: str) -> dict[str, Any] | None:
        return self.state.get((app, run))

    def save_agent_state(self, app: str, run: str, state: dict[str, Any]) -> None:
        self.state[(app, run)] = state


def _reports(app: str, run: str, count: int) -> list[Report]:
    start = datetime.now(UTC)
    return [
        Report(
            app=app,
            run=run,
            kind=ReportKind.REQUEST,
            timestamp=start + timedelta(seconds=i / RATE_HINT),
            consumer=f"c{i % 3}",
            request_id=f"q{i}",
            status=RequestStatus.OK,
            members=["m1", "m2", "m3"],
            cost=0.01,
            predicted_class="cat",
            confidence=0.8,
            end_to_end_ms=6.5,
            stage_latency_ms={"scheduling": 0.1, "preprocessing": 1.0, "fanout": 5.0, "aggregation": 0.4},
        )
        for i in range(count)
    ]


def _sink(store: str | None, workdir: Path) -> tuple[WindowSink, Any]:
    if store is None:
        return MemorySink(), None
    from rohe.observation.store import ObservationStore

    url = f"sqlite:///{workdir / 'bench.db'}" if store == "sqlite" else store
    observation_store = ObservationStore(url)
    observation_store.store.upgrade()
    return observation_store, observation_store


def _stored_requests(sink: WindowSink, app: str, run: str) -> int:
    if isinstance(sink, MemorySink):
        windows = list(sink.windows.values())
    else:
        windows = sink.list_windows(app, run=run, consumer=ALL_CONSUMERS)  # type: ignore[attr-defined]
    return sum(w.requests for w in windows if w.kind is WindowKind.TUMBLING and w.consumer == ALL_CONSUMERS)


def _measure_direct(count: int, store: str | None, workdir: Path) -> dict[str, Any]:
    """The embedded path: a gateway in the agent's process hands reports to `agent.ingest` (no encoding)."""
    app, run = "bench", f"direct{uuid.uuid4().hex[:6]}"
    reports = _reports(app, run, count)
    sink, owned = _sink(store, workdir)
    agent = ObservationAgent(_config(app, run, "inproc"), sink)
    started = time.perf_counter()
    for i in range(0, count, BATCH):
        agent.ingest(reports[i : i + BATCH])
    received_at = time.perf_counter()
    agent.stop()
    return _row("direct", count, started, received_at, time.perf_counter() - started, agent, sink, owned)


def _config(app: str, run: str, kind: str) -> AgentConfig:
    return AgentConfig.model_validate(
        {
            "app": app,
            "run": run,
            "transport": {"kind": kind},
            "allowed_lateness_s": 0.5,
            "idle_close_s": None,
            "windows": [{"size_s": 1}, {"kind": "sliding", "size_s": 5, "step_s": 1}],
        }
    )


def _row(
    kind: str,
    count: int,
    started: float,
    received_at: float,
    elapsed: float,
    agent: ObservationAgent,
    sink: WindowSink,
    owned: Any,
) -> dict[str, Any]:
    stats = agent.stats
    stored = _stored_requests(sink, agent.config.app, agent.config.run)
    if owned is not None:
        owned.close()
    return {
        "transport": kind,
        "reports": count,
        "batch": BATCH,
        "reports_per_s": round(count / elapsed),
        "receive_only_per_s": round(count / (received_at - started)),
        "received": stats.received,
        "duplicates": stats.duplicates,
        "late_dropped": stats.late_dropped,
        "windows": stats.windows_emitted,
        "stored_requests": stored,
        "complete": stored == count,
        "target_per_s": TARGETS.get(kind),
        "meets_target": None if kind not in TARGETS else count / elapsed >= TARGETS[kind],
    }


def _measure(kind: str, count: int, store: str | None, workdir: Path) -> dict[str, Any]:
    if kind == "direct":
        return _measure_direct(count, store, workdir)
    app, run = "bench", f"{kind.replace('-', '')}{uuid.uuid4().hex[:6]}"
    reports = _reports(app, run, count)
    sink, owned = _sink(store, workdir)
    agent = ObservationAgent(_config(app, run, kind), sink)
    agent.start()
    probe = Probe(
        app,
        run,
        transport=make_transport(kind, app, run, subscriber="bench-probe"),
        batch_size=BATCH,
        flush_interval_s=0.01,
        max_in_memory=count + 1,
        spill_dir=workdir / "spill",
    )
    try:
        started = time.perf_counter()
        for report in reports:
            probe.submit(report)
        deadline = time.monotonic() + 300
        while agent.stats.received < count and time.monotonic() < deadline:
            time.sleep(0.002)
        received_at = time.perf_counter()
        agent.stop()
        elapsed = time.perf_counter() - started
    finally:
        probe.close()
        agent.stop()
        asyncio.run(_cleanup(kind, app, run))
    return _row(kind, count, started, received_at, elapsed, agent, sink, owned)


async def _cleanup(kind: str, app: str, run: str) -> None:
    """Remove the durable queue / stream the run created, so benchmarks leave no broker state behind."""
    with contextlib.suppress(Exception):
        if kind == "amqp":
            amqp = AmqpTransport(app, run)
            await (await amqp.subscribe()).aclose()
            await amqp.delete_queue()
            await amqp.close()
        elif kind == "nats-jetstream":
            jetstream = JetStreamTransport(app, run)
            await jetstream.delete_stream()
            await jetstream.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 reports per transport instead of 50,000")
    parser.add_argument("--store", default=None, help="'sqlite' or a database URL; default: an in-memory sink")
    parser.add_argument("--transports", default=",".join(KINDS), help=f"comma-separated subset of {KINDS}")
    args = parser.parse_args()
    count = 10_000 if args.quick else 50_000
    rows = []
    with tempfile.TemporaryDirectory(prefix="rohe-ingest-") as tmp:
        _measure_direct(2_000, None, Path(tmp))  # warm-up: first-use costs of pydantic and NumPy are not ingest
        for kind in args.transports.split(","):
            rows.append(_measure(kind.strip(), count, args.store, Path(tmp)))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": platform.platform(),
                "quick": args.quick,
                "store": args.store or "memory",
                "pipeline": "probe -> transport -> agent -> sink",
                "results": rows,
            },
            indent=2,
        )
    )
    table = Table(title=f"End-to-end ingest, {count:,} reports, batches of {BATCH}, sink: {args.store or 'memory'}")
    for column in ("transport", "reports/s", "receive only", "windows", "complete", "target", "met"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["transport"],
            f"{row['reports_per_s']:,}",
            f"{row['receive_only_per_s']:,}",
            str(row["windows"]),
            "yes" if row["complete"] else f"no ({row['stored_requests']:,})",
            "-" if row["target_per_s"] is None else f"{row['target_per_s']:,.0f}",
            "-" if row["meets_target"] is None else ("yes" if row["meets_target"] else "no"),
        )
    Console().print(table)


if __name__ == "__main__":
    main()
