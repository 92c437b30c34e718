"""Why a clause broke: ranked suspected causes with evidence, and one sentence saying it.

Everything is read from the metrics of the span the clause was evaluated over (and, for accuracy, the models'
profiled accuracy), so the same inputs always give the same causes in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rohe.core.profiles.catalog import Metric, ProfileCatalog
from rohe.observation.evaluation.clauses import Clause, Family
from rohe.observation.evaluation.words import clause_in_words
from rohe.observation.metrics import WindowMetrics
from rohe.observation.violations import Cause, CauseKind

# Stage names that are not sequential parts of the gateway's request path: totals, and member-level stages
# (the agent merges members' "inference" into the window's stages; it runs inside "fanout" and is explained
# per model instead).
_NOT_PATH_STAGES = {"total", "end_to_end", "inference"}
SATURATION = 0.8  # cpu_max / cores at or above which a service counts as saturated
_TOP = 3


def _clip(value: float) -> float:
    return max(0.0, min(1.0, value))


def profiled_accuracy(profiles: ProfileCatalog | None, model: str) -> float | None:
    """The model's accuracy over its profiled node types (quality rarely depends on the node)."""
    if profiles is None or model not in profiles.models:
        return None
    values = profiles.values[profiles.models.index(model), :, Metric.ACCURACY]
    known = values[~np.isnan(values)]
    return None if known.size == 0 else float(known.mean())


def _stage_causes(span: WindowMetrics) -> list[Cause]:
    stages = {n: s for n, s in span.stages.items() if n not in _NOT_PATH_STAGES and s.count > 0}
    total = sum(s.p99_ms for s in stages.values())
    if total <= 0:
        return []
    end_to_end = span.end_to_end.p99_ms if span.end_to_end is not None else total
    return [
        Cause(kind=CauseKind.STAGE, name=name, share=_clip(stats.p99_ms / total),
              evidence=f"stage {name} p99 {stats.p99_ms:.1f} ms, {stats.p99_ms / total:.0%} of the stages' p99 "
                       f"(end-to-end p99 {end_to_end:.1f} ms)")
        for name, stats in stages.items()
    ]


def _slow_models(span: WindowMetrics) -> list[Cause]:
    reference = span.end_to_end.p99_ms if span.end_to_end is not None else 0.0
    timed = [(m, s.latency.p99_ms) for m, s in span.models.items() if s.latency is not None and s.latency.count > 0]
    if not timed:
        return []
    reference = reference if reference > 0 else max(p for _, p in timed)
    slowest = sorted(timed, key=lambda item: (-item[1], item[0]))[:_TOP]
    return [
        Cause(kind=CauseKind.MODEL, name=model, share=_clip(p99 / reference) if reference > 0 else 0.0,
              evidence=f"member {model} inference p99 {p99:.1f} ms ({p99 / reference:.0%} of end-to-end p99)")
        for model, p99 in slowest
    ]


def _saturated(span: WindowMetrics, capacity: Mapping[str, float]) -> list[Cause]:
    causes = []
    for key, stats in span.resources.items():
        node = key.rpartition("@")[2]
        cores = capacity.get(node) or capacity.get(key)
        if not cores:
            continue
        saturation = stats.cpu_max / cores
        if saturation >= SATURATION:
            causes.append(Cause(kind=CauseKind.NODE, name=key, share=_clip(saturation),
                                evidence=f"{key} peaked at {stats.cpu_max:.2f} of {cores:g} cores "
                                         f"({saturation:.0%}), mean {stats.cpu_mean:.2f}"))
    return causes


def _accuracy_causes(span: WindowMetrics, clause: Clause, profiles: ProfileCatalog | None) -> list[Cause]:
    drops: list[tuple[str, float, str]] = []
    measured = [s.accuracy for s in span.models.values() if s.accuracy is not None and s.labelled > 0]
    # Without a profile a model is compared with the accuracy the clause requires, or, when the clause is not
    # about accuracy (confidence, custom metrics), with the best member in the span.
    fallback = (clause.threshold, "required") if clause.metric.family is Family.ACCURACY else (
        max(measured, default=0.0), "best member")
    for model, stats in span.models.items():
        if stats.accuracy is None or stats.labelled == 0:
            continue
        expected = profiled_accuracy(profiles, model)
        baseline, what = (expected, "profiled") if expected is not None else fallback
        drop = baseline - stats.accuracy
        if drop > 0:
            drops.append((model, drop, f"member {model} accuracy {stats.accuracy:.1%} on {stats.labelled} labelled "
                                       f"requests vs {baseline:.1%} {what} ({drop:+.1%} drop)"))
    total = sum(d for _, d, _ in drops)
    causes = [Cause(kind=CauseKind.MODEL, name=m, share=_clip(d / total), evidence=e) for m, d, e in drops]
    worst = sorted(span.class_miss_rate.items(), key=lambda item: (-item[1], item[0]))[:2]
    causes += [Cause(kind=CauseKind.DATA, name=f"class {c}", share=_clip(rate),
                     evidence=f"class {c} miss rate {rate:.1%} (the highest in the span)" if i == 0
                     else f"class {c} miss rate {rate:.1%}")
               for i, (c, rate) in enumerate(worst) if rate > 0]
    return causes


