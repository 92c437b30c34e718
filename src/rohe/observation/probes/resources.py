"""Periodic RESOURCE reports: this process's CPU cores and memory, the node's load, and GPU use when NVML is there."""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import psutil

from rohe.observation.probes.scope import ReportOrigin
from rohe.observation.reports import Report, ReportKind, ReportSink, ResourceUse

log = logging.getLogger(__name__)


def resource_report(origin: ReportOrigin, cpu: float, memory: float, gpu: float = 0.0,
                    attributes: Mapping[str, object] | None = None) -> Report:
    return Report(app=origin.app, run=origin.run, kind=ReportKind.RESOURCE, service=origin.service,
                  node=origin.node, resource=ResourceUse(cpu=max(cpu, 0.0), memory=max(memory, 0.0), gpu=gpu),
                  attributes={k: str(v) for k, v in (attributes or {}).items()})


def _gpu_reader() -> Callable[[], float] | None:
    """A function returning the first GPU's utilisation fraction, or None when pynvml is absent or finds no GPU."""
    try:
        nvml: Any = importlib.import_module("pynvml")
        nvml.nvmlInit()
        handle = nvml.nvmlDeviceGetHandleByIndex(0)
    except Exception:  # no pynvml, no driver or no device: report gpu 0 rather than fail the probe
        return None

    def read() -> float:
        return float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu) / 100.0

    return read


class ResourceSampler:
    """Sends one RESOURCE report every `interval_s` from a daemon thread until `stop`.

    cpu is in cores (1.0 = one core busy) averaged since the previous sample, memory is the resident set in MiB;
    attributes carry node_cpu_percent, node_memory_percent and node_cpus for node-level views.
    """

    def __init__(self, sink: ReportSink, origin: ReportOrigin, interval_s: float = 5.0,
                 process: psutil.Process | None = None) -> None:
        self._sink, self._origin, self._interval = sink, origin, interval_s
        self._process = process or psutil.Process()
        self._gpu = _gpu_reader()
        # psutil measures CPU between calls: prime both counters so the first sample covers a real interval.
        self._process.cpu_percent(None)
        psutil.cpu_percent(None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.samples = 0

    def sample(self) -> Report:
        """Measure now (since the previous sample) and build the report without sending it."""
        with self._process.oneshot():
            cores = self._process.cpu_percent(None) / 100.0
            rss_mib = self._process.memory_info().rss / 2**20
        gpu = 0.0
        if self._gpu is not None:
            try:
                gpu = self._gpu()
            except Exception as exc:  # a GPU that vanished mid-run must not stop CPU/memory reporting
                log.debug("GPU read failed: %s", exc)
        node = {"node_cpu_percent": round(float(psutil.cpu_percent(None)), 2),
                "node_memory_percent": round(float(psutil.virtual_memory().percent), 2),
                "node_cpus": psutil.cpu_count() or 1}
        return resource_report(self._origin, cores, rss_mib, gpu, node)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="rohe-resource-sampler", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._sink.submit(self.sample())
                self.samples += 1
            except Exception as exc:  # a failed sample is skipped; the next one may work
                log.warning("resource sample failed: %s", exc)
