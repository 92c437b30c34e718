"""A plugin module whose own dependency is missing: loading it must be a clear error, not 'unknown'."""

import no_such_dependency_for_rohe_tests  # type: ignore[import-not-found]  # noqa: F401

Thing = object
