"""Combining consecutive windows into one view of a longer span (a clause's `window: 5m` over 10 s windows).

Counts add up; means are weighted by what they average over; latency percentiles are read from the mixture of
the windows' latency distributions (each approximated piecewise-linearly through its p50/p95/p99/max), because
percentiles of percentiles are not percentiles. Custom metrics that publish their parts (see `PART_SUFFIXES`)
are recombined from the parts, so a ratio over 5 minutes is sum(numerators) / sum(denominators), not a mean
of ratios.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from rohe.observation.metrics import LatencyStats, ModelStats, ResourceStats, WindowMetrics

# A custom metric `m` may come with parts `m.numerator`/`m.denominator` (ratio), `m.sum`/`m.count` (mean)
# or `m.sum`/`m.sumsq`/`m.count` (variance); the parts themselves combine by addition.
NUMERATOR, DENOMINATOR, SUM, SUMSQ, COUNT = ".numerator", ".denominator", ".sum", ".sumsq", ".count"
PART_SUFFIXES = (NUMERATOR, DENOMINATOR, SUM, SUMSQ, COUNT)

_QUANTILES = (0.0, 0.5, 0.95, 0.99, 1.0)


def _weighted(pairs: Iterable[tuple[float | None, float]]) -> float | None:
    """Mean of values weighted by counts; None when nothing carries weight."""
    total = weight = 0.0
    for value, count in pairs:
        if value is not None and count > 0:
            total += value * count
            weight += count
    return None if weight == 0 else total / weight


def _cdf_points(stats: LatencyStats) -> list[float]:
    points = [0.0, stats.p50_ms, stats.p95_ms, stats.p99_ms, stats.max_ms]
    # Guard against rounding making a later percentile a hair smaller than an earlier one.
    for i in range(1, len(points)):
        points[i] = max(points[i], points[i - 1])
    return points


def _interp(x: float, xs: Sequence[float], ps: Sequence[float]) -> float:
    if x <= xs[0]:
        return ps[0]
    for i in range(1, len(xs)):
        if x <= xs[i]:
            if xs[i] == xs[i - 1]:
                return ps[i]
            return ps[i - 1] + (ps[i] - ps[i - 1]) * (x - xs[i - 1]) / (xs[i] - xs[i - 1])
    return ps[-1]


def mixture_quantile(parts: Sequence[LatencyStats], q: float) -> float:
    """The q-quantile of the request-weighted mixture of the parts' (piecewise-linear) distributions."""
    used = [(p.count, _cdf_points(p)) for p in parts if p.count > 0]
    if not used:
        return 0.0
    if len(used) == 1:
        return _interp_inverse(used[0][1], q)
    total = sum(count for count, _ in used)

    def cdf(x: float) -> float:
        return sum(count * _interp(x, xs, _QUANTILES) for count, xs in used) / total

    breakpoints = sorted({x for _, xs in used for x in xs})
    previous_x, previous_f = breakpoints[0], cdf(breakpoints[0])
    if previous_f >= q:
        return previous_x
    for x in breakpoints[1:]:
        f = cdf(x)
        if f >= q:
            # The mixture is linear between consecutive breakpoints, so this interpolation is exact.
            return previous_x + (x - previous_x) * (q - previous_f) / (f - previous_f)
        previous_x, previous_f = x, f
    return breakpoints[-1]


def _interp_inverse(xs: Sequence[float], q: float) -> float:
    for i in range(1, len(_QUANTILES)):
        if q <= _QUANTILES[i]:
            lo, hi = _QUANTILES[i - 1], _QUANTILES[i]
            return xs[i - 1] + (xs[i] - xs[i - 1]) * (q - lo) / (hi - lo)
    return xs[-1]


def combine_latency(parts: Sequence[LatencyStats | None]) -> LatencyStats | None:
    present = [p for p in parts if p is not None and p.count > 0]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return LatencyStats(
        count=sum(p.count for p in present),
        mean_ms=_weighted((p.mean_ms, p.count) for p in present) or 0.0,
        p50_ms=mixture_quantile(present, 0.5),
        p95_ms=mixture_quantile(present, 0.95),
        p99_ms=mixture_quantile(present, 0.99),
        max_ms=max(p.max_ms for p in present),
    )


def _combine_keyed(
    windows: Sequence[WindowMetrics],
    pick: Callable[[WindowMetrics], dict[str, float]],
    weight: Callable[[WindowMetrics], float],
) -> dict[str, float]:
    keys = sorted({k for w in windows for k in pick(w)})
    out: dict[str, float] = {}
    for key in keys:
        value = _weighted((pick(w).get(key), weight(w)) for w in windows)
        if value is not None:
            out[key] = value
    return out


def _combine_models(windows: Sequence[WindowMetrics]) -> dict[str, ModelStats]:
    out: dict[str, ModelStats] = {}
    for model in sorted({m for w in windows for m in w.models}):
        stats = [w.models[model] for w in windows if model in w.models]
        out[model] = ModelStats(
            requests=sum(s.requests for s in stats),
            late=sum(s.late for s in stats),
            latency=combine_latency([s.latency for s in stats]),
            labelled=sum(s.labelled for s in stats),
            accuracy=_weighted((s.accuracy, s.labelled) for s in stats),
        )
    return out


