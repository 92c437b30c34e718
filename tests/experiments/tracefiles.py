"""Small IoT-journal-format run folders written by tests, with chosen defects."""

from __future__ import annotations

import csv
from pathlib import Path

INFERENCE_HEADER = [
    "query_id",
    "inf_time",
    "remaining_inference_time",
    "time_violation",
    "time_window",
    "data_sources",
    "task_id",
    "inf_id",
    "data",
    "explainability",
]
MONITORING_HEADER = [
    "query_id",
    "time_window",
    "response_time",
    "model_id",
    "model_version",
    "device_id",
    "instance_id",
    "explainability",
    "data_source",
    "inf_id",
    "inf_result",
    "metadata",
]


def write_run(
    folder: Path, queries: list[dict[str, str]], members: list[dict[str, str]], feedback: list[tuple[str, str]]
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "inference_report.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, INFERENCE_HEADER, restval="")
        writer.writeheader()
        writer.writerows(queries)
    with (folder / "monitoring_report.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, MONITORING_HEADER, restval="")
        writer.writeheader()
        writer.writerows(members)
    with (folder / "consumer_feedback.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["query_id", "ground_truth"])
        writer.writerows(feedback)
    return folder


def query(qid: str, t: float, late: bool, members: list[str], served: str, budget: float = 0.1) -> dict[str, str]:
    return {
        "query_id": qid,
        "inf_time": repr(t),
        "remaining_inference_time": repr(budget),
        "time_violation": str(late),
        "data_sources": "['acc_phone']",
        "inf_id": repr(members),
        "data": repr({served: 0.9, "other": 0.1}),
    }


def member(inf: str, qid: str, model: str, device: str, seconds: float, predicted: str) -> dict[str, str]:
    return {
        "query_id": qid,
        "response_time": repr(seconds),
        "model_id": model,
        "device_id": device,
        "instance_id": "i-1",
        "data_source": "acc_phone",
        "inf_id": inf,
        "inf_result": repr({predicted: 0.7, "other": 0.3, "inf_result": 12345.6}),
    }


def clean_run(folder: Path, late_every: int = 4) -> Path:
    """Twelve queries, two members each (two models on two devices), feedback for all; one in `late_every` late."""
    queries, members, feedback = [], [], []
    for i in range(12):
        qid = f"q{i}"
        ids = [f"{qid}-a", f"{qid}-b"]
        truth = "walking" if i % 2 else "sitting"
        queries.append(query(qid, 100.0 + i * 0.5, i % late_every == 0, ids, truth if i % 3 else "other"))
        members.append(member(ids[0], qid, "m1", "nano", 0.010 + 0.001 * i, truth))
        members.append(member(ids[1], qid, "m2", "orin", 0.020 + 0.002 * i, "sitting"))
        feedback.append((qid, truth))
    return write_run(folder, queries, members, feedback)
