"""Detection latency: from the start of a fault to its stored, explained contract violation.

    .venv/bin/python benchmarks/detection.py            # 1 s and 5 s windows, 5 repeats per fault
    .venv/bin/python benchmarks/detection.py --quick    # 2 repeats with 1 s windows, 1 with 5 s

Per run: a fresh SQLite ObservationStore in a temp dir; an ObservationAgent subscribed on the in-process
transport with tumbling windows of W seconds and a ContractEvaluator as its listener, for consumer `gold` whose
contract asks p99 end-to-end <= 250 ms and accuracy >= 0.85 (both per window). A Probe feeds, in real time,
200 requests/s as the serving gateway reports them (aggregated report with stage latencies, three member
reports with their own predictions and inference times, feedback with the true class). After a healthy phase
(three windows and a random part of a fourth, so faults start anywhere in a window) a fault starts at T:
- stage: the `preprocessing` stage jumps from ~8 ms to ~300 ms;
- model: member `m2` turns confidently wrong (accuracy 95% -> 30%) and, being the most confident member,
  decides the ensemble's answer.
Measured: T -> the first poll (every 20 ms) that finds in the store a violation of the fault's metric for a
window ending after T, with causes; and the overhead, the part of the delay after that window's end plus the
allowed lateness (delivery, aggregation, evaluation, the SQLite write, polling). Checked: the top cause names
the injected stage/model; the violation is about the first window holding faulty requests (a fault starting in
the last ~15% of a window leaves that window's accuracy above 0.85, so only the next window can show it); the
delay stays within one window + allowed lateness + a delivery budget. Violations of windows that ended before
T are false alarms. Results: Rich table and benchmarks/results/detection.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rohe.core.contracts import load_contract
from rohe.observation.agent import AgentConfig, ObservationAgent
from rohe.observation.evaluation import ContractEvaluator
from rohe.observation.metrics import WindowKind
from rohe.observation.probes import Probe
from rohe.observation.store import ObservationStore

RESULTS = Path(__file__).resolve().parent / "results" / "detection.json"
RATE = 200.0  # requests per second
LATENESS_S = 0.25  # the agent's allowed lateness
DELIVERY_BUDGET_S = 0.25  # probe batching (20 ms), evaluation and the SQLite write, beyond window + lateness
POLL_S = 0.02
P99_SLO_MS, ACCURACY_SLO = 250.0, 0.85
MODELS = {"m1": (40.0, 0.95), "m2": (35.0, 0.95), "m3": (50.0, 0.95)}  # median inference ms, accuracy
CLASSES = [str(c) for c in range(5)]
FAULTS = {"stage": ("end_to_end.p99_ms", "preprocessing"), "model": ("accuracy", "m2")}

CONTRACT = """
contract:
  contract_id: gold
  tenant_id: bench
  pipeline_id: detection
  effective_from: "2024-01-01T00:00:00Z"
  performance_slo: {{response_time_p99_ms: {p99}, throughput_rps: 1.0, availability_percent: 90.0}}
  quality_slo:
    builtin_metrics:
      accuracy: {{operator: ">=", value: {accuracy}, window: "{window}s", action_on_violation: alert}}
