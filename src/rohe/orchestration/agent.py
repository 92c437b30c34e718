"""The orchestration agent: drains the service queue in the background at a fixed interval.

Whether it runs is stored, so a restarted service picks up where it stopped: an agent that was running
before the restart is running after it.
"""

from __future__ import annotations

import logging
import threading

from rohe.orchestration.service import OrchestrationService

log = logging.getLogger(__name__)

STATE_KEY = "orchestration.agent"


class OrchestrationAgent:
    def __init__(self, service: OrchestrationService, interval: float | None = None) -> None:
        self.service = service
        self.interval = interval if interval is not None else service.settings.interval
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.rounds = 0
        self.last_error: str | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self.service.store.set_state(STATE_KEY, "running")
        self._start_thread()

    def stop(self) -> None:
        self.service.store.set_state(STATE_KEY, "stopped")
        self._stop_thread()

    def resume(self) -> bool:
        """Start again if the stored state says the agent was running; used at service start."""
        if self.service.store.get_state(STATE_KEY) == "running":
            self._start_thread()
            return True
        return False

    def shutdown(self) -> None:
        """Stop the thread without changing the stored state, so a restart resumes it."""
        self._stop_thread()

    def poke(self) -> None:
        """Run a round now instead of waiting for the interval (after new services arrive)."""
        self._wake.set()

    def _start_thread(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="rohe-orchestration-agent", daemon=True)
        self._thread.start()
        log.info("orchestration agent started (interval %.1fs)", self.interval)

    def _stop_thread(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        self._wake.set()
        thread.join(timeout=max(5.0, self.interval * 2))
        self._thread = None
        log.info("orchestration agent stopped")

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.service.place_queued()
                self.last_error = None
            except Exception as exc:  # the loop must survive one bad round and report it
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("orchestration round failed")
            self.rounds += 1
            self._wake.wait(self.interval)
            self._wake.clear()
