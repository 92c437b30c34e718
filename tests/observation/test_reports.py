from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from observation.helpers import make_reports
from rohe.observation.reports import DecodeStats, Report, ReportKind, ResourceUse, decode_batch, encode_batch


def test_round_trip_keeps_every_field() -> None:
    reports = make_reports(10)
    assert decode_batch(encode_batch(reports)) == reports


def test_encoding_is_compact() -> None:
    payload = encode_batch(make_reports(1)).decode()
    assert ": " not in payload and "null" not in payload
    assert json.loads(payload)[0]["schema_version"] == 1


FUTURE_VERSION = encode_batch(make_reports(1)).replace(b'"schema_version":1', b'"schema_version":2')


@pytest.mark.parametrize("payload", [b"not json", b"{}", b'[{"app": "a"}]', b"\xff\xfe", b'[{"x": 1}]', FUTURE_VERSION])
def test_malformed_messages_are_counted_not_raised(payload: bytes) -> None:
    stats = DecodeStats()
    assert decode_batch(payload, stats) == []
    assert (stats.messages, stats.errors, stats.reports) == (1, 1, 0)
    assert stats.last_error


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Report.model_validate({"app": "a", "run": "r", "kind": "request", "surprise": 1})


def test_kind_and_resource_must_agree() -> None:
    with pytest.raises(ValidationError, match="resource"):
        Report(app="a", run="r", kind=ReportKind.RESOURCE)
    with pytest.raises(ValidationError, match="resource"):
        Report(app="a", run="r", kind=ReportKind.REQUEST, resource=ResourceUse(cpu=1, memory=1))


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.floats(0, 1e6), max_size=4),
       st.floats(0, 1), st.text(min_size=1, max_size=20))
def test_round_trip_property(latencies: dict[str, float], confidence: float, app: str) -> None:
    report = Report(app=app, run="r", kind=ReportKind.REQUEST, stage_latency_ms=latencies, confidence=confidence)
    stats = DecodeStats()
    assert decode_batch(encode_batch([report]), stats) == [report]
    assert stats.errors == 0
