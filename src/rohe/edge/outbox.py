"""A site's outbox: what the site judged and decided on its own (violations with their causes, controller
decisions, gateway policy changes), kept on disk and forwarded to the central API whenever it answers.

- Journal: `<dir>/journal-<generation>.jsonl`, one event a line, appended and fsynced before `record` returns,
  so an event the site has recorded survives a kill -9. A torn last line (a kill mid-append) is cut on open.
- Cursor: `<dir>/cursor.json` (written whole, see SiteCache): the journal in use and the offset up to which
  the centre has acknowledged. It moves only after the centre's 2xx, so a crash between the two sends that
  batch again; the centre stores each (site, event id) once, so the resend changes nothing. Nothing lost,
  nothing doubled.
- Once 1 MiB of sent events has piled up they are compacted to their ids (about 60 bytes each), which stay
  so that a source read again never journals them anew.
- Sources are level-triggered: each pass asks every source for all its events (e.g. every violation in the
  site's store) and journals those whose id the journal does not hold yet, so an event stored just before a
  crash is still journaled after the restart, and a source that is read twice adds nothing.
- While the centre fails, the forwarder waits 0.5 s, then twice as long each time up to 30 s: no busy loop,
  and a centre that has just restarted is not flooded by every site at once (the wait has jitter).
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from rohe.core.redact import redact_text, redact_url
from rohe.edge.cache import SiteCache
from rohe.observation.site_events import MAX_BATCH, SiteEvent, SiteEventBatch
from rohe.observation.store import ObservationStore
from rohe.observation.transports import Backoff

log = logging.getLogger(__name__)

CURSOR = "cursor"  # site cache entry in the outbox directory: the journal's generation and acknowledged offset
COMPACT_AFTER = 1 << 20  # bytes of acknowledged journal before they are reduced to ids
POLL_S = 1.0  # how often sources are read while all is sent; `record` wakes the forwarder at once
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
FULL_READ_EVERY = 60  # passes of a violation source between two reads of everything
Source = Callable[[], Iterable[SiteEvent]]


@dataclass
class OutboxStatus:
    journaled: int = 0
    acked: int = 0
    backlog: int = 0
    batches_sent: int = 0
    duplicates: int = 0  # events the centre already had: resends after a crash or a lost answer
    failures: int = 0  # consecutive failed sends
    failed_sends: int = 0  # all failed sends: with the back-off, a long outage costs a few dozen
    online: bool = False
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SiteOutbox:
    """The journal and its acknowledged prefix. `record` is thread-safe; `pending` and `ack` belong to one sender
    (the forwarder's thread). One outbox directory belongs to one process."""

    def __init__(self, directory: Path, compact_after: int = COMPACT_AFTER) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.compact_after = compact_after
        self._cursor = SiteCache(self.directory)
        self._lock = threading.Lock()
        cursor = self._cursor.load(CURSOR)
        self._generation, self._acked = (int(cursor["generation"]), int(cursor["offset"])) \
            if isinstance(cursor, dict) else (0, 0)
        for stale in self.directory.glob("journal-*.jsonl"):  # a compaction cut short, or the one before it
            if stale != self.journal_path:
                stale.unlink()
        self._ids: set[str] = set()
        self._offsets: list[int] = []  # end offset of each journaled event, in order
        self._compacted = 0  # bytes of the journal that are ids of sent events
        self._load()
        self._append = open(self.journal_path, "ab")  # noqa: SIM115 - held for the outbox's life, closed in close()

    @property
    def journal_path(self) -> Path:
        return self.directory / f"journal-{self._generation}.jsonl"

    def _load(self) -> None:
        path = self.journal_path
        data = path.read_bytes() if path.exists() else b""
        whole = data.rfind(b"\n") + 1
        if whole < len(data):
            log.warning("outbox %s: cutting a torn last line (%d bytes)", path, len(data) - whole)
            with open(path, "r+b") as handle:
                handle.truncate(whole)
                os.fsync(handle.fileno())
        offset = 0
        for line in data[:whole].splitlines(keepends=True):
            offset += len(line)
            document = json.loads(line)
            self._ids.add(document["event_id"])
            self._offsets.append(offset)
            if document.get("sent"):
                self._compacted = offset

    def close(self) -> None:
        with self._lock:
            self._append.close()

    # -- recording ---------------------------------------------------------------------------------
    def record(self, events: Iterable[SiteEvent]) -> int:
        """Journal the events whose id is new (durably, before returning); returns how many were new."""
        with self._lock:
            lines = []
            for event in events:
                if event.event_id not in self._ids:
                    self._ids.add(event.event_id)
                    lines.append(event.model_dump_json().encode() + b"\n")
            if not lines:
                return 0
            offset = self._offsets[-1] if self._offsets else 0
            self._append.write(b"".join(lines))
            self._append.flush()
            os.fsync(self._append.fileno())
            for line in lines:
                offset += len(line)
                self._offsets.append(offset)
            return len(lines)

    def history(self) -> list[SiteEvent]:
        """What the site judged and decided, in order: every event still held whole (all but those a compaction
        reduced to their id after the centre had them)."""
        return self._read(0, None)[0]

    # -- sending -----------------------------------------------------------------------------------
    def acked(self) -> int:
        return self._acked

    def pending(self, limit: int = MAX_BATCH) -> tuple[list[SiteEvent], int]:
        """The oldest unacknowledged events (at most `limit`) and the offset to acknowledge once they arrived."""
        return self._read(self._acked, limit)

    def ack(self, offset: int) -> None:
        self._save_cursor(self._generation, offset)
        if offset - self._compacted >= self.compact_after:
            self._compact()

    def counts(self) -> tuple[int, int]:
        """(journaled, acknowledged) events."""
        with self._lock:
            return len(self._offsets), sum(1 for end in self._offsets if end <= self._acked)

    def _save_cursor(self, generation: int, offset: int) -> None:
        self._cursor.save(CURSOR, {"generation": generation, "offset": offset, "at": datetime.now(UTC).isoformat()})
        self._generation, self._acked = generation, offset

    def _compact(self) -> None:
        """Keep only the ids of acknowledged events (so a source read again never journals them anew) and the
        unacknowledged tail whole, in the next generation's file; the cursor names the file in use, so a crash
        at any step leaves one consistent pair (the other file is deleted on the next start)."""
        with self._lock:
            with open(self.journal_path, "rb") as handle:
                done, tail = handle.read(self._acked), handle.read(self._offsets[-1] - self._acked)
            ids = [json.loads(line)["event_id"] for line in done.splitlines()]
            prefix = b"".join(json.dumps({"event_id": i, "sent": True}).encode() + b"\n" for i in ids)
            old, generation = self.journal_path, self._generation + 1
            target = self.directory / f"journal-{generation}.jsonl"
            with open(target, "wb") as handle:
                handle.write(prefix + tail)
                handle.flush()
                os.fsync(handle.fileno())
            self._append.close()
            self._save_cursor(generation, len(prefix))
            self._append = open(target, "ab")  # noqa: SIM115 - see __init__
            self._offsets, self._compacted = _ends(prefix + tail), len(prefix)
            old.unlink()
        log.info("outbox %s: compacted %d sent events to their ids", self.directory, len(ids))

    def _read(self, start: int, limit: int | None) -> tuple[list[SiteEvent], int]:
        with self._lock:
            end = self._offsets[-1] if self._offsets else 0
            path = self.journal_path
        events: list[SiteEvent] = []
        if start >= end:
            return events, start
        with open(path, "rb") as handle:
            handle.seek(start)
            position = start
            while position < end and (limit is None or len(events) < limit):
                line = handle.readline()
                position += len(line)
                document = json.loads(line)
                if not document.get("sent"):
                    events.append(SiteEvent.model_validate(document))
        return events, position


def _ends(data: bytes) -> list[int]:
    ends, offset = [], 0
    for line in data.splitlines(keepends=True):
        offset += len(line)
        ends.append(offset)
    return ends


class OutboxForwarder:
    """A thread that journals what the sources hold and sends the backlog to `POST /observation/site-events`."""

    def __init__(
        self,
        outbox: SiteOutbox,
        central_url: str,
        site: str,
        sources: Iterable[Source] = (),
        *,
        token: str | None = None,
        timeout_s: float = 5.0,
        batch: int = MAX_BATCH,
        poll_s: float = POLL_S,
    ) -> None:
        self.outbox, self.site, self.sources = outbox, site, tuple(sources)
        self.url = f"{central_url.rstrip('/')}/observation/site-events"
        self.batch, self.poll_s = batch, poll_s
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
        self._http = httpx.Client(headers=headers, timeout=timeout_s)
        self.status = OutboxStatus()
        self._backoff = Backoff(BACKOFF_FIRST_S, BACKOFF_MAX_S)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="site-outbox", daemon=True)

    def start(self) -> OutboxForwarder:
        self._thread.start()
        return self

    def record(self, events: Iterable[SiteEvent]) -> None:
        """Journal events (e.g. a policy change) and wake the forwarder; it sends them when the centre answers."""
        if self.outbox.record(events):
            self._wake.set()

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop after one last pass (what the sources hold is journaled; what the centre takes now is sent), and
        close the outbox: the forwarder owns it from its start."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._http.close()
        self.outbox.close()

    def _run(self) -> None:
        while True:
            stopping = self._stop.is_set()
            try:
                self._collect()
                sent_all = self._send_backlog()
                self._refresh()
            except Exception as exc:  # e.g. a full disk: the thread must outlive it, the journal is intact
                log.exception("site outbox: a pass failed; it is tried again after a pause")
                self._failed(exc)
                sent_all = False
            if stopping:
                return
            if sent_all:
                self._wake.wait(self.poll_s)
                self._wake.clear()
            else:
                self._stop.wait(self._backoff.next() * random.uniform(0.8, 1.2))

    def _collect(self) -> None:
        for source in self.sources:
            try:
                self.outbox.record(source())
            except Exception:
                log.exception("site outbox: a source failed; it is read again on the next pass")

    def _send_backlog(self) -> bool:
        """Send until the backlog is empty (True) or the centre fails (False)."""
        while True:
            events, end = self.outbox.pending(self.batch)
            if not events:
                return True
            try:
                response = self._http.post(self.url, content=SiteEventBatch(site=self.site, events=events)
                                           .model_dump_json())
                response.raise_for_status()
                duplicates = int(response.json().get("duplicates", 0))
            except (httpx.HTTPError, ValueError) as exc:
                self._failed(exc)
                return False
            self.outbox.ack(end)
            self.status.batches_sent += 1
            self.status.duplicates += duplicates
            if not self.status.online:
                log.info("site outbox: the centre at %s takes events again", redact_url(self.url))
            self.status.online, self.status.failures, self.status.last_error = True, 0, None
            self._backoff.reset()

    def _failed(self, exc: Exception) -> None:
        self.status.failures += 1
        self.status.failed_sends += 1
        detail = f"{type(exc).__name__}: {redact_text(str(exc))}"
        if isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code < 500:
            # The centre answers but refuses (token, version): worth an operator's attention; retried anyway.
            log.error("site outbox: %s refused a batch: %s", redact_url(self.url), exc.response.text[:300])
        elif self.status.online or self.status.failures == 1:
            log.warning("site outbox: the centre is unreachable (%s); events wait on disk", detail)
        self.status.online, self.status.last_error = False, detail

    def _refresh(self) -> None:
        journaled, acked = self.outbox.counts()
        self.status.journaled, self.status.acked, self.status.backlog = journaled, acked, journaled - acked


