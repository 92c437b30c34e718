"""Moved to rohe.core.auth (the serving gateway needs it too, and services must not import the api layer).

Kept as a re-export for callers not yet updated; new code imports rohe.core.auth.
"""

from rohe.core.auth import check_bind, is_loopback

__all__ = ["check_bind", "is_loopback"]
