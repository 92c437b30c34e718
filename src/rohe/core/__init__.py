"""Shared domain model, configuration, storage and input handling used by every rohe service."""
