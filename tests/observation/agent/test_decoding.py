"""The agent's one-pass JSON decoder accepts and rejects exactly what the reference `decode_batch` does."""

from __future__ import annotations

import pytest

from observation.agent.support import feedback, member, request, resource
from observation.helpers import make_reports
from rohe.observation.agent.decoding import decode_json
from rohe.observation.reports import DecodeStats, decode_batch, encode_batch


def test_same_reports_as_the_reference_decoder() -> None:
    reports = [*make_reports(20), request(1, "a"), member(2, "a", "m1"), feedback(3, "a", "cat"), resource(4, 1, 2)]
    payload = encode_batch(reports)
    stats = DecodeStats()
    assert decode_json(payload, stats) == decode_batch(payload) == reports
    assert decode_json(payload.decode(), stats) == reports
    assert (stats.messages, stats.reports, stats.errors) == (2, 48, 0)


@pytest.mark.parametrize(
    "payload",
    [
        b"garbage",
        b'{"app": "a"}',
        b'[{"app": "a"}]',
        b"[1, 2]",
        b'[{"app":"a","run":"r","kind":"resource"}]',
        b"\xff\xfe",
    ],
)
def test_malformed_messages_are_counted_like_the_reference(payload: bytes) -> None:
    ours, reference = DecodeStats(), DecodeStats()
    assert decode_json(payload, ours) == decode_batch(payload, reference) == []
    assert (ours.messages, ours.errors) == (reference.messages, reference.errors) == (1, 1)
    assert ours.last_error
