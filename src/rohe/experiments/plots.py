"""Plots of an experiment, drawn from its stored rows and summary (matplotlib, Agg; PNG).

- `arms.png`: late ratio, accuracy, members and cost per arm, horizontal bars with 95% CIs (arm names on
  the y axis, so long names never overlap).
- `latency.png`: the latency CDF of every arm with the deadline as a dashed line (the median deadline when
  queries carry their own).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rohe.experiments.rows import Row
from rohe.experiments.summary import ArmSummary

ARMS_PNG = "arms.png"
LATENCY_PNG = "latency.png"


def write_plots(rows: Sequence[Row], summaries: Sequence[ArmSummary], out: Path, title: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    names = [s.arm for s in summaries]
    height = max(3.0, 0.45 * len(names) + 1.5)
    fig, axes = plt.subplots(2, 2, figsize=(12, 2 * height), constrained_layout=True)
    panels = [
        ("late ratio (share of queries)", [(s.late_ratio, s.late_ci_low, s.late_ci_high) for s in summaries]),
        ("accuracy (share of answered)", [(s.accuracy, s.accuracy_ci_low, s.accuracy_ci_high) for s in summaries]),
        ("members per query", [(s.members_mean, s.members_ci_low, s.members_ci_high) for s in summaries]),
        ("cost per query (catalog units)", [(s.cost_mean, s.cost_ci_low, s.cost_ci_high) for s in summaries]),
    ]
    y = np.arange(len(names))
    for ax, (label, values) in zip(axes.flat, panels, strict=True):
        mean = np.array([v[0] for v in values], dtype=float)
        low = np.nan_to_num(mean - np.array([v[1] for v in values], dtype=float))
        high = np.nan_to_num(np.array([v[2] for v in values], dtype=float) - mean)
        ax.barh(y, np.nan_to_num(mean), xerr=[low, high], color="tab:blue", alpha=0.75, capsize=3)
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.set_xlabel(label)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"{title}: mean per arm with 95% bootstrap CI")
    arms_path = out / ARMS_PNG
    fig.savefig(arms_path, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(10, 5.5), constrained_layout=True)
    for arm in names:
        latency = np.sort([1000 * r.latency_s for r in rows if r.arm == arm and not math.isnan(r.latency_s)])
        if len(latency):
            ax.step(latency, np.arange(1, len(latency) + 1) / len(latency), where="post", label=arm)
    deadlines = [r.deadline_s for r in rows if not math.isnan(r.deadline_s)]
    if deadlines:
        deadline_ms = 1000 * float(np.median(deadlines))
        varies = min(deadlines) != max(deadlines)
        ax.axvline(deadline_ms, color="black", linestyle="--", label=f"{'median ' if varies else ''}deadline")
    ax.set_xscale("log")
    ax.set_xlabel("latency from arrival to answer (ms, log scale)")
    ax.set_ylabel("share of answered queries")
    ax.set_title(f"{title}: latency CDF per arm")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small", ncols=2 if len(names) > 6 else 1)
    latency_path = out / LATENCY_PNG
    fig.savefig(latency_path, dpi=110)
    plt.close(fig)
    return [arms_path, latency_path]
