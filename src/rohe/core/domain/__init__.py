"""The shared domain model: nodes, services, their replicas and where the replicas sit."""

from rohe.core.domain.node import Memory, Node, NodeStatus
from rohe.core.domain.replica import Allocation, Replica, ReplicaStatus
from rohe.core.domain.service import Sensitivity, Service

__all__ = [
    "Allocation",
    "Memory",
    "Node",
    "NodeStatus",
    "Replica",
    "ReplicaStatus",
    "Sensitivity",
    "Service",
]
