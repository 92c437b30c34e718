"""Arrival processes: request times in seconds from 0, sorted, drawn from their own seeded generator.

- poisson: exponential gaps at `rate` per second.
- steady: one request every 1/rate seconds, starting at 0 (no randomness).
- burst: Poisson at `rate`, and at `factor` x rate (default 3) from `start_s` (default a third of the run)
  for `length_s` (default a sixth of the run) - the demo's steady / burst / recovery shape.
- diurnal: Poisson whose rate follows rate x (1 + amplitude x sin(2 pi (t / period_s) + phase)), with
  amplitude 0.5, period the whole run and phase 0 by default; drawn by thinning.
- trace replay (`trace_arrivals`): recorded times as given, sorted and shifted so the first is at 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from rohe.core.errors import InvalidInput, Problem, ProblemCollector

FloatArray = npt.NDArray[np.float64]
ArrivalKind = Literal["poisson", "steady", "burst", "diurnal"]

_PARAMS: dict[str, tuple[str, ...]] = {
    "poisson": (),
    "steady": (),
    "burst": ("factor", "start_s", "length_s"),
    "diurnal": ("amplitude", "period_s", "phase"),
}


def arrivals(kind: ArrivalKind, *, rate: float, duration_s: float, seed: int, **params: float) -> FloatArray:
    """Arrival times in [0, duration_s) of the `kind` process (see the module docstring for `params`)."""
    problems = ProblemCollector()
    if kind not in _PARAMS:
        raise InvalidInput(
            "unknown arrival process", [Problem("kind", f"{kind!r} is not known", f"use one of: {', '.join(_PARAMS)}")]
        )
    if not (math.isfinite(rate) and rate > 0):
        problems.add("rate", f"{rate} is not a positive number of requests per second", "e.g. 20")
    if not (math.isfinite(duration_s) and duration_s > 0):
        problems.add("duration_s", f"{duration_s} is not a positive number of seconds", "e.g. 60")
    for name, value in params.items():
        if name not in _PARAMS[kind]:
            allowed = ", ".join(_PARAMS[kind]) or "none"
            problems.add(name, f"is not a parameter of {kind} arrivals", f"allowed: {allowed}")
        elif not math.isfinite(value):
            problems.add(name, f"{value} is not a finite number", "")
    problems.raise_if_any("invalid arrival process")
    rng = np.random.default_rng(seed)
    if kind == "steady":
        return np.arange(0.0, duration_s, 1.0 / rate)
    if kind == "poisson":
        return _poisson(rng, rate, duration_s)
    if kind == "burst":
        return _burst(rng, rate, duration_s, params)
    return _diurnal(rng, rate, duration_s, params)


def _poisson(rng: np.random.Generator, rate: float, duration_s: float) -> FloatArray:
    # Draw gaps in blocks until past the end; a block of 1.2x the expected count plus slack rarely repeats.
    chunks: list[FloatArray] = []
    last = 0.0
    expected = rate * duration_s
    while last < duration_s:
        gaps = rng.exponential(1.0 / rate, int(expected * 1.2 + 10 * math.sqrt(expected) + 16))
        times = last + np.cumsum(gaps)
        chunks.append(times)
        last = float(times[-1])
    result = np.concatenate(chunks)
    return np.asarray(result[result < duration_s], dtype=np.float64)


def _thinned(
    rng: np.random.Generator, peak: float, duration_s: float, rate_at: Callable[[FloatArray], FloatArray]
) -> FloatArray:
    candidates = _poisson(rng, peak, duration_s)
    keep = rng.random(len(candidates)) * peak < rate_at(candidates)
    return np.asarray(candidates[keep], dtype=np.float64)


def _burst(rng: np.random.Generator, rate: float, duration_s: float, params: dict[str, float]) -> FloatArray:
    factor = params.get("factor", 3.0)
    start = params.get("start_s", duration_s / 3)
    length = params.get("length_s", duration_s / 6)
    problems = ProblemCollector()
    if factor <= 0:
        problems.add("factor", f"{factor} is not positive", "e.g. 3 for three times the rate")
    if start < 0 or length < 0:
        problems.add("start_s" if start < 0 else "length_s", "is negative", "use seconds >= 0")
    problems.raise_if_any("invalid burst arrivals")
    peak = rate * max(factor, 1.0)

    def rate_at(t: FloatArray) -> FloatArray:
        inside = (t >= start) & (t < start + length)
        return np.where(inside, rate * factor, rate)

    return _thinned(rng, peak, duration_s, rate_at)


def _diurnal(rng: np.random.Generator, rate: float, duration_s: float, params: dict[str, float]) -> FloatArray:
    amplitude = params.get("amplitude", 0.5)
    period = params.get("period_s", duration_s)
    phase = params.get("phase", 0.0)
    problems = ProblemCollector()
    if not 0 <= amplitude <= 1:
        problems.add("amplitude", f"{amplitude} is outside [0, 1]", "a rate cannot go negative")
    if period <= 0:
        problems.add("period_s", f"{period} is not positive", "e.g. 86400 for a day")
    problems.raise_if_any("invalid diurnal arrivals")

    def rate_at(t: FloatArray) -> FloatArray:
        return np.asarray(rate * (1.0 + amplitude * np.sin(2 * math.pi * t / period + phase)), dtype=np.float64)

    return _thinned(rng, rate * (1.0 + amplitude), duration_s, rate_at)


def trace_arrivals(times_s: Sequence[float]) -> FloatArray:
    """Recorded arrival times (seconds, any origin) replayed as given: sorted, shifted to start at 0."""
    times = np.asarray(times_s, dtype=np.float64)
    if times.ndim != 1:
        raise InvalidInput(
            "invalid arrival trace", [Problem("times_s", "is not a flat list", "give one time per request")]
        )
    bad = np.flatnonzero(~np.isfinite(times))
    if bad.size:
        raise InvalidInput(
            "invalid arrival trace",
            [Problem(f"times_s[{int(bad[0])}]", f"{times[bad[0]]} is not a finite number", "drop or fix the row")],
        )
    if times.size == 0:
        return times
    ordered = np.sort(times, kind="stable")
    return np.asarray(ordered - ordered[0], dtype=np.float64)
