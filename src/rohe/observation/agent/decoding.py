"""Turning received messages into reports: the standard JSON batch format, or a user parser.

The standard decoder is `reports.decode_batch`: one pass in pydantic-core for a valid batch, report by report for
a batch holding bad reports, so the good ones in it are kept. Either way what cannot be decoded is counted in the
transport's DecodeStats, never raised; a user parser's failure costs its whole message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from rohe.observation.reports import DecodeStats, Report, decode_batch

log = logging.getLogger(__name__)

Decoder = Callable[[bytes | str, DecodeStats], list[Report]]
Parser = Callable[[bytes], list[Report]]

# The standard format's decoder is the one every transport uses; one implementation, so the two never drift.
decode_json: Decoder = decode_batch


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
