"""`rohe demo --scenario closed-loop --live`: the closed loop on real processes, real HTTP and real time.

One consumer's contract pins one model whose replica serves one request at a time in `service_ms` (the model
service's ReplicaCapacity), so one replica carries `1000 / service_ms` req/s whatever else the machine does.
The orchestration service places the contract's replicas (live_stack: the local deployer runs them, the
rollout follows the placements), a serving gateway follows the placements over the orchestration API
(endpoints_watch), the gateway's reports go through the observation agent into the store, where the contract
evaluator judges each `window_s` window. An open-loop Poisson load ramps from `low` to `high` times one
replica's capacity and holds: more than one replica carries, less than two. With the controller on, its
passes (once a second) read the windows and violations and scale out through the orchestration service; the
new process comes up and the gateway sends it traffic without a restart. The same load then runs with the
controller off, on the same processes reset to the initial placement. The report is the simulated mode's.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from rohe.control import Controller, ControlSettings, GatewayPolicy, GuardSettings, PlatformActuator, observed_cores
from rohe.control.records import utc
from rohe.core.background_server import BackgroundServer
from rohe.demo.closed_loop import RunResult, Step, write_report
from rohe.demo.live_stack import Capacity, LiveStack, live_contract, live_stack
from rohe.observation.embedded import finish, observed_run
from rohe.observation.metrics import WindowMetrics
from rohe.observation.store import ObservationStore
from rohe.observation.violations import Violation
from rohe.orchestration.requirements import preferences
from rohe.serving.gateway import build_gateway, create_gateway_app
from rohe.serving.gateway.endpoints_watch import EndpointFollower, PlacementClient
from rohe.serving.gateway.replica_urls import LocalProcesses
from rohe.serving.loadgen import WorkloadProfile, parse_workload_profile, run_workload

log = logging.getLogger(__name__)

FOLLOW_S = 0.5  # how often the gateway reads the placements: a new replica gets traffic within this
PASS_S = 1.0  # how often the controller reconciles (level-triggered: a pass on an unchanged window is a no-op)


@dataclass(frozen=True)
class LiveScenario:
    window_s: float = 5.0
    windows: int = 16
    service_ms: float = 50.0  # one replica: 20 req/s
    stated: float = 0.3  # the contract's required_throughput, in replicas' worth: one replica is placed
    low: float = 0.5  # load, in replicas' worth of capacity
    high: float = 1.4  # two replicas at 70 %: the M/D/2 wait tail still lets `availability` of requests through
    steady: int = 2  # windows at `low`
    ramp: int = 2  # windows from `low` to `high`; then `high` until the last `tail` windows at `tail_load`
    tail: int = 4
    tail_load: float = 0.25  # low enough that one replica meets the deadline again: the controller scales in
    deadline_ms: float = 400.0
    availability: float = 97.0  # percent of requests answered (within the gateway's member budget)
    seed: int = 7

    @property
    def capacity(self) -> Capacity:
        return Capacity(self.service_ms)

    def rate(self, index: int) -> float:
        one = self.capacity.rps
        if index >= self.windows - self.tail:
            return self.tail_load * one
        if index < self.steady:
            return self.low * one
        if index < self.steady + self.ramp:
            return (self.low + (self.high - self.low) * (index - self.steady + 1) / self.ramp) * one
        return self.high * one


QUICK_LIVE = LiveScenario(windows=8, steady=1, ramp=1, tail=0)
WARM_UP_S = 2.0  # at the low rate before the measured windows: connection pools and first predictions


def _profile(scenario: LiveScenario, consumer: str, windows: int | None = None,
             seconds: float | None = None) -> WorkloadProfile:
    phases: list[dict[str, Any]] = [{"name": f"w{i}", "duration_s": seconds or scenario.window_s,
                                     "rate": scenario.rate(i)} for i in range(windows or scenario.windows)]
    phases[0] |= {"arrival": "poisson", "max_concurrency": 512, "mix": {consumer: 1.0}}
    return parse_workload_profile({"name": "closed loop, live", "seed": scenario.seed, "timeout_s": 5.0,
                                   "phases": phases})


def _load_bound(metric: str) -> bool:
    """A clause the load breaks: latency, or requests left without an answer (what an overloaded replica
    causes here, see live_contract)."""
    return metric.startswith("end_to_end.") or metric in ("availability_percent", "throughput_rps")


def _align(window_s: float) -> float:
    """Sleep to the next window boundary (the agent's windows are aligned to the epoch), so every window of
    the run holds one load step."""
    now = time.time()
    start = (now // window_s + 1) * window_s
    time.sleep(start - now)
    return start


class _Passes:
    """The controller's passes in a thread while the load runs, and the replica count seen at each pass."""

    def __init__(self, stack: LiveStack, controller: Controller | None) -> None:
        self.stack, self.controller = stack, controller
        self.replicas: list[tuple[float, int]] = []
        self.timings: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rohe-closed-loop-passes", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(PASS_S):
            if self.controller is not None:
                tick = time.perf_counter()
                try:
                    self.controller.reconcile()
                except Exception:  # level-triggered: the next pass sees the same state and tries again
                    log.exception("controller pass failed")
                self.timings.append(time.perf_counter() - tick)
            count = len(self.stack.platform.orchestration.replicas(self.stack.service.name))
            self.replicas.append((time.time(), count))

    def __enter__(self) -> _Passes:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def count_at(self, moment: float, default: int) -> int:
        seen = [count for at, count in self.replicas if at <= moment]
        return seen[-1] if seen else default


def run_live_once(stack: LiveStack, scenario: LiveScenario, controller_on: bool, console: Console) -> RunResult:
    started = time.perf_counter()
    stack.reset()
    app, run = stack.spec.application, f"live-{'on' if controller_on else 'off'}-{int(time.time())}"
    contract, catalog, service = stack.contract, stack.catalog, stack.service.name
    observations = ObservationStore(stack.platform.store)
    initial = len(stack.platform.orchestration.replicas(service))
    with observed_run(stack.platform.observation, app, run, stack.contract_paths,
                      window_s=scenario.window_s) as observed:
        resolver = LocalProcesses(stack.state_dir)
        members = resolver.resolve(stack.spec, stack.platform.orchestration.replicas())
        gateway = build_gateway(stack.spec, catalog, [contract], members, seed=scenario.seed, sink=observed.probe,
                                run=observed.run)
        follower = EndpointFollower(gateway, PlacementClient(stack.api_url), resolver, interval_s=FOLLOW_S)
        server = BackgroundServer(create_gateway_app(gateway, follower=follower)).start()
        policy = GatewayPolicy(server.url)
        controller = None
        if controller_on:
            def newest() -> list[WindowMetrics]:
                return observations.list_windows(app, run, contract.consumer, limit=1)

            actuator = PlatformActuator(stack.platform.orchestration, policy,
                                        observed=lambda: observed_cores(newest()),
                                        preferred=preferences(stack.requirements))
            guard = GuardSettings(cooldown_s=3 * scenario.window_s, act_after=2, relax_after=3)
            controller = Controller(stack.platform.store, observations, stack.platform.orchestration, app=app,
                                    run=run, contracts=[contract], catalog=catalog, actuator=actuator,
                                    settings=ControlSettings(guard))
        try:
            samples = stack.app.load_samples()
            run_workload(server.url, _profile(scenario, contract.consumer, 1, WARM_UP_S), samples)
            load_start = _align(scenario.window_s)
            console.print(f"controller {'on' if controller_on else 'off'}: {scenario.windows} windows of "
                          f"{scenario.window_s:g} s, {scenario.rate(0):.0f} -> "
                          f"{max(scenario.rate(i) for i in range(scenario.windows)):.0f} req/s (one replica carries "
                          f"{scenario.capacity.rps:.0f})")
            with _Passes(stack, controller) as passes:
                load = run_workload(server.url, _profile(scenario, contract.consumer), samples)
            load_end = load_start + scenario.windows * scenario.window_s
        finally:
            server.stop()
            policy.close()
        finish(stack.platform.observation, observed)
    windows = [w for w in observations.list_windows(app, run, contract.consumer, limit=10_000)
               if w.start.timestamp() >= load_start - 0.5 and w.end.timestamp() <= load_end + 0.5]
    records = controller.state.decisions() if controller is not None else []
    violated: dict[float, list[Violation]] = {}
    for v in observations.list_violations(app, run, contract.consumer):
        violated.setdefault(utc(v.window_end).timestamp(), []).append(v)
    steps, cost = [], 0.0
    price = catalog.profiles[0].cost_base or 0.0
    for i, window in enumerate(windows):
        end = window.end.timestamp()
        found = violated.get(end, [])
        replicas = passes.count_at(end, initial)
        cost += replicas * price * scenario.window_s
        acted = [f"{r.action.text} [{r.status}]" for r in records if utc(r.window_end).timestamp() == end]
        steps.append(Step(i, (end - load_start) / 60, window.requests / scenario.window_s,
                          window.end_to_end.p99_ms if window.end_to_end else None, window.accuracy,
                          {service: replicas}, bool(found),
                          any(_load_bound(v.metric) for v in found), acted,
                          answered=1 - window.errors / window.requests if window.requests else None))
    console.print(f"  {len(load.results)} request(s); gateway followed {follower.status.changes} "
                  f"membership change(s); {stack.rollout.rollouts} rollout(s) so far")
    decisions = [r.model_dump(mode="json") for r in records]
    return RunResult(controller_on, steps, decisions, cost, time.perf_counter() - started, passes.timings)


def run_live_closed_loop(out: Path, data_dir: Path, console: Console, *, quick: bool = False,
                         controller: bool = True, scenario: LiveScenario | None = None) -> list[RunResult]:
    chosen = scenario or (QUICK_LIVE if quick else LiveScenario())
    the_contract = live_contract(chosen.stated * chosen.capacity.rps, chosen.deadline_ms, chosen.availability)
    with live_stack(data_dir, out, console, chosen.capacity, the_contract) as stack:
        modes = [True, False] if controller else [False]
        results = [run_live_once(stack, chosen, mode, console) for mode in modes]
    write_report(results, {"mode": "live", **asdict(chosen)}, out, console, chosen.deadline_ms,
                 chosen.availability / 100)
    return results
