"""A service's command with its placeholders filled, for a local process or a Kubernetes container.

Placeholders: {python}, {port} (the first port), {host} (the address to listen on), {node}, {service},
{replica}. Locally a process listens on loopback and {replica} is its index; in a pod it must listen on the
pod's address and the replica is the pod, whose name Kubernetes substitutes for $(ROHE_POD_NAME).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rohe.core.domain import Service

POD_NAME_ENV = "ROHE_POD_NAME"
DEFAULT_CONTAINER_PORT = 8080


def substitute(command: Sequence[str], values: Mapping[str, str]) -> list[str]:
    # Plain replacement, not str.format: arguments may hold other braces (JSON, shell snippets).
    result = []
    for argument in command:
        for name, value in values.items():
            argument = argument.replace("{" + name + "}", value)
        result.append(argument)
    return result


def container_command(service: Service, node: str) -> list[str] | None:
    """The container's command, or None to keep the image's entrypoint (a service without a command)."""
    if not service.command:
        return None
    port = service.ports[0] if service.ports else DEFAULT_CONTAINER_PORT
    values = {
        "python": "python",
        "port": str(port),
        "host": "0.0.0.0",  # a pod is reached on its own address, not on loopback
        "node": node,
        "service": service.name,
        "replica": f"$({POD_NAME_ENV})",
    }
    return substitute(service.command, values)
