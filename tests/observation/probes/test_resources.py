"""The resource sampler measures this process sensibly and reports periodically."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psutil

from observation.probes.support import RecordingTransport
from rohe.observation.probes import Probe, ReportOrigin, ResourceSampler
from rohe.observation.reports import Report, ReportKind


class ListSink:
    def __init__(self) -> None:
        self.reports: list[Report] = []

    def submit(self, report: Report) -> None:
        self.reports.append(report)


def _burn(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        sum(i * i for i in range(1000))


def test_a_busy_process_shows_cpu_and_its_real_memory() -> None:
    sampler = ResourceSampler(ListSink(), ReportOrigin("shop", "r1", "svc", "nuc-1"))
    sampler.sample()
    # Ground truth for the same interval: CPU seconds this process used per wall second. On a loaded machine
    # the spinning thread gets less than a core, so compare with what it really got rather than with 1.0.
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    _burn(0.3)
    busy = sampler.sample()
    expected = (time.process_time() - cpu_before) / (time.perf_counter() - wall_before)
    assert busy.kind is ReportKind.RESOURCE and busy.resource is not None
    assert expected > 0.05
    assert abs(busy.resource.cpu - expected) <= 0.1 + 0.25 * expected
    assert busy.resource.cpu <= (psutil.cpu_count() or 1) + 0.1
    rss = psutil.Process().memory_info().rss / 2**20
    assert abs(busy.resource.memory - rss) / rss < 0.1
    assert busy.resource.gpu == 0.0  # no NVML here
    assert 0 <= float(busy.attributes["node_cpu_percent"]) <= 100
    assert int(busy.attributes["node_cpus"]) == psutil.cpu_count()
    assert (busy.service, busy.node) == ("svc", "nuc-1")


def test_the_probe_samples_every_interval(tmp_path: Path) -> None:
    recorder = RecordingTransport()
    probe = Probe("shop", "r1", transport=recorder, resource_interval_s=0.05, flush_interval_s=0.01,
                  spill_dir=tmp_path)
    worker = threading.Thread(target=_burn, args=(0.25,))
    worker.start()
    worker.join()
    time.sleep(0.05)
    probe.close(timeout=2)
    samples = [r for r in recorder.reports if r.kind is ReportKind.RESOURCE]
    assert 2 <= len(samples) <= 12
    assert max(r.resource.cpu for r in samples if r.resource) > 0.02
    assert all(r.resource and r.resource.memory > 10 for r in samples)
