"""A Typer group whose commands are imported only when one of them runs.

Importing every command's module at start made `rohe --help` and `rohe version` take seconds (the demo alone
pulls in scikit-learn, matplotlib and OR-Tools). Here each command is a `LazyCommand`: a name, a one-line help
(what `rohe --help` lists) and where its implementation lives (`module:attribute`, a Typer app or a command
function). The group lists the stub for help and swaps in the real command when it is resolved for running,
for its own `--help`, or for shell completion.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import typer
from typer import _click as click  # typer vendors its own click; its groups take and return these types
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    name: str
    target: str  # "package.module:attribute": a typer.Typer, or a function to register as one command
    help: str
    # Called with the loaded Typer app before it becomes a command (e.g. to attach a command defined elsewhere).
    extend: Callable[[typer.Typer], None] | None = field(default=None, compare=False)
    wrap: Callable[[Callable[..., Any]], Callable[..., Any]] | None = field(default=None, compare=False)

    def load(self) -> click.Command:
        module, _, attribute = self.target.partition(":")
        loaded = getattr(importlib.import_module(module), attribute)
        if isinstance(loaded, typer.Typer):
            if self.extend is not None:
                self.extend(loaded)
            command = typer.main.get_command(loaded)
        else:
            single = typer.Typer(add_completion=False)
            single.command(self.name, help=self.help if not loaded.__doc__ else None)(
                self.wrap(loaded) if self.wrap is not None else loaded
            )
            command = typer.main.get_command(single)
        command.name = self.name
        return command


class LazyGroup(TyperGroup):
    """Set `lazy_commands` on the class (see `lazy_group`); eager commands registered on the app still work."""

    lazy_commands: dict[str, LazyCommand] = {}  # noqa: RUF012 - replaced per subclass, never mutated

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in self.lazy_commands if n not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        lazy = self.lazy_commands.get(cmd_name)
        if lazy is None or cmd_name in self.commands:
            return super().get_command(ctx, cmd_name)
        # What listings need (name and help) without importing the command's module.
        return TyperCommand(cmd_name, help=lazy.help, short_help=lazy.help)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None and name in self.lazy_commands and name not in self.commands:
            command = self.commands[name] = self.lazy_commands[name].load()
        return name, command, rest


def lazy_group(commands: list[LazyCommand]) -> type[LazyGroup]:
    return type("RoheLazyGroup", (LazyGroup,), {"lazy_commands": {c.name: c for c in commands}})
