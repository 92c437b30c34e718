"""What-if over stored observation windows: the contract holds under a scheduler that keeps the fast model,
and visibly does not when the deadline leaves no model feasible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from typer.testing import CliRunner

from rohe.cli.experiment import app
from rohe.core.contracts import ConsumerContract
from rohe.experiments.whatif import catalog_from_windows, whatif
from rohe.observation.metrics import LatencyStats, ModelStats, WindowMetrics
from rohe.observation.store import ObservationStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def latency(p50: float, p95: float, p99: float, count: int) -> LatencyStats:
    return LatencyStats(count=count, mean_ms=p50, p50_ms=p50, p95_ms=p95, p99_ms=p99, max_ms=p99)


def windows(app: str = "shop") -> list[WindowMetrics]:
    result = []
    for i in range(6):
        start = T0 + timedelta(seconds=10 * i)
        result.append(
            WindowMetrics(
                app=app,
                run="r1",
                consumer="gold",
                start=start,
                end=start + timedelta(seconds=10),
                requests=50,
                throughput_rps=5.0,
                labelled=40,
                accuracy=0.85,
                end_to_end=latency(6, 9, 12, 50),
                class_accuracy={"cat": 0.9, "dog": 0.8},
                models={
                    "fast": ModelStats(requests=50, latency=latency(5, 8, 10, 50), labelled=40, accuracy=0.8),
                    "slow": ModelStats(requests=10, latency=latency(200, 300, 400, 10), labelled=8, accuracy=0.95),
                },
            )
        )
    return result


def contract(deadline_ms: float) -> ConsumerContract:
    return ConsumerContract.model_validate(
        {
            "consumer": "gold",
            "ensemble": {"min": 1, "max": 2},
            "required_throughput": 5,
            "deadline_ms": deadline_ms,
            "objectives": [{"metric": "accuracy", "direction": "maximize", "min": 0, "max": 1}],
        }
    )


def test_catalog_is_the_windows_weighted_means() -> None:
    catalog, known = catalog_from_windows(windows())
    assert known and catalog.models == ("fast", "slow")
    fast = catalog.profile("fast", "observed")
    assert fast is not None and (fast.latency_p50_ms, fast.latency_p99_ms, fast.accuracy) == (5, 10, 0.8)
    assert dict(catalog.classes) == {0: "cat", 1: "dog"}


def test_contract_holds_or_not(store_url: str) -> None:
    store = ObservationStore(store_url)
    try:
        store.save_windows(windows())
        held = whatif(store, "shop", 600, contract(100), "adaptive", seed=1)
        assert held.windows == 6 and held.requests == 300
        assert held.simulated.queries > 200  # Poisson at the observed 5 req/s over the 60 s covered
        assert held.holds and held.simulated.latency_p99_s * 1000 <= 100
        broken = whatif(store, "shop", 600, contract(3), "adaptive", seed=1)
        assert not broken.holds
        assert broken.simulated.answered == 0 and broken.simulated.late_ratio == 1.0
        recent = whatif(store, "shop", 15, contract(100), "adaptive", seed=1)
        assert recent.windows == 2  # only windows ending within 15 s of the newest
    finally:
        store.close()


def test_cli(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'obs.db'}"
    store = ObservationStore(url)
    store.save_windows(windows())
    store.close()
    path = tmp_path / "gold.yaml"
    path.write_text(yaml.safe_dump(contract(100).model_dump(mode="json", exclude_none=True)))
    runner = CliRunner()
    args = ["whatif", "--app", "shop", "--window", "10m", "--contract", str(path), "--db", url]
    result = runner.invoke(app, [*args, "--scheduler", "dream"])
    assert result.exit_code == 0, result.output
    assert "would have held" in result.output
    missing = runner.invoke(app, ["whatif", "--app", "nope", "--window", "10m", "--contract", str(path), "--db", url])
    assert missing.exit_code == 2 and "no stored windows" in missing.output
    bad = runner.invoke(app, ["whatif", "--app", "shop", "--window", "ten", "--contract", str(path), "--db", url])
    assert bad.exit_code == 2 and "--window" in bad.output
