"""The demo's building blocks that need no processes: placement on a kept data dir, the workload plan."""

from __future__ import annotations

from pathlib import Path

from rohe.core.config import Settings
from rohe.demo.placement import place_pipeline
from rohe.demo.workload import ALGORITHMS, CONSUMERS, demo_workload
from rohe.examples.object_classification import PIPELINE_FILE, data_file
from rohe.platform import Platform
from rohe.serving.loadgen import build_schedule
from rohe.serving.pipeline import load_pipeline


def test_placing_twice_on_a_kept_data_dir_starts_afresh(tmp_path: Path) -> None:
    spec = load_pipeline(data_file(PIPELINE_FILE))
    outcomes = []
    for _ in range(2):
        settings = Settings(data_dir=tmp_path / "data")
        settings.ensure_data_dir()
        platform = Platform.open(settings)
        try:
            outcome, table = place_pipeline(platform, spec.services, tmp_path / "out")
        finally:
            platform.close()
        outcomes.append(outcome)
        assert table.row_count >= 4  # every placement algorithm compared
    for outcome in outcomes:
        assert outcome.unplaced == 0
        assert len(outcome.replicas) == sum(s.replicas for s in spec.services)
        assert {r.service for r in outcome.replicas} == {s.name for s in spec.services}
    assert any((tmp_path / "out" / "manifests").glob("*.yaml"))


def test_the_workload_covers_every_pair_and_kills_before_the_burst() -> None:
    for quick in (True, False):
        plan = demo_workload(quick=quick)
        phases = plan.profile.resolved()
        assert [p.name for p in phases] == ["steady", "burst", "recovery"]
        assert phases[1].rate == 3 * phases[0].rate
        assert 0 < plan.kill_at_s < phases[0].duration_s
        schedule = build_schedule(plan.profile, 450)
        pairs = {(r.consumer, r.algorithm) for r in schedule.requests}
        assert pairs == {(c, a) for c in CONSUMERS for a in ALGORITHMS}
    assert demo_workload(0.5).profile.duration_s == demo_workload().profile.duration_s / 2
