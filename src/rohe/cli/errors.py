"""Turn user errors into a readable message and a non-zero exit, never a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from rohe.core.errors import RoheError

P = ParamSpec("P")
R = TypeVar("R")

err_console = Console(stderr=True)

EXIT_USER_ERROR = 2


def print_error(exc: RoheError) -> None:
    err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
    for problem in exc.problems:
        line = f"  - [bold]{problem.location}[/]: {problem.message}" if problem.location else f"  - {problem.message}"
        if problem.hint:
            line += f" [dim]({problem.hint})[/]"
        err_console.print(line, highlight=False)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except RoheError as exc:
            print_error(exc)
            raise typer.Exit(EXIT_USER_ERROR) from None

    return wrapper
