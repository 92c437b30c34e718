"""The `rohe` command line: a thin Typer layer over the services."""
