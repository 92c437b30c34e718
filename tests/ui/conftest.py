"""Fixtures of the console tests (defined in console_fixtures, a uniquely named module: other test folders have
their own conftest, and `from conftest import ...` would pick whichever was imported first)."""

from console_fixtures import browser, console, shots

__all__ = ["browser", "console", "shots"]
