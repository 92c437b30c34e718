"""The composition root: one Store shared by the services of one rohe installation."""

from __future__ import annotations

from dataclasses import dataclass

from rohe.core.config import Settings
from rohe.core.storage import Store
from rohe.observation.exporter import WindowExporter
from rohe.observation.service import ObservationService
from rohe.observation.store import ObservationStore
from rohe.orchestration.agent import OrchestrationAgent
from rohe.orchestration.service import OrchestrationService


@dataclass
class Platform:
    settings: Settings
    store: Store
    orchestration: OrchestrationService
    agent: OrchestrationAgent
    observation: ObservationService

    @classmethod
    def open(cls, settings: Settings) -> Platform:
        store = Store.open(settings)
        try:
            orchestration = OrchestrationService(store, settings.orchestration)
            observation = ObservationService(ObservationStore(store), settings.observation, exporter=WindowExporter())
        except Exception:
            store.close()
            raise
        return cls(settings, store, orchestration, OrchestrationAgent(orchestration), observation)

    def close(self) -> None:
        self.agent.shutdown()
        self.observation.close()
        self.store.close()
