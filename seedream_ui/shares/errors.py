"""Errors of sharing. Messages are for the person who pressed Share."""

from __future__ import annotations

from seedream_ui.errors import SeedreamError


class ShareError(SeedreamError):
    """This generation cannot be shared (nothing to share, not an image, sharing switched off)."""


class ShareTooLargeError(ShareError):
    """The share alone is bigger than a disk limit: evicting older shares could not make room."""


class ShareStoreError(ShareError):
    """The share store (its folder or index) failed: a disk or database problem, not the visitor's."""
