"""`rohe profile`: measure an example's models on this machine and write the profile CSV.

The measuring is rohe.serving.profiling; this module picks the example (rohe.examples) and prints.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from rohe.core.config import Settings
from rohe.core.errors import InvalidInput, Problem
from rohe.core.profiles import ProfileCatalog, save_catalog
from rohe.examples.workload import load_workload
from rohe.serving.profiling import profile_models


def _number(value: float | None, pattern: str) -> str:
    return "-" if value is None else format(value, pattern)


def profiles_table(catalog: ProfileCatalog, title: str) -> Table:
    """One row per profile; p95 and the per-class values are in the CSV, the worst class is shown."""
    table = Table(title=title, caption="worst = class with the lowest accuracy; rps = batched throughput")
    table.add_column("model", no_wrap=True)
    table.add_column("node", no_wrap=True)
    for column in ("p50 ms", "p99 ms", "rps", "accuracy", "conf", "worst", "cost/s"):
        table.add_column(column, justify="right", no_wrap=True)
    for p in catalog.profiles:
        worst = min(p.class_accuracy.items(), key=lambda item: item[1], default=None)
        table.add_row(
            p.model,
            p.node_type,
            _number(p.latency_p50_ms, ".2f"),
            _number(p.latency_p99_ms, ".2f"),
            _number(p.throughput_rps, ".0f"),
            _number(p.accuracy, ".3f"),
            _number(p.confidence, ".3f"),
            "-" if worst is None else f"{worst[0]}: {worst[1]:.2f}",
            _number(p.cost_base, "g"),
        )
    return table


def profile_command(
    example: str = "object_classification",
    out: Path = Path("profiles.csv"),
    node_type: str = "local",
    price_per_second: float | None = None,
    data_dir: Path | None = None,
    repeats: int = 200,
) -> None:
    """Measure an example's models on this machine, print them and write the profile CSV to `out`.

    Models are trained on first use and cached under the data dir (ROHE_DATA_DIR, default .rohe).
    """
    if not node_type.strip():
        raise InvalidInput("cannot profile", [Problem("node_type", "is empty", "name the node type, e.g. local")])
    workload = load_workload(example, data_dir if data_dir is not None else Settings().data_dir)
    catalog = profile_models(
        workload.predictors,
        workload.inputs,
        workload.labels,
        node_type,
        class_names=workload.class_names,
        repeats=repeats,
        price_per_second=price_per_second,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    save_catalog(catalog, out)
    console = Console()
    if not console.is_terminal:
        # Piped into a file or a CI log nothing limits the width; rich's 80-column guess would cut numbers.
        console.width = 120
    how = "trained and cached" if workload.trained else "loaded from cache"
    title = f"{example} on {node_type}: {len(workload.labels)} held-out samples, models {how}"
    console.print(profiles_table(catalog, title))
    console.print(f"wrote {len(catalog.profiles)} profiles to {out}")
