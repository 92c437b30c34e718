"""The probe records stage timings, builds reports by the convention, never blocks, and loses nothing."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path

import pytest

from observation.helpers import make_reports, unique
from observation.probes.support import RecordingTransport
from rohe.core.errors import Conflict, InvalidInput
from rohe.observation.brokers import AmqpTransport, MqttTransport
from rohe.observation.probes import Probe, annotate
from rohe.observation.reports import Report, ReportKind, RequestStatus
from rohe.observation.transports import Transport


@pytest.fixture
def recorder() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
def probe(recorder: RecordingTransport, tmp_path: Path) -> Iterator[Probe]:
    instance = Probe("shop", "r1", transport=recorder, service="gateway", node="nuc-1", batch_size=10,
                     flush_interval_s=0.01, retry_delay_s=0.01, max_retry_delay_s=0.05, spill_dir=tmp_path)
    yield instance
    instance.close(timeout=2)


def test_stage_and_measure_time_into_the_request_report(probe: Probe, recorder: RecordingTransport) -> None:
    @probe.measure(stage="preprocessing")
    def prepare() -> str:
        time.sleep(0.02)
        return "ready"

    @probe.measure()
    async def infer() -> int:
        await asyncio.sleep(0.03)
        return 7

    async def serve() -> None:
        with probe.scope(request_id="q-1", consumer="alice"):
            assert prepare() == "ready"
            assert await infer() == 7
            with probe.stage("aggregation"):
                time.sleep(0.01)
            annotate(predicted_class=7, confidence=0.8)
            probe.request(members=["a", "b"], late=["c"], cost=0.5, attributes={"ensemble_size": 2})

    asyncio.run(serve())
    (report,) = recorder.wait_for(1)
    stages = report.stage_latency_ms
    assert set(stages) == {"preprocessing", "test_stage_and_measure_time_into_the_request_report.<locals>.infer",
                           "aggregation"}
    # Lower bounds are the sleeps; the generous upper bounds only catch a wrong unit on a loaded machine.
    assert 20 <= stages["preprocessing"] < 1000
    assert 30 <= stages["test_stage_and_measure_time_into_the_request_report.<locals>.infer"] < 1000
    assert 10 <= stages["aggregation"] < 1000
    assert report.end_to_end_ms is not None and report.end_to_end_ms >= sum(stages.values())
    assert (report.request_id, report.consumer, report.predicted_class, report.confidence) == ("q-1", "alice", "7", 0.8)
    assert report.status is RequestStatus.PARTIAL  # someone answered, someone was late
    assert (report.service, report.node, report.attributes) == ("gateway", "nuc-1", {"ensemble_size": "2"})


def test_concurrent_requests_keep_their_own_timings(probe: Probe, recorder: RecordingTransport) -> None:
    async def one(name: str, delay: float) -> None:
        with probe.scope(request_id=name):
            async with probe.stage("work"):
                await asyncio.sleep(delay)
            probe.request()

    async def both() -> None:
        await asyncio.gather(one("slow", 0.1), one("fast", 0.01))

    asyncio.run(both())
    by_id = {r.request_id: r.stage_latency_ms["work"] for r in recorder.wait_for(2)}
    assert 10 <= by_id["fast"] < by_id["slow"] and by_id["slow"] >= 100


def test_stage_outside_a_request_is_reported_on_its_own(probe: Probe, recorder: RecordingTransport) -> None:
    with probe.stage("warmup"):
        time.sleep(0.005)
    (report,) = recorder.wait_for(1)
    assert report.attributes == {"standalone": "true"} and report.stage_latency_ms["warmup"] >= 5


def test_member_and_feedback_reports_follow_the_convention(probe: Probe, recorder: RecordingTransport) -> None:
    probe.member("resnet", request_id="q-2", consumer="bob", predicted_class=3, confidence=0.9, inference_ms=12.5)
    probe.member("vgg", request_id="q-2", consumer="bob", answered=False)
    probe.feedback("q-2", 3, consumer="bob")
    answered, late, feedback = recorder.wait_for(3)
    assert (answered.model_id, answered.status, answered.predicted_class) == ("resnet", RequestStatus.OK, "3")
    assert answered.stage_latency_ms == {"inference": 12.5}
    assert (late.model_id, late.status, late.predicted_class) == ("vgg", RequestStatus.ERROR, None)
    assert (feedback.kind, feedback.request_id, feedback.true_class) == (ReportKind.FEEDBACK, "q-2", "3")


def _closed_port() -> int:
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        return int(spare.getsockname()[1])  # nothing listens once the socket is closed


@pytest.mark.parametrize("kind", ["mqtt", "amqp"])
def test_submit_never_blocks_when_the_broker_is_unreachable(kind: str, tmp_path: Path) -> None:
    port = _closed_port()
    transport: Transport = (MqttTransport("shop", "r1", port=port) if kind == "mqtt"
                            else AmqpTransport("shop", "r1", f"amqp://guest:guest@127.0.0.1:{port}/"))
    reports = make_reports(10_000, "shop", "r1")
    probe = Probe("shop", "r1", transport=transport, spill_dir=tmp_path, retry_delay_s=0.01)
    try:
        for report in reports:
            probe.submit(report)
        time.sleep(0.2)
        assert probe.stats.failures >= 1 and probe.stats.sent == 0
    finally:
        probe.close(timeout=0.2)
    # Nothing was lost: what could not be sent waits on disk for the next probe.
    assert len(probe.spill_path.read_text().splitlines()) == 10_000


class HungTransport(Transport):
    """A broker that accepts the connection and then never answers: every publish waits forever."""

    async def publish(self, batch: list[Report]) -> None:
        await asyncio.Event().wait()

    async def subscribe(self) -> AsyncGenerator[list[Report], None]:
        raise NotImplementedError

    async def close(self) -> None:
        return None


def test_submit_returns_while_the_transport_hangs(tmp_path: Path) -> None:
    # Submits run on the caller's thread; if one waited for the transport, this thread would never finish.
    probe = Probe("shop", "r1", transport=HungTransport(), spill_dir=tmp_path, max_in_memory=1_000)
    submitter = threading.Thread(target=lambda: [probe.submit(r) for r in make_reports(10_000, "shop", "r1")])
    try:
        submitter.start()
        submitter.join(timeout=60)
        assert not submitter.is_alive(), "submit blocked behind a hung transport"
        assert probe.stats.submitted == 10_000 and probe.stats.sent == 0
    finally:
        probe.close(timeout=0.2)


def test_outage_spills_to_disk_and_resends_when_the_transport_returns(recorder: RecordingTransport,
                                                                      tmp_path: Path) -> None:
    recorder.down = True
    reports = make_reports(500, "shop", "r1")
    probe = Probe("shop", "r1", transport=recorder, batch_size=50, max_in_memory=100, flush_interval_s=0.01,
                  retry_delay_s=0.01, max_retry_delay_s=0.05, spill_dir=tmp_path)
    try:
        for report in reports:
            probe.submit(report)
        deadline = time.monotonic() + 5
        while probe.stats.spilled_total < 400 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert probe.stats.spilled_total == 400 and probe.spill_path.exists()
        recorder.down = False
        got = recorder.wait_for(500)
    finally:
        probe.close(timeout=2)
    assert [r.report_id for r in got] == [r.report_id for r in reports]  # all of them, oldest first
    assert recorder.failed_calls >= 1 and not probe.spill_path.exists()


def test_unsent_reports_survive_close_and_the_next_probe_sends_them(tmp_path: Path) -> None:
    down = RecordingTransport()
    down.down = True
    reports = make_reports(40, "shop", "r1")
    first = Probe("shop", "r1", transport=down, spill_dir=tmp_path, retry_delay_s=0.01)
    for report in reports[:30]:
        first.submit(report)
    first.close(timeout=0.1)
    for report in reports[30:]:
        first.submit(report)  # after close: straight to the spill file, still never raising
    assert down.closed and first.stats.submitted == 40
    up = RecordingTransport()
    second = Probe("shop", "r1", transport=up, spill_dir=tmp_path, flush_interval_s=0.01)
    try:
        got = up.wait_for(40)
    finally:
        second.close()
    assert [r.report_id for r in got] == [r.report_id for r in reports]


def test_in_process_default_reaches_a_subscriber_on_another_loop(tmp_path: Path) -> None:
    from rohe.observation.transports import channel_name, shared_in_process

    app = unique("inproc")
    reports = make_reports(250, app, "r1")

    async def subscriber() -> int:
        stream = await shared_in_process(channel_name(app, "r1", ".")).subscribe()
        with Probe(app, "r1", spill_dir=tmp_path, flush_interval_s=0.01) as probe:
            for report in reports:
                probe.submit(report)
            got: list[object] = []
            async with asyncio.timeout(5):
                while len(got) < len(reports):
                    got.extend(r.report_id for r in await anext(stream))
        await stream.aclose()
        return len(got)

    assert asyncio.run(subscriber()) == 250


def test_bad_settings_name_the_field(tmp_path: Path, probe: Probe) -> None:
    with pytest.raises(InvalidInput) as caught:
        Probe("shop", "r1", flush_interval_s=0, spill_dir=tmp_path)
    assert caught.value.problems[0].location == "flush_interval_s"
    with pytest.raises(InvalidInput, match="channel"):
        Probe("", "r1", spill_dir=tmp_path)
    with pytest.raises(Conflict) as clash:  # same app, run, service and node as the fixture's live probe
        Probe("shop", "r1", service="gateway", node="nuc-1", spill_dir=tmp_path)
    assert clash.value.problems[0].location == "spill_dir"


def test_unwritable_spill_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(InvalidInput) as caught:
        Probe("shop", "r1", spill_dir=blocker / "spill")
    assert caught.value.problems[0].location == "spill_dir"
