"""The observation agent: reports in, event-time windows of metrics out (to storage, listeners, /metrics)."""

from rohe.observation.agent.aggregate import WindowFunction
from rohe.observation.agent.config import AgentConfig, TransportConfig, WindowSpec, load_agent_config
from rohe.observation.agent.interfaces import AgentStats, WindowListener, WindowSink
from rohe.observation.agent.runner import ObservationAgent

__all__ = [
    "AgentConfig",
    "AgentStats",
    "ObservationAgent",
    "TransportConfig",
    "WindowFunction",
    "WindowListener",
    "WindowSink",
    "WindowSpec",
    "load_agent_config",
]