def _delivery_causes(span: WindowMetrics, clause: Clause, capacity: Mapping[str, float]) -> list[Cause]:
    causes = _saturated(span, capacity)
    if span.requests == 0:
        causes.append(Cause(kind=CauseKind.WORKLOAD, name="no requests", share=1.0,
                            evidence="no request arrived in the span: the consumer is idle or cannot reach "
                                     "the gateway"))
        return causes
    if span.errors:
        causes.append(Cause(kind=CauseKind.SERVICE, name="no member answered", share=_clip(span.errors / span.requests),
                            evidence=f"{span.errors} of {span.requests} requests got no answer from any member"))
    late = {m: s.late for m, s in span.models.items() if s.late > 0}
    for model in sorted(late, key=lambda m: (-late[m], m))[:_TOP]:
        causes.append(Cause(kind=CauseKind.MODEL, name=model, share=_clip(late[model] / span.requests),
                            evidence=f"member {model} was late or failed on {late[model]} of {span.requests} requests"))
    if clause.metric.family is Family.THROUGHPUT and not span.errors and not late:
        causes.append(Cause(kind=CauseKind.WORKLOAD, name="offered load", share=1.0,
                            evidence=f"all {span.requests} requests were answered ({span.throughput_rps:.2f} req/s): "
                                     "consumers sent less than the contract requires"))
    return causes


def _custom_causes(span: WindowMetrics, clause: Clause) -> list[Cause]:
    name = clause.metric.label.removeprefix("custom.")
    numerator, denominator = span.custom.get(f"{name}.numerator"), span.custom.get(f"{name}.denominator")
    if numerator is not None and denominator is not None:
        evidence = f"{name} = {numerator:g} of {denominator:g} matching requests"
    elif name in span.custom:
        evidence = f"{name} = {span.custom[name]:.4g}"
    else:
        evidence = (f"no value for {name}: is its window function running (cdm_definitions) and do the reports "
                    "carry its fields?")
    return [Cause(kind=CauseKind.DATA, name=name, share=1.0, evidence=evidence)]


def rank(causes: list[Cause]) -> list[Cause]:
    return sorted(causes, key=lambda c: (-c.share, c.kind.value, c.name))


def explain(
    clause: Clause,
    span: WindowMetrics,
    observed: float | None,
    windows: int,
    profiles: ProfileCatalog | None = None,
    capacity: Mapping[str, float] | None = None,
) -> tuple[list[Cause], str]:
    """Ranked causes and an explanation sentence for `clause` not holding over `span`."""
    nodes = capacity or {}
    family = clause.metric.family
    if family is Family.LATENCY:
        causes = _stage_causes(span) + _slow_models(span) + _saturated(span, nodes)
    elif family in (Family.ACCURACY, Family.CONFIDENCE):
        causes = _accuracy_causes(span, clause, profiles)
    elif family in (Family.THROUGHPUT, Family.AVAILABILITY):
        causes = _delivery_causes(span, clause, nodes)
    elif family is Family.CUSTOM:
        causes = _custom_causes(span, clause) + _accuracy_causes(span, clause, profiles)
    else:
        causes = _delivery_causes(span, clause, nodes)
    ranked = rank(causes)
    return ranked, sentence(clause, span, observed, windows, ranked)


def sentence(clause: Clause, span: WindowMetrics, observed: float | None, windows: int, causes: list[Cause]) -> str:
    where = f"{span.requests} requests in {windows} window{'s' if windows != 1 else ''} " \
            f"{span.start:%H:%M:%S}-{span.end:%H:%M:%S}"
    if observed is None:
        head = f"{clause.metric.label} had no data ({where}), which breaks {clause.text}"
    else:
        wanted = clause_in_words(clause.metric.label, clause.operator.value, clause.threshold)
        head = f"{clause.metric.label} was {observed:.4g}, breaking {wanted} ({where})"
    if not causes:
        return head + "; no cause stood out."
    return f"{head}; most likely: {causes[0].evidence}."
