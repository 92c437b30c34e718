"""Turning received messages into reports: the standard JSON batch format, or a user parser.

The standard decoder parses and validates in one pass in pydantic-core (`validate_json`), about twice as fast as
`json.loads` followed by per-report validation, and accepts exactly what `encode_batch` writes. Either way a
message that cannot be decoded yields no reports and is counted in the transport's DecodeStats, never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pydantic import TypeAdapter, ValidationError

from rohe.observation.reports import DecodeStats, Report

log = logging.getLogger(__name__)

Decoder = Callable[[bytes | str, DecodeStats], list[Report]]
Parser = Callable[[bytes], list[Report]]

_BATCH = TypeAdapter(list[Report])


def decode_json(payload: bytes | str, stats: DecodeStats) -> list[Report]:
    stats.messages += 1
    try:
        reports = _BATCH.validate_json(payload)
    except (ValidationError, ValueError) as exc:
        stats.errors += 1
        stats.last_error = str(exc)[:300]
        return []
    stats.reports += len(reports)
    return reports


def parser_decoder(parser: Parser, app: str) -> Decoder:
    """Wrap a user parser so that anything it raises, or a result that is not reports, counts as malformed."""

    def decode(payload: bytes | str, stats: DecodeStats) -> list[Report]:
        stats.messages += 1
        try:
            reports = list(parser(payload if isinstance(payload, bytes) else payload.encode()))
            if not all(isinstance(r, Report) for r in reports):
                raise TypeError("the parser must return a list of Report")
        except Exception as exc:  # a user parser failing on one message must not stop the agent
            stats.errors += 1
            stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("agent %s: parser rejected a message: %s", app, stats.last_error)
            return []
        stats.reports += len(reports)
        return reports

    return decode