# -- events --------------------------------------------------------------------------------------------------
def violation_source(store: ObservationStore, app: str, run: str) -> Source:
    """Every violation the site's own agent stores for the app run, as site events (id = the violation's); a
    restarted forwarder reads them all once more and the journal drops the ids it already holds."""

    last_row, passes = 0, 0  # read every pass, so mostly only what was stored since the last one

    def read() -> list[SiteEvent]:
        nonlocal last_row, passes
        # Now and then all of them again: on PostgreSQL two writers may commit row ids out of order, and a row
        # that appears below the cursor would otherwise never be read (the journal drops what it holds).
        passes += 1
        if passes % FULL_READ_EVERY == 0:
            last_row = 0
        new = store.violations_after(app, run, last_row)
        if new:
            last_row = new[-1][0]
        return [
            SiteEvent(event_id=f"violation:{v.violation_id}", kind="violation", app=v.app, run=v.run,
                      occurred_at=_aware(v.detected_at), payload=v.model_dump(mode="json"))
            for _, v in new
        ]

    return read


def policy_event(app: str, run: str, consumer: str, policy: dict[str, Any]) -> SiteEvent:
    """A change of a consumer's serving policy at the site's gateway (degrade, restore, exclusions)."""
    return SiteEvent(event_id=f"policy:{uuid.uuid4().hex}", kind="policy", app=app, run=run,
                     occurred_at=datetime.now(UTC), payload={"consumer": consumer, **policy})


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
