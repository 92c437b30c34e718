"""Plots of an experiment, drawn from its stored rows and summary (matplotlib, Agg; PNG).

- `arms.png`: late ratio, accuracy, members and cost per arm, horizontal bars with 95% CIs (arm names on
  the y axis, so long names never overlap).
- `latency.png`: the latency CDF of every arm with each deadline as a dashed line (their median when queries
  carry their own); with many arms the legend sits beside the plot.
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
MAX_DEADLINE_LINES = 4


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
        if not np.any(np.nan_to_num(mean)):
            ax.text(0.5, 0.5, "all zero or unknown", transform=ax.transAxes, ha="center", color="grey")
    fig.suptitle(f"{title}: mean per arm with 95% bootstrap CI")
    arms_path = out / ARMS_PNG
    fig.savefig(arms_path, dpi=110)
    plt.close(fig)

    many = len(names) > 8
    fig, ax = plt.subplots(figsize=(14 if many else 10, 6), constrained_layout=True)
    styles = ("-", "--", ":", "-.")
    for i, arm in enumerate(names):
        latency = np.sort([1000 * r.latency_s for r in rows if r.arm == arm and not math.isnan(r.latency_s)])
        if len(latency):
            y_values = np.arange(1, len(latency) + 1) / len(latency)
            ax.step(latency, y_values, where="post", label=arm, linestyle=styles[(i // 10) % len(styles)])
    deadlines = sorted({round(1000 * r.deadline_s, 6) for r in rows if not math.isnan(r.deadline_s)})
    if len(deadlines) <= MAX_DEADLINE_LINES:
        for deadline_ms in deadlines:
            ax.axvline(deadline_ms, color="black", linestyle="--", label=f"deadline {deadline_ms:g} ms")
    else:  # per-query deadlines (replayed traces): one line at their median
        median = float(np.median(deadlines))
        ax.axvline(median, color="black", linestyle="--", label=f"median deadline {median:.0f} ms")
    ax.set_xscale("log")
    ax.set_xlabel("latency from arrival to answer (ms, log scale)")
    ax.set_ylabel("share of answered queries")
    ax.set_title(f"{title}: latency CDF per arm")
    ax.grid(alpha=0.3)
    if many:  # beside the plot, so the curves stay visible
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="x-small")
    else:
        ax.legend(loc="lower right", fontsize="small")
    latency_path = out / LATENCY_PNG
    fig.savefig(latency_path, dpi=110)
    plt.close(fig)
    return [arms_path, latency_path]
