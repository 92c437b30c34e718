"""One microservice of an ML pipeline and what each of its replicas needs."""

from __future__ import annotations

from enum import IntEnum

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, NonNegativeInt, model_validator

from rohe.core.domain.node import Memory, ResourceName


class Sensitivity(IntEnum):
    """Which resource a service's performance suffers from when contended (ROHE's codes)."""

    NONE = 0
    CPU = 1
    MEMORY = 2
    BOTH = 3

    @property
    def cpu(self) -> bool:
        return self in (Sensitivity.CPU, Sensitivity.BOTH)

    @property
    def memory(self) -> bool:
        return self in (Sensitivity.MEMORY, Sensitivity.BOTH)


class Service(BaseModel):
    """A service as registered by the user; its replicas are tracked separately (see Replica)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$")
    application: str = Field(default="default", min_length=1, max_length=63)
    image: str | None = None
    command: list[str] | None = Field(
        default=None, description="command for the local backend; {port} and {node} are substituted"
    )
    ports: list[int] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    replicas: NonNegativeInt = 1
    cpu: NonNegativeInt = Field(default=0, description="total CPU per replica in millicores")
    processor: list[NonNegativeInt] = Field(
        default_factory=list,
        description="per-core demand in millicores, e.g. [500, 50] = one core at 500m and one at 50m",
    )
    memory: Memory = Field(default_factory=Memory)
    accelerators: dict[ResourceName, NonNegativeFloat] = Field(default_factory=dict)
    sensitivity: Sensitivity = Sensitivity.NONE
    node_selector: dict[str, str] = Field(default_factory=dict)
    spread: bool = Field(default=False, description="put each replica on a different node")

    @model_validator(mode="after")
    def _check_ports(self) -> Service:
        for port in self.ports:
            if not 1 <= port <= 65535:
                raise ValueError(f"port {port} is outside 1..65535")
        if len(set(self.ports)) != len(self.ports):
            raise ValueError("ports must not repeat")
        return self

    @property
    def cpu_demand(self) -> int:
        """CPU a replica takes from the node total.

        ROHE checks `cpu` and `processor` independently, so a replica pinned to cores at 500m + 50m
        could count as 424m of node CPU. Here a replica takes at least what its cores pin.
        """
        return max(self.cpu, sum(self.processor))

    @property
    def core_demand(self) -> list[int]:
        """Per-core demands, largest first, zeros dropped: the order per-core fitting uses."""
        return sorted((c for c in self.processor if c > 0), reverse=True)

    @property
    def needed_accelerators(self) -> dict[str, float]:
        return {kind: amount for kind, amount in self.accelerators.items() if amount > 0}
