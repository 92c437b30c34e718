"""The composition root: one Store shared by the services of one rohe installation."""

from __future__ import annotations

from dataclasses import dataclass

from rohe.core.config import Settings
from rohe.core.storage import Store
from rohe.orchestration.agent import OrchestrationAgent
from rohe.orchestration.service import OrchestrationService


@dataclass
class Platform:
    settings: Settings
    store: Store
    orchestration: OrchestrationService
    agent: OrchestrationAgent

    @classmethod
    def open(cls, settings: Settings) -> Platform:
        store = Store.open(settings)
        try:
            orchestration = OrchestrationService(store, settings.orchestration)
        except Exception:
            store.close()
            raise
        return cls(settings, store, orchestration, OrchestrationAgent(orchestration))

    def close(self) -> None:
        self.agent.shutdown()
        self.store.close()
