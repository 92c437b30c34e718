"""A site reports what it judged and decided on its own once the centre answers again (issue 11 §4).

Real processes and kill -9: the central API (`rohe start orchestration-service`) is SIGKILLed while the site
keeps judging (violations in its own store), deciding (decision records, gateway policy changes) and
forwarding; the site's forwarder process is SIGKILLed right after the centre stored a batch and before the
site noted it, and at an arbitrary moment of sending. Jepsen-style: the site's history (its journal, and what
its store holds) is compared with what the centre lists: every event there, exactly once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from site_farm import HERE, Central, _env

from rohe.control.records import ControlState, DecisionRecord, Observed, Remedy, decision_events
from rohe.core.config import Settings
from rohe.edge.outbox import OutboxForwarder, SiteOutbox, policy_event, violation_source
from rohe.observation.site_events import SiteEvent
from rohe.observation.violations import Cause, CauseKind, Violation
from rohe.platform import Platform

APP, RUN = "edge-test", "r1"


def central_ids(url: str, site: str) -> list[str]:
    return [e["event_id"] for e in httpx.get(f"{url}/observation/site-events", params={"site": site}).json()]


def wait_for(condition: object, timeout: float, what: str) -> None:
    give_up = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < give_up, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_torn_last_line_is_cut_and_nothing_is_journaled_twice(tmp_path: Path) -> None:
    outbox = SiteOutbox(tmp_path)
    events = [policy_event(APP, RUN, "cam", {"degrade": True}) for _ in range(3)]
    assert outbox.record(events) == 3
    assert outbox.record(events[:2]) == 0  # a source read again adds nothing
    outbox.close()
    with open(outbox.journal_path, "ab") as journal:
        journal.write(b'{"event_id": "policy:torn", "ki')  # a kill -9 mid-append
    reopened = SiteOutbox(tmp_path)
    assert [e.event_id for e in reopened.history()] == [e.event_id for e in events]
    assert reopened.record(events) == 0
    first_two, end = reopened.pending(limit=2)
    assert [e.event_id for e in first_two] == [e.event_id for e in events[:2]]
    reopened.ack(end)
    assert [e.event_id for e in reopened.pending()[0]] == [events[2].event_id]
    assert reopened.counts() == (3, 2)
    reopened.close()


def test_sent_events_are_compacted_to_their_ids_and_a_cut_short_compaction_is_harmless(tmp_path: Path) -> None:
    outbox = SiteOutbox(tmp_path, compact_after=1000)
    events = [policy_event(APP, RUN, "cam", {"degrade": True, "n": n}) for n in range(20)]
    outbox.record(events)
    first = outbox.journal_path
    for _ in range(3):  # a sender's three acknowledged batches: the second one passes 1,000 bytes
        _, end = outbox.pending(limit=5)
        outbox.ack(end)
    assert outbox.journal_path != first and not first.exists()
    assert outbox.counts() == (20, 15)
    assert [e.event_id for e in outbox.pending()[0]] == [e.event_id for e in events[15:]]
    assert outbox.record(events) == 0  # the ids of sent events are kept: a source read again adds nothing
    assert [e.event_id for e in outbox.history()][-5:] == [e.event_id for e in events[15:]]
    outbox.record([policy_event(APP, RUN, "cam", {"degrade": False})])
    outbox.close()
    # A compaction killed after writing its file but before the cursor named it: that file is dropped.
    (tmp_path / "journal-99.jsonl").write_bytes(b'{"event_id": "x", "sent": true}\n')
    reopened = SiteOutbox(tmp_path, compact_after=1000)
    assert not (tmp_path / "journal-99.jsonl").exists()
    assert reopened.counts() == (21, 15) and reopened.record(events) == 0
    assert len(reopened.pending()[0]) == 6
    reopened.close()


def _finish(directory: Path, central: str) -> dict[str, int]:
    process = _site_process(directory, central)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    status: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    return status


def _assert_exactly_once(directory: Path, central: str, at_least: int) -> None:
    outbox = SiteOutbox(directory)
    history = [e.event_id for e in outbox.history()]
    outbox.close()
    listed = central_ids(central, "edge-a")
    assert len(history) >= at_least and len(set(history)) == len(history)
    assert sorted(listed) == sorted(history)  # none lost, none doubled


def _site_process(directory: Path, central: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HERE / "outbox_site.py"), "--dir", str(directory), "--central", central, *extra],
        env=_env(), stdout=subprocess.PIPE, text=True,
    )


def test_a_forwarder_killed_mid_send_delivers_everything_once(tmp_path: Path) -> None:
    central = Central(tmp_path / "central").start()
    directory = tmp_path / "site" / "outbox"
    try:
        # Killed at its 3rd acknowledgement: the centre has stored 3 batches, the site's cursor counts 2.
        first = _site_process(directory, central.url, "--events", "200", "--batch", "10", "--crash-on-ack", "3")
        assert first.wait(30) == -9
        reopened = SiteOutbox(directory)
        journaled, acked = reopened.counts()
        reopened.close()
        assert 0 < acked < len(central_ids(central.url, "edge-a")) <= journaled
        # Restarted: sends what is left, the unacknowledged batch again; the centre ignores the copy.
        status = _finish(directory, central.url)
        assert status["duplicates"] >= 1
        _assert_exactly_once(directory, central.url, at_least=acked + 1)

        # Killed at an arbitrary moment while it sends a longer backlog, then restarted.
        second = _site_process(directory, central.url, "--events", "300", "--batch", "5")
        assert second.stdout is not None and second.stdout.readline().strip() == "recorded"
        second.kill()
        assert second.wait(30) == -9
        _finish(directory, central.url)
        _assert_exactly_once(directory, central.url, at_least=300)
    finally:
        central.stop()


def _violation(i: int, at: datetime) -> Violation:
    return Violation(app=APP, run=RUN, consumer="cam", clause="deadline_ms: response_time_p99_ms <= 20",
                     metric="response_time_p99_ms", operator="<=", threshold=20, observed=40 + i,
                     window_start=at - timedelta(seconds=1), window_end=at, detected_at=at,
                     causes=[Cause(kind=CauseKind.MODEL, name="m", share=1.0, evidence=f"p99 {40 + i} ms")],
                     explanation=f"p99 {40 + i} ms over the 20 ms deadline, model m")


def _decision(i: int, at: datetime) -> DecisionRecord:
    return DecisionRecord(at=at, app=APP, run=RUN, consumer="cam", trigger="violation", window_end=at,
                          action=Remedy(kind="degrade", target="cam"), status="applied", detail=f"step {i}")


class SiteWork:
    """What the site judges and decides while it runs: a violation every step (its agent's verdict, in its
    store), a decision record every 3rd (as a controller at the site stores them), its observed effect one
    step later, and a gateway policy change every 5th."""

    def __init__(self, site: Platform, forwarder: OutboxForwarder) -> None:
        self.violations, self.state, self.forwarder = site.observation.store, ControlState(site.store, APP, RUN), \
            forwarder
        self.times: list[datetime] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            at = datetime.now(UTC)
            self.violations.save_violations([_violation(i, at)])
            if i % 3 == 0:
                self.state.append([_decision(i, at)])
            if i % 3 == 1:
                records = self.state.decisions()
                observed = Observed(window_end=at, p99_ms=15, accuracy=0.9, throughput_rps=10, holds=True)
                records[-1] = records[-1].model_copy(update={"observed": observed})
                self.state.save_decisions(records)
            if i % 5 == 0:
                self.forwarder.record([policy_event(APP, RUN, "cam", {"degrade": i % 10 == 0, "step": i})])
            self.times.append(at)
            i += 1
            self._stop.wait(0.05)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


def test_what_a_site_decided_while_the_centre_was_killed_arrives_once(tmp_path: Path) -> None:
    central = Central(tmp_path / "central").start()
    site = Platform.open(Settings(data_dir=tmp_path / "site"))
    outbox = SiteOutbox(tmp_path / "site" / "edge" / "outbox")
    state = ControlState(site.store, APP, RUN)
    forwarder = OutboxForwarder(outbox, central.url, "edge-a",
                                [violation_source(site.observation.store, APP, RUN), lambda: decision_events(state)],
                                poll_s=0.2).start()
    work = SiteWork(site, forwarder)
    try:
        work.start()
        wait_for(lambda: forwarder.status.acked >= 10, 15, "the first events to arrive")
        central.kill()  # SIGKILL while the site keeps judging and deciding
        down_at = datetime.now(UTC)
        time.sleep(2.0)
        failed_by_restart = forwarder.status.failed_sends
        central.start()  # same data dir and port; ~3 s of start-up, still down meanwhile
        up_at = datetime.now(UTC)
        time.sleep(1.0)
        work.stop()

        # What the site holds: its store's violations and decisions, and the policy changes it journaled.
        in_store = {e.event_id for e in violation_source(site.observation.store, APP, RUN)()} | \
            {e.event_id for e in decision_events(state)}
        wait_for(lambda: in_store <= {e.event_id for e in outbox.history()} and forwarder.status.backlog == 0
                 and forwarder.status.online, 30, "the backlog to drain")
        history: list[SiteEvent] = outbox.history()
        listed = httpx.get(f"{central.url}/observation/site-events", params={"site": "edge-a"}).json()

        ids = [e.event_id for e in history]
        assert len(set(ids)) == len(ids)
        assert sorted(e["event_id"] for e in listed) == sorted(ids)  # every event, exactly once
        offline = [e for e in history if down_at <= e.occurred_at <= up_at]
        assert {e.kind for e in offline} >= {"violation", "decision", "decision-observed", "policy"}
        central_by_id = {e["event_id"]: e for e in listed}
        for event in offline:  # what the site judged offline, with its explanation and causes
            assert central_by_id[event.event_id]["payload"] == event.payload
            assert central_by_id[event.event_id]["site"] == "edge-a"
        # Backed off while the centre was away: a handful of attempts, not a busy loop.
        assert 1 <= failed_by_restart <= 6, forwarder.status
        assert forwarder.status.failed_sends <= 10, forwarder.status
    finally:
        work.stop()
        forwarder.close()
        site.close()
        central.stop()
