"""Tier 1 rules: threshold, rate of change and missing data over window streams, from YAML."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from observation.evaluation.builders import window
from rohe.core.errors import InvalidInput
from rohe.quality import RuleEngine, load_rules, metric_reader, parse_rules

RULES = """
rules:
  - {name: p99-high, metric: end_to_end.p99_ms, when: threshold, operator: ">", value: 500, for: 2, severity: critical}
  - {name: accuracy-falling, metric: accuracy, when: rate_of_change, operator: "<", value: -0.05}
  - {name: no-labels, metric: accuracy, when: missing, for: 2, after_s: 30}
  - {name: fanout-slow, metric: stages.fanout.p99_ms, operator: ">=", value: 1000, consumer: tenant-a}
"""


@pytest.fixture
def engine(tmp_path: Path) -> RuleEngine:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return RuleEngine(load_rules(path))


def test_threshold_needs_its_consecutive_windows(engine: RuleEngine) -> None:
    assert engine.observe(window(0, p99=900.0)) == []
    (alert,) = [a for a in engine.observe(window(1, p99=900.0)) if a.rule == "p99-high"]
    assert alert.severity.value == "critical" and alert.observed == 900.0
    assert "for 2 windows" in alert.message
    assert [a.rule for a in engine.observe(window(2, p99=100.0))] == []


def test_rate_of_change_compares_with_the_previous_window(engine: RuleEngine) -> None:
    engine.observe(window(0, accuracy=0.95))
    assert engine.observe(window(1, accuracy=0.93)) == []
    (alert,) = engine.observe(window(2, accuracy=0.80))
    assert alert.rule == "accuracy-falling" and alert.observed == pytest.approx(-0.13)


def test_missing_values_and_silent_streams(engine: RuleEngine) -> None:
    engine.observe(window(0, accuracy=None, labelled=0))
    (alert,) = engine.observe(window(1, accuracy=None, labelled=0))
    assert alert.rule == "no-labels" and alert.observed is None
    last = window(2)
    engine.observe(last)
    assert engine.check_silence(last.end + timedelta(seconds=10)) == []
    (silent,) = engine.check_silence(last.end + timedelta(seconds=31))
    assert silent.rule == "no-labels" and "no window for 31 s" in silent.message
    assert engine.check_silence(last.end + timedelta(seconds=60)) == []  # once per silence


def test_rules_filter_by_consumer(engine: RuleEngine) -> None:
    slow = {"fanout": window(0, p99=2000.0).stages["fanout"]}
    assert [a.rule for a in engine.observe(window(0, consumer="other", stages=slow))] == []
    assert [a.rule for a in engine.observe(window(0, stages=slow))] == ["fanout-slow"]


@pytest.mark.parametrize(
    ("rule", "location"),
    [
        ({"name": "x", "metric": "happiness", "operator": ">", "value": 1}, "rules[0].metric"),
        ({"name": "x", "metric": "accuracy", "operator": "=>", "value": 1}, "rules.0.operator"),
        ({"name": "x", "metric": "accuracy", "when": "threshold"}, "rules.0"),
        ({"name": "x", "metric": "models.m1", "operator": ">", "value": 1}, "rules[0].metric"),
    ],
)
def test_bad_rules_name_the_field(rule: dict[str, object], location: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rules({"rules": [rule]})
    assert caught.value.problems[0].location.replace("[", ".").replace("]", "") == location.replace("[", ".").replace(
        "]", "")


def test_metric_paths_read_nested_values() -> None:
    w = window(0, custom={"top5": 0.2}, class_miss_rate={"3": 0.4})
    assert metric_reader("models.m1.accuracy")(w) == 0.9
    assert metric_reader("stages.fanout.p99_ms")(w) == pytest.approx(80.0)
    assert metric_reader("custom.top5")(w) == 0.2
    assert metric_reader("class_miss_rate.3")(w) == 0.4
    assert metric_reader("availability")(w) == 1.0
    assert metric_reader("models.nope.accuracy")(w) is None
    assert metric_reader("models.m1.latency.p99_ms")(w) == pytest.approx(70.0)
