"""`simulate`: queries through the simulated gateway and cluster, one record per query.

Queries name their consumer and scheduler (by default the setup's `contract` and `scheduler`), so several
consumers and algorithms can share one cluster, as they do in the demo.

Per query, as the live gateway does it: plan with the real scheduler for the time left (deadline minus the
gateway's own overhead), send phase 0 to the planned members until phase 0's deadline, escalate if the
plan's rule asks and at least MIN_PHASE_MS is left, then aggregate what answered. Members queue at their
instances (see queues.py), share their node's cores when the setup gives them (see cpu.py); failures act on
instances (see cluster.py).

Records (see spec.py for their fields) come back in query order.

Determinism: the seed spawns one NumPy generator per stream (service times, predictions, the scheduler's
rng), events are ordered by time then scheduling order, and nothing reads a clock except `wall_s`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from heapq import heappush

import numpy as np

from rohe.core.errors import InvalidInput, Problem, ProblemCollector
from rohe.serving.dataplane import MemberPrediction
from rohe.serving.gateway.service import DEFAULT_DEADLINE_MS  # a contract without a deadline gets the gateway's
from rohe.serving.scheduling import ExecutionPlan
from rohe.simulation.cluster import Failure, check_setup
from rohe.simulation.cpu import NodeShare, node_shares
from rohe.simulation.engine import EventQueue
from rohe.simulation.gateway import MIN_PHASE_MS, SimGateway
from rohe.simulation.queues import InstanceState, Job, Rotation, Sampler, next_replica
from rohe.simulation.spec import ServiceSpan, SimQuery, SimRecord, SimResult, SimulationSetup

_DONE, _PHASE_END, _FAIL_START, _FAIL_END, _CPU = range(5)
_new_record = object.__new__


class _Request:
    __slots__ = (
        "answers",
        "asked",
        "budget_ms",
        "deadline_s",
        "gateway",
        "index",
        "open",
        "outstanding",
        "phase",
        "phase_end",
        "plan",
        "query",
        "timer",
    )

    def __init__(self, index: int, query: SimQuery, gateway: SimGateway, deadline_s: float, overhead_s: float) -> None:
        self.index = index
        self.query = query
        self.gateway = gateway
        self.deadline_s = deadline_s
        self.budget_ms = (deadline_s - overhead_s) * 1000
        self.plan: ExecutionPlan | None = None
        self.phase = -1
        self.phase_end = 0.0
        self.timer = False  # whether this phase's deadline event is scheduled
        self.open = False
        self.outstanding = 0
        self.asked: list[str] = []
        self.answers: dict[str, MemberPrediction] = {}


def _checked_queries(queries: Iterable[SimQuery], setup: SimulationSetup) -> list[SimQuery]:
    listed = list(queries)
    catalog = setup.catalog
    consumers = {c.consumer for c in (setup.contract, *setup.consumers)}
    known = set(catalog.class_ids)
    problems = ProblemCollector()
    for i, q in enumerate(listed):
        if q.deadline_s is not None and not (math.isfinite(q.deadline_s) and q.deadline_s > 0):
            problems.add(f"queries[{i}].deadline_s", f"{q.deadline_s} is not a positive time", "seconds, or None")
        if q.consumer is not None and q.consumer not in consumers:
            problems.add(f"queries[{i}].consumer", f"{q.consumer!r} has no contract", f"use one of {sorted(consumers)}")
        if not (math.isfinite(q.arrival_s) and q.arrival_s >= 0):
            problems.add(f"queries[{i}].arrival_s", f"{q.arrival_s} is not a time >= 0", "seconds from the start")
        if known and q.true_class not in known:
            problems.add(
                f"queries[{i}].true_class", f"{q.true_class} is not a catalog class", f"use one of {sorted(known)}"
            )
        if len(problems.problems) >= 20:
            break
    problems.raise_if_any("invalid simulation queries")
    return listed


class _Simulation:
    def __init__(self, setup: SimulationSetup) -> None:
        check_setup(setup.instances, setup.failures)
        if not (math.isfinite(setup.gateway_overhead_s) and setup.gateway_overhead_s >= 0):
            raise InvalidInput(
                "invalid simulation setup",
                [Problem("gateway_overhead_s", f"{setup.gateway_overhead_s} is not a time >= 0", "e.g. 0.002")],
            )
        self.setup = setup
        service_ss, prediction_ss, scheduler_ss = np.random.SeedSequence(setup.seed).spawn(3)
        # One generator for every scheduler, as the live gateway has one.
        self.scheduler_rng = np.random.default_rng(scheduler_ss)
        self.contracts = {c.consumer: c for c in (setup.contract, *setup.consumers)}
        if len(self.contracts) != 1 + len(setup.consumers):
            seen = [setup.contract.consumer]
            problems = ProblemCollector()
            for i, c in enumerate(setup.consumers):
                if c.consumer in seen:
                    problems.add(f"consumers[{i}].consumer", f"{c.consumer!r} has two contracts", "keep one")
                seen.append(c.consumer)
            problems.raise_if_any("invalid simulation setup")
        self.gateways: dict[tuple[str, str], tuple[SimGateway, float]] = {}
        self.sampler = Sampler(setup.service_time, np.random.default_rng(service_ss))
        self.prediction_rng = np.random.default_rng(prediction_ss)
        self.predict = setup.prediction.predict
        self.instances = [InstanceState(i, x, not setup.queueing) for i, x in enumerate(setup.instances)]
        self.rotation = Rotation(self.instances)
        self.events = EventQueue()
        if setup.cpu is not None:
            shares = node_shares([(x.spec.node, x.limit) for x in self.instances], setup.cpu, self.events, _CPU)
            for x in self.instances:
                x.cpu = shares.get(x.spec.node)
        # Who is in service is only needed to fail it in a crash; without crashes it is not tracked.
        self.track_running = setup.record_service or any(f.kind != "slowdown" for f in setup.failures)
        self.spans: list[ServiceSpan] | None = [] if setup.record_service else None
        self.overhead_s = setup.gateway_overhead_s
        # Per consumer, in arrival order: the first is the oldest (dream's input).
        self.in_flight: dict[str, dict[_Request, float]] = {}
        self.records: list[SimRecord | None] = []
        self.outages = [0] * len(self.instances)

    # -- the loop ------------------------------------------------------------------------------------
    def run(self, queries: list[SimQuery]) -> list[SimRecord]:
        order = sorted(range(len(queries)), key=lambda i: queries[i].arrival_s)
        self.records = [None] * len(queries)
        main, scheduler = self.setup.contract.consumer, self.setup.scheduler
        for pair in sorted({(q.consumer or main, q.scheduler or scheduler) for q in queries} | {(main, scheduler)}):
            self._gateway(*pair)
        events = self.events
        for failure in sorted(self.setup.failures, key=lambda f: f.at_s):
            events.schedule(failure.at_s, _FAIL_START, failure)
        heap = events.heap
        pop = events.pop
        inf = math.inf
        position, count = 0, len(order)
        next_arrival = queries[order[0]].arrival_s if count else inf
        while True:
            if heap and heap[0][0] <= next_arrival:
                now, _, kind, payload = pop()
                if kind == _DONE:
                    self._done(now, payload)
                elif kind == _PHASE_END:
                    request, phase = payload
                    if request.open and request.phase == phase:
                        self._end_phase(request, now)
                elif kind == _CPU:
                    self._cpu_done(now, payload)
                elif kind == _FAIL_START:
                    self._fail_start(now, payload)
                else:
                    self._fail_end(payload)
            elif position < count:
                events.advance(next_arrival)
                index = order[position]
                position += 1
                query = queries[index]
                gateway, default_deadline = self.gateways[(query.consumer or main, query.scheduler or scheduler)]
                deadline = default_deadline if query.deadline_s is None else query.deadline_s
                self._arrive(next_arrival, _Request(index, query, gateway, deadline, self.overhead_s))
                next_arrival = queries[order[position]].arrival_s if position < count else inf
            else:
                break
        return [r for r in self.records if r is not None]

    def _gateway(self, consumer: str, scheduler: str) -> None:
        contract = self.contracts[consumer]
        gateway = SimGateway(contract, self.setup.catalog, scheduler, self.setup.aggregation, self.scheduler_rng)
        self.gateways[(consumer, scheduler)] = (gateway, (contract.deadline_ms or DEFAULT_DEADLINE_MS) / 1000)
        self.in_flight.setdefault(consumer, {})

    # -- requests ------------------------------------------------------------------------------------
    def _arrive(self, now: float, request: _Request) -> None:
        waiting = self.in_flight[request.gateway.consumer]
        waiting[request] = now
        budget_ms = request.budget_ms
        if budget_ms <= 0:
            self._finish(request, now, [])  # the overhead alone used the deadline up: no time to schedule
            return
        first = next(iter(waiting))
        oldest_ms = 0.0 if first is request else (now - waiting[first]) * 1000
        plan = request.gateway.plan(budget_ms, request.query.true_class, oldest_ms)
        request.plan = plan
        if not plan.phase0:
            self._finish(request, now, [])
            return
        phase0_s = request.gateway.phase0_ms(plan, budget_ms) / 1000
        self._start_phase(request, 0, plan.members, now, phase0_s)

    def _start_phase(self, request: _Request, phase: int, models: Sequence[str], now: float, length_s: float) -> None:
        request.phase = phase
        request.phase_end = now + length_s
        request.open = True
        request.outstanding = len(models)
        request.asked.extend(models)
        request.timer = False
        rotation = self.rotation.of
        dispatch = self._dispatch
        for model in models:
            replicas, start = rotation(model)
            dispatch(Job(request, model, phase, replicas, start), now)

    def _dispatch(self, job: Job, now: float) -> None:
        """Send `job` to the next replica that accepts the connection; none left: the member failed."""
        replicas = job.replicas
        if len(replicas) == 1 and not job.tried:  # the common case, without the rotation arithmetic
            job.tried = 1
            instance: InstanceState | None = replicas[0] if replicas[0].up else None
        else:
            instance = next_replica(job)
        if instance is None:
            self._member_over(job.request, now)
        elif instance.busy < instance.limit:
            self._begin(instance, job)
        else:
            self._arm(job.request)  # queued: it may not finish within the phase
            instance.queue.append(job)

    def _arm(self, request: _Request) -> None:
        """Schedule the phase's deadline event, once, as soon as some member might outlive the phase.

        A phase whose members all finish in time never needs the event, so most phases never schedule one;
        arming before the member's completion is pushed keeps the order of a tie: the deadline goes first.
        """
        if not request.timer and request.open:
            request.timer = True
            events = self.events
            heappush(events.heap, (request.phase_end, next(events.sequence), _PHASE_END, (request, request.phase)))

    def _begin(self, instance: InstanceState, job: Job) -> None:
        instance.busy += 1
        draws = instance.draws
        work = draws.pop() if draws else self.sampler.refill(instance)
        if instance.slowdowns:
            work *= instance.factor
        events = self.events
        if self.track_running:
            instance.running[job] = (events.now, work)
        request = job.request
        cpu = instance.cpu
        if cpu is not None:
            if request.phase == job.phase:
                self._arm(request)  # other calls on the node may slow it down: when it ends is not known yet
            cpu.start(events.now, work, instance, job)
            return
        if events.now + work >= request.phase_end and request.phase == job.phase:
            self._arm(request)
        heappush(events.heap, (events.now + work, next(events.sequence), _DONE, (instance, instance.epoch, job)))

    def _cpu_done(self, now: float, payload: tuple[NodeShare, int]) -> None:
        cpu, version = payload
        if version != cpu.version:
            return  # replaced: the number of calls on the node changed since it was scheduled
        for instance, job in cpu.finish(now):
            self._complete(now, instance, job)
        cpu.settle(now)

    def _done(self, now: float, payload: tuple[InstanceState, int, Job]) -> None:
        instance, epoch, job = payload
        if epoch == instance.epoch:  # else lost in a crash; already handled then
            self._complete(now, instance, job)

    def _complete(self, now: float, instance: InstanceState, job: Job) -> None:
        instance.busy -= 1
        if self.track_running:
            started, work = instance.running.pop(job)
            if self.spans is not None:
                self.spans.append(ServiceSpan(instance.spec.key, job.request.query.query_id, started, now, work))
        if instance.queue:
            self._begin(instance, instance.queue.popleft())
        request = job.request
        if not request.open or request.phase != job.phase:
            return  # the gateway stopped waiting: the member was late
        vector = self.predict(job.model, request.query.true_class, self.prediction_rng)
        request.answers[job.model] = request.gateway.member(job.model, vector)
        request.outstanding -= 1
        if request.outstanding == 0:
            self._end_phase(request, now)

    def _member_over(self, request: _Request, now: float) -> None:
        request.outstanding -= 1
        if request.outstanding == 0:
            self._end_phase(request, now)

    def _end_phase(self, request: _Request, now: float) -> None:
        request.open = False
        answers = request.answers
        predictions = [answers[m] for m in request.asked if m in answers]
        plan = request.plan
        if request.phase == 0 and plan is not None and plan.phase1 is not None:
            left_ms = request.budget_ms - (now - request.query.arrival_s) * 1000
            if left_ms >= MIN_PHASE_MS:
                extra = request.gateway.escalate(plan, predictions, request.asked)
                if extra:
                    self._start_phase(request, 1, extra, now, left_ms / 1000)
                    return
        self._finish(request, now, predictions)

    def _finish(self, request: _Request, now: float, predictions: list[MemberPrediction]) -> None:
        gateway = request.gateway
        del self.in_flight[gateway.consumer][request]
        query = request.query
        asked = tuple(request.asked)
        if predictions:
            answer = gateway.aggregate(predictions)
            latency = now - query.arrival_s + self.overhead_s
            predicted = answer.predicted_class
        else:
            latency, predicted = math.nan, -1
        answered = bool(predictions)
        # The generated __init__ of a frozen dataclass sets fields one by one through object.__setattr__,
        # which costs more than the rest of a request; filling the instance dict directly is equivalent.
        record = _new_record(SimRecord)
        record.__dict__.update(
            query_id=query.query_id,
            arrival_s=query.arrival_s,
            latency_s=latency,
            deadline_s=request.deadline_s,
            answered=answered,
            late=not answered or latency > request.deadline_s,
            true_class=query.true_class,
            predicted_class=predicted,
            correct=answered and predicted == query.true_class,
            members=len(asked),
            member_models=asked,
            cost=gateway.cost(asked),
            consumer=gateway.consumer,
            scheduler=gateway.scheduler_name,
        )
        self.records[request.index] = record

    # -- failures ------------------------------------------------------------------------------------
    def _targets(self, failure: Failure) -> list[InstanceState]:
        return [x for x in self.instances if failure.matches(x.spec)]

    def _fail_start(self, now: float, failure: Failure) -> None:
        self.events.after(failure.duration_s, _FAIL_END, failure)
        targets = self._targets(failure)
        if failure.kind == "slowdown":
            for instance in targets:
                instance.slowdowns.append(failure.factor)
            return
        lost: list[Job] = []
        for instance in targets:  # all down first, so a retry never lands on a sibling going down with it
            self.outages[instance.index] += 1
            if self.spans is not None:
                for job, (started, work) in instance.running.items():
                    self.spans.append(ServiceSpan(instance.spec.key, job.request.query.query_id, started, now, work))
            if instance.cpu is not None:
                instance.cpu.drop(now, instance)
            lost.extend(instance.lose_work())
        for job in lost:
            request = job.request
            if request.open and request.phase == job.phase:
                self._dispatch(job, now)  # a reset is retryable: the next replica in the rotation, if any

    def _fail_end(self, failure: Failure) -> None:
        for instance in self._targets(failure):
            if failure.kind == "slowdown":
                instance.slowdowns.remove(failure.factor)
            else:
                self.outages[instance.index] -= 1
                instance.up = self.outages[instance.index] == 0


def simulate(setup: SimulationSetup, queries: Iterable[SimQuery]) -> SimResult:
    """Run `queries` through `setup`; the same setup and queries give byte-identical records."""
    started = time.perf_counter()
    simulation = _Simulation(setup)
    listed = _checked_queries(queries, setup)
    records = simulation.run(listed)
    spans = simulation.spans if simulation.spans is not None else []
    return SimResult(records, simulation.events.processed, time.perf_counter() - started, spans)
