"""Profiles of running model services, measured on this machine in a few seconds (the demo, the example gateway).

Quality (accuracy per class, confidence) and batch throughput come from `measure_profile` on the held-out
split in-process: they do not depend on the transport. Latency is measured through each model service's
HTTP /predict, one request at a time, because that is what a member costs the gateway: schedulers that
budget a deadline from in-process timings alone would plan members that can never answer in time.
Cost per request is the replica's price per second times the seconds one request keeps it busy (HTTP p50).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import httpx
import numpy as np

from rohe.core.profiles import ProfileCatalog
from rohe.serving.profiling import measure_profile
from rohe.serving.workload import Workload

NODE_TYPE = "local"
# What one replica costs per second; the example contracts' cost ranges assume about this price.
PRICE_PER_SECOND = 0.0001


def http_latency_ms(url: str, inputs: np.ndarray, samples: int, client: httpx.Client) -> tuple[float, float, float]:
    """p50, p95, p99 of sequential single-sample /predict calls, after a short warm-up."""
    times = []
    for i in range(samples + 3):
        body = {"input": [float(x) for x in inputs[i % len(inputs)]]}
        started = time.perf_counter()
        client.post(f"{url}/predict", json=body).raise_for_status()
        if i >= 3:
            times.append((time.perf_counter() - started) * 1000)
    p50, p95, p99 = np.maximum.accumulate(np.percentile(np.asarray(times), [50, 95, 99]))
    return float(p50), float(p95), float(p99)


def measure_catalog(
    workload: Workload, endpoints: Mapping[str, list[str]], *, http_samples: int = 40, repeats: int = 40
) -> ProfileCatalog:
    profiles = []
    with httpx.Client(timeout=10.0) as client:
        for name, predictor in workload.predictors.items():
            measured = measure_profile(
                predictor,
                workload.inputs,
                workload.labels,
                NODE_TYPE,
                repeats=repeats,
                warmup=5,
                rounds=1,
                price_per_second=PRICE_PER_SECOND,
            )
            p50, p95, p99 = http_latency_ms(endpoints[name][0], workload.inputs, http_samples, client)
            profiles.append(
                measured.model_copy(
                    update={
                        "latency_p50_ms": p50,
                        "latency_p95_ms": p95,
                        "latency_p99_ms": p99,
                        "cost_per_request": PRICE_PER_SECOND * p50 / 1000,
                    }
                )
            )
    return ProfileCatalog.of(profiles, workload.class_names)