def _combine_resources(windows: Sequence[WindowMetrics]) -> dict[str, ResourceStats]:
    out: dict[str, ResourceStats] = {}
    for key in sorted({k for w in windows for k in w.resources}):
        stats = [w.resources[key] for w in windows if key in w.resources]
        out[key] = ResourceStats(
            samples=sum(s.samples for s in stats),
            cpu_mean=_weighted((s.cpu_mean, s.samples) for s in stats) or 0.0,
            cpu_max=max(s.cpu_max for s in stats),
            memory_mean=_weighted((s.memory_mean, s.samples) for s in stats) or 0.0,
            memory_max=max(s.memory_max for s in stats),
            gpu_mean=_weighted((s.gpu_mean, s.samples) for s in stats) or 0.0,
        )
    return out


def _base_name(key: str) -> str | None:
    for suffix in PART_SUFFIXES:
        if key.endswith(suffix):
            return key[: -len(suffix)]
    return None


def combine_custom(windows: Sequence[WindowMetrics]) -> dict[str, float]:
    """Parts add up and their metric is recomputed from them; other metrics average, weighted by requests."""
    sums: dict[str, float] = {}
    keys = {k for w in windows for k in w.custom}
    for key in keys:
        if _base_name(key) is not None:
            sums[key] = sum(w.custom.get(key, 0.0) for w in windows)
    out = dict(sums)
    for key in sorted(keys - set(sums)):
        if key + NUMERATOR in sums and key + DENOMINATOR in sums:
            if sums[key + DENOMINATOR] > 0:
                out[key] = sums[key + NUMERATOR] / sums[key + DENOMINATOR]
        elif key + SUM in sums and key + COUNT in sums:
            count = sums[key + COUNT]
            if count > 0:
                mean = sums[key + SUM] / count
                out[key] = max(0.0, sums[key + SUMSQ] / count - mean * mean) if key + SUMSQ in sums else mean
        else:
            with_value = [w for w in windows if key in w.custom]
            weighted = _weighted((w.custom[key], max(w.requests, 1)) for w in with_value)
            if weighted is not None:
                out[key] = weighted
    return out


def combine_windows(windows: Sequence[WindowMetrics], start: datetime | None = None) -> WindowMetrics:
    """One WindowMetrics for the span [start or the first window's start, the last window's end).

    Throughput divides by the whole span, so a quiet stretch without windows lowers it as it should.
    """
    if not windows:
        raise ValueError("combine_windows needs at least one window")
    ordered = sorted(windows, key=lambda w: w.start)
    if len(ordered) == 1 and (start is None or start >= ordered[0].start):
        return ordered[0]
    first, last = ordered[0], ordered[-1]
    span_start = min(start, first.start) if start is not None else first.start
    seconds = max((last.end - span_start).total_seconds(), 1e-9)
    requests = sum(w.requests for w in ordered)

    def answered(w: WindowMetrics) -> float:
        return float(w.requests - w.errors)

    def labelled(w: WindowMetrics) -> float:
        return float(w.labelled)

    return WindowMetrics(
        app=first.app,
        run=first.run,
        consumer=first.consumer,
        kind=first.kind,
        start=span_start,
        end=last.end,
        requests=requests,
        errors=sum(w.errors for w in ordered),
        partial=sum(w.partial for w in ordered),
        throughput_rps=requests / seconds,
        end_to_end=combine_latency([w.end_to_end for w in ordered]),
        stages={
            name: stats
            for name in sorted({s for w in ordered for s in w.stages})
            if (stats := combine_latency([w.stages.get(name) for w in ordered])) is not None
        },
        labelled=sum(w.labelled for w in ordered),
        accuracy=_weighted((w.accuracy, w.labelled) for w in ordered),
        confidence_mean=_weighted((w.confidence_mean, answered(w)) for w in ordered),
        class_accuracy=_combine_keyed(ordered, lambda w: w.class_accuracy, labelled),
        class_miss_rate=_combine_keyed(ordered, lambda w: w.class_miss_rate, labelled),
        ensemble_size_mean=_weighted((w.ensemble_size_mean, answered(w)) for w in ordered),
        cost_total=sum(w.cost_total for w in ordered),
        models=_combine_models(ordered),
        resources=_combine_resources(ordered),
        custom=combine_custom(ordered),
    )


def select_span(history: Sequence[WindowMetrics], latest: WindowMetrics, span_s: float) -> list[WindowMetrics]:
    """`latest` plus earlier non-overlapping windows that lie within the `span_s` seconds ending at its end.

    Walking back from the latest window and taking each window that ends where the selection starts (or
    earlier) keeps sliding windows from counting a request twice.
    """
    span_start = latest.end.timestamp() - span_s
    chosen = [latest]
    boundary = latest.start
    for window in sorted(history, key=lambda w: w.end, reverse=True):
        if window is latest or window.end > boundary:
            continue
        if window.start.timestamp() < span_start - 1e-6:
            break
        chosen.append(window)
        boundary = window.start
    chosen.reverse()
    return chosen
