"""The store's errors: one base class, so callers can catch everything the store raises."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of the store's errors."""


class StoreLockedError(StoreError):
    """Another process holds the store's lock."""


class StoreCorruptError(StoreError):
    """A file in the store directory is unreadable, foreign, or of an unknown version."""
