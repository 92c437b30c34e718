"""Replicas of services and the allocations that pin them to nodes."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt


class ReplicaStatus(StrEnum):
    QUEUEING = "queueing"
    PLACED = "placed"
    RUNNING = "running"
    FAILED = "failed"


class Allocation(BaseModel):
    """What one replica holds on one node; freeing it returns exactly these amounts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    node: str
    cpu: NonNegativeInt
    # core index -> millicores taken on that core
    cores: dict[int, NonNegativeInt] = Field(default_factory=dict)
    rss: NonNegativeInt = 0
    vms: NonNegativeInt = 0
    accelerators: dict[str, float] = Field(default_factory=dict)


class Replica(BaseModel):
    """One replica of a service: queued with a reason, or placed with its allocation."""

    model_config = ConfigDict(extra="forbid")

    service: str
    index: NonNegativeInt
    status: ReplicaStatus = ReplicaStatus.QUEUEING
    allocation: Allocation | None = None
    reason: str = ""

    @property
    def key(self) -> str:
        return f"{self.service}-{self.index}"

    @property
    def node(self) -> str | None:
        return self.allocation.node if self.allocation else None
