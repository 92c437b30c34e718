"""The probe-side buffer survives a transport outage without loss; the consumer counts every report once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from observation.helpers import make_reports
from rohe.core.errors import InvalidInput
from rohe.observation.buffer import Deduplicator, ReportBuffer
from rohe.observation.reports import Report
from rohe.observation.transports import InProcessTransport


class FlakyTransport(InProcessTransport):
    """Fails while `down` is set; optionally 'loses the ack' so a delivered batch is resent (a duplicate)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.calls = 0
        self.duplicate_once = True

    async def publish(self, batch: list[Report]) -> None:
        self.calls += 1
        if self.down:
            raise ConnectionError("broker unreachable")
        await super().publish(batch)
        if self.duplicate_once:
            self.duplicate_once = False
            raise ConnectionError("ack lost after delivery")


def test_outage_spills_to_disk_and_everything_arrives_once(tmp_path: Path) -> None:
    transport = FlakyTransport()
    spill = tmp_path / "spill.jsonl"
    reports = make_reports(250)
    dedup = Deduplicator(capacity=1000)
    seen_spill_lines: list[int] = []

    async def scenario() -> list[Report]:
        stream = await transport.subscribe()
        buffer = ReportBuffer(transport, spill, batch_size=20, max_in_memory=50, flush_interval=0.01,
                              retry_delay=0.01)
        buffer.start()
        for report in reports:
            buffer.add(report)  # never awaits: the caller is not blocked by the outage
        async with asyncio.timeout(10):
            while transport.calls < 3:
                await asyncio.sleep(0.01)
        seen_spill_lines.append(len(spill.read_text().splitlines()))
        transport.down = False
        got: list[Report] = []
        async with asyncio.timeout(10):
            while len(got) < len(reports):
                got.extend(dedup.fresh(await anext(stream)))
            await buffer.close(timeout=5)
        assert buffer.backlog == 0 and buffer.spilled_total == 200 and buffer.failures >= 3
        return got

    got = asyncio.run(scenario())
    assert seen_spill_lines == [200]
    assert sorted(str(r.report_id) for r in got) == sorted(str(r.report_id) for r in reports)
    assert dedup.duplicates == 20  # the batch whose ack was lost came twice, counted once
    assert not spill.exists()


def test_resent_batch_is_counted_once() -> None:
    dedup = Deduplicator(capacity=10)
    batch = make_reports(5)
    assert dedup.fresh(batch) == batch
    assert dedup.fresh(batch) == []
    assert dedup.duplicates == 5


def test_deduplicator_memory_is_bounded() -> None:
    dedup = Deduplicator(capacity=3)
    reports = make_reports(4)
    dedup.fresh(reports)
    # The oldest id was forgotten, so it is treated as new again; the newest three are still remembered.
    assert dedup.fresh(reports[:1]) == reports[:1]
    assert dedup.fresh(reports[2:]) == []


def test_bad_settings_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        ReportBuffer(InProcessTransport(), tmp_path / "s", batch_size=0)
    assert caught.value.problems[0].location == "batch_size"
    with pytest.raises(InvalidInput):
        Deduplicator(capacity=0)


def test_unsent_reports_survive_close_and_are_resent_by_the_next_buffer(tmp_path: Path) -> None:
    spill = tmp_path / "spill.jsonl"
    reports = make_reports(30)
    down = FlakyTransport()

    async def first_process() -> None:
        buffer = ReportBuffer(down, spill, batch_size=10, max_in_memory=20, flush_interval=0.01, retry_delay=0.01)
        buffer.start()
        for report in reports:
            buffer.add(report)
        await buffer.close(timeout=0.05)

    asyncio.run(first_process())
    assert len(spill.read_text().splitlines()) == 30
    up = InProcessTransport()

    async def second_process() -> list[Report]:
        stream = await up.subscribe()
        buffer = ReportBuffer(up, spill, batch_size=10, max_in_memory=20, flush_interval=0.01)
        buffer.start()
        got: list[Report] = []
        async with asyncio.timeout(10):
            while len(got) < len(reports):
                got.extend(await anext(stream))
            await buffer.close()
        return got

    assert [r.report_id for r in asyncio.run(second_process())] == [r.report_id for r in reports]
    assert not spill.exists()
