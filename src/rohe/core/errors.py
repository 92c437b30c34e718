"""Errors every layer raises; the CLI turns them into a non-zero exit, the API into a 4xx."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, what is wrong, and how to fix it."""

    location: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        return f"{text} ({self.hint})" if self.hint else text


class RoheError(Exception):
    """Base class for errors a user can act on. Never a bug."""

    status_code = 400

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems: list[Problem] = problems or []

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        lines = [self.message, *(f"  - {p}" for p in self.problems)]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "error": type(self).__name__,
            "message": self.message,
            "problems": [{"location": p.location, "message": p.message, "hint": p.hint} for p in self.problems],
        }


class InvalidInput(RoheError):
    """The input is malformed or breaks a rule of the domain model."""

    status_code = 422


class NotFound(RoheError):
    """A named node, service or other object does not exist."""

    status_code = 404


class Conflict(RoheError):
    """The request clashes with existing state (for example a duplicate name)."""

    status_code = 409


@dataclass
class ProblemCollector:
    """Gathers problems so one run reports all of them, not just the first."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, location: str, message: str, hint: str = "") -> None:
        self.problems.append(Problem(location, message, hint))

    def raise_if_any(self, message: str) -> None:
        if self.problems:
            raise InvalidInput(message, list(self.problems))
