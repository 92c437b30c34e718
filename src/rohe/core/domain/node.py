"""A machine of the edge cluster and the capacity it offers."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, NonNegativeInt, field_validator

# DNS-1123 subdomain: the same names Kubernetes accepts for nodes, so a rohe node maps 1:1 to a cluster node.
NAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9._]{0,251}[a-z0-9])?$", re.IGNORECASE)

ResourceName = Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9][-A-Za-z0-9_./]*$")]


class NodeStatus(StrEnum):
    READY = "ready"
    # Cordoned nodes keep what they run but take no new replicas; draining also evicts.
    CORDONED = "cordoned"
    DOWN = "down"


class Memory(BaseModel):
    """Memory in MiB. `rss` is resident memory, `vms` virtual memory; both are capacities."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rss: NonNegativeInt = 0
    vms: NonNegativeInt = 0


class Node(BaseModel):
    """A node as registered by the user. Used amounts are derived from allocations, never stored here."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=253)
    labels: dict[str, str] = Field(default_factory=dict)
    architecture: str = "amd64"
    status: NodeStatus = NodeStatus.READY
    cores: list[NonNegativeInt] = Field(
        min_length=1, description="CPU capacity per core in millicores, e.g. [1000, 1000, 1000, 1000]"
    )
    memory: Memory
    accelerators: dict[ResourceName, NonNegativeFloat] = Field(
        default_factory=dict, description="accelerator type -> capacity, e.g. {'gpu': 100} (percent)"
    )
    frequency: NonNegativeFloat = Field(default=0.0, description="CPU clock in GHz, informative")

    @field_validator("name")
    @classmethod
    def _name_is_dns_like(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError("must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit")
        return value

    @property
    def cpu_capacity(self) -> int:
        """Total CPU in millicores: the sum of the cores."""
        return sum(self.cores)

    @property
    def schedulable(self) -> bool:
        return self.status is NodeStatus.READY