"""


@dataclass
class Run:
    window_s: float
    fault: str
    delay_s: float | None  # None: not detected before the time-out
    delay_windows: float | None
    first_window: bool  # the violation is about the window that holds T
    within_target: bool  # delay <= window + lateness + delivery budget
    overhead_s: float | None  # delay beyond the violated window's end + allowed lateness: delivery, evaluation, store
    top_cause: str | None
    top_cause_right: bool
    false_violations: int
    fault_offset_s: float  # where in its window the fault started
    requests: int


class Workload:
    """Sends gateway-shaped reports through a probe at RATE per second until stopped; `fault` switches on."""

    def __init__(self, probe: Probe, fault: str, seed: int) -> None:
        self.probe, self.fault_kind = probe, fault
        self.faulty = threading.Event()
        self.sent = 0
        self._stop = threading.Event()
        self._random = random.Random(seed)
        self._thread = threading.Thread(target=self._loop, name="detection-workload", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(0.005):
            due = int((time.monotonic() - started) * RATE)
            while self.sent < due:
                self._request(f"q{self.sent}")
                self.sent += 1

    def _request(self, request_id: str) -> None:
        rnd, fault = self._random, self.faulty.is_set()
        truth = rnd.choice(CLASSES)
        answers: dict[str, tuple[str, float, float]] = {}
        for model, (median_ms, accuracy) in MODELS.items():
            confidence = rnd.uniform(0.6, 0.9)
            if fault and self.fault_kind == "model" and model == "m2":
                accuracy, confidence = 0.30, 0.99  # drifted and over-confident
            right = rnd.random() < accuracy
            predicted = truth if right else rnd.choice([c for c in CLASSES if c != truth])
            answers[model] = (predicted, confidence, median_ms * rnd.lognormvariate(0.0, 0.3))
        preprocessing = 8.0 * rnd.lognormvariate(0.0, 0.2)
        if fault and self.fault_kind == "stage":
            preprocessing = 300.0 * rnd.lognormvariate(0.0, 0.1)
        fanout = max(ms for _, _, ms in answers.values()) + 3.0
        stages = {"scheduling": rnd.uniform(0.5, 1.5), "preprocessing": preprocessing, "fanout": fanout,
                  "aggregation": rnd.uniform(0.5, 1.5)}
        chosen = max(answers, key=lambda m: answers[m][1])  # the most confident member decides
        predicted, confidence, _ = answers[chosen]
        self.probe.request(request_id=request_id, consumer="gold", status="ok", predicted_class=predicted,
                           confidence=confidence, members=list(MODELS), cost=0.03,
                           end_to_end_ms=sum(stages.values()), stage_latency_ms=stages,
                           attributes={"algorithm": "bench", "ensemble_size": "3", "deadline_missed": "false"})
        for model, (answer, member_confidence, inference_ms) in answers.items():
            self.probe.member(model, request_id=request_id, consumer="gold", predicted_class=answer,
                              confidence=member_confidence, inference_ms=inference_ms)
        self.probe.feedback(request_id, truth, consumer="gold")


def _wait_for_window_start(window_s: float) -> None:
    """Start feeding on a window boundary, so the first window is full and its throughput is real."""
    now = time.time()
    time.sleep(window_s - now % window_s)


def measure(window_s: float, fault: str, seed: int, workdir: Path) -> Run:
    metric, culprit = FAULTS[fault]
    app, run = "detect", f"{fault}-{uuid.uuid4().hex[:8]}"
    contract = workdir / f"{run}.yaml"
    contract.write_text(CONTRACT.format(p99=P99_SLO_MS, accuracy=ACCURACY_SLO, window=f"{window_s:g}"))
    store = ObservationStore(f"sqlite:///{workdir / (run + '.db')}")
    store.store.upgrade()
    evaluator = ContractEvaluator([load_contract(contract)], sink=store, window_kind=WindowKind.TUMBLING)
    config = AgentConfig.model_validate({"app": app, "run": run, "transport": {"kind": "inproc"},
                                         "windows": [{"size_s": window_s}], "allowed_lateness_s": LATENESS_S,
                                         "idle_close_s": 1.0})
    agent = ObservationAgent(config, store, listeners=[evaluator])
    agent.start()
    probe = Probe(app, run, service="gateway", flush_interval_s=0.02, spill_dir=workdir / "spill")
    workload = Workload(probe, fault, seed)
    rnd = random.Random(seed)
    try:
        _wait_for_window_start(window_s)
        workload.start()
        time.sleep(max(3 * window_s, 3.0) + rnd.uniform(0.0, window_s))
        workload.faulty.set()
        fault_mono, fault_wall = time.monotonic(), datetime.now(UTC)
        found, delay = None, None
        while time.monotonic() - fault_mono < 3 * window_s + 3.0:
            hits = [v for v in store.list_violations(app, run) if v.metric == metric and v.window_end > fault_wall
                    and v.causes]
            if hits:
                delay = time.monotonic() - fault_mono
                found = min(hits, key=lambda v: v.window_end)
                break
            time.sleep(POLL_S)
    finally:
        workload.stop()
        probe.close()
        agent.stop()
    false_alarms = [v for v in store.list_violations(app, run) if v.window_end <= fault_wall]
    store.close()
    offset = fault_wall.timestamp() % window_s
    top = found.causes[0].name if found is not None else None
    overhead = None
    if found is not None and delay is not None:
        overhead = delay - (found.window_end - fault_wall).total_seconds() - LATENESS_S
    return Run(
        window_s=window_s, fault=fault, delay_s=delay, delay_windows=None if delay is None else delay / window_s,
        first_window=found is not None and found.window_start <= fault_wall < found.window_end,
        within_target=delay is not None and delay <= window_s + LATENESS_S + DELIVERY_BUDGET_S,
        overhead_s=overhead,
        top_cause=top, top_cause_right=top == culprit, false_violations=len(false_alarms),
        fault_offset_s=offset, requests=workload.sent,
    )


def summarise(runs: list[Run]) -> list[dict[str, Any]]:
    rows = []
    for window_s, fault in sorted({(r.window_s, r.fault) for r in runs}):
        group = [r for r in runs if (r.window_s, r.fault) == (window_s, fault)]
        delays = [r.delay_s for r in group if r.delay_s is not None]
        overheads = [r.overhead_s for r in group if r.overhead_s is not None]
        rows.append({
            "window_s": window_s, "fault": fault, "runs": len(group), "detected": len(delays),
            "median_delay_s": statistics.median(delays) if delays else None,
            "max_delay_s": max(delays) if delays else None,
            "median_delay_windows": statistics.median(delays) / window_s if delays else None,
            "max_delay_windows": max(delays) / window_s if delays else None,
            "median_overhead_s": statistics.median(overheads) if overheads else None,
            "max_overhead_s": max(overheads) if overheads else None,
            "first_window": sum(r.first_window for r in group),
            "within_target": sum(r.within_target for r in group),
            "top_cause_right": sum(r.top_cause_right for r in group),
            "false_violations": sum(r.false_violations for r in group),
        })
    return rows


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _table(rows: list[dict[str, Any]]) -> Table:
    target = LATENESS_S + DELIVERY_BUDGET_S
    table = Table(title=f"Detection: fault start -> stored explained violation ({RATE:g} req/s, lateness "
                        f"{LATENESS_S:g} s)")
    for column in ("W", "fault", "found", "med s", "max s", "med W", "max W", "over s", "1st W",
                   f"<=W+{target:g}", "cause ok", "false"):
        table.add_column(column, justify="right")
    for row in rows:
        runs = row["runs"]
        table.add_row(f"{row['window_s']:g}s", row["fault"], f"{row['detected']}/{runs}",
                      _number(row["median_delay_s"]), _number(row["max_delay_s"]),
                      _number(row["median_delay_windows"]), _number(row["max_delay_windows"]),
                      _number(row["max_overhead_s"]),
                      f"{row['first_window']}/{runs}", f"{row['within_target']}/{runs}",
                      f"{row['top_cause_right']}/{runs}", str(row["false_violations"]))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 repeats with 1 s windows and 1 with 5 s")
    parser.add_argument("--repeats", type=int, default=5, help="runs per window size and fault (default 5)")
    parser.add_argument("--windows", type=float, nargs="+", default=[1.0, 5.0], help="window sizes in seconds")
    args = parser.parse_args()
    console = Console(width=max(Console().width, 110))
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="rohe-detection-") as tmp:
        for window_s in args.windows:
            repeats = (2 if window_s <= 1 else 1) if args.quick else args.repeats
            for repeat in range(repeats):
                for fault in FAULTS:
                    result = measure(window_s, fault, seed=1000 * repeat + len(runs), workdir=Path(tmp))
                    delay = "missed" if result.delay_s is None else f"{result.delay_s:.2f} s"
                    console.print(f"W={window_s:g} s {fault:5} #{repeat + 1}: {delay}, top cause "
                                  f"{result.top_cause}, fault at {result.fault_offset_s:.2f} s into its window, "
                                  f"{result.false_violations} false", highlight=False)
                    runs.append(result)
    rows = summarise(runs)
    console.print(_table(rows))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "detection", "quick": args.quick, "rate_rps": RATE, "allowed_lateness_s": LATENESS_S,
        "delivery_budget_s": DELIVERY_BUDGET_S, "poll_s": POLL_S,
        "slo": {"p99_ms": P99_SLO_MS, "accuracy": ACCURACY_SLO},
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "summary": rows, "runs": [asdict(r) for r in runs],
    }, indent=2) + "\n")
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
