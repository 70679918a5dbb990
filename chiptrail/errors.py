"""The one exception tree of chiptrail.

Core errors know nothing of HTTP status codes or exit codes: ``api/errors.py`` and
``cli/errors.py`` each map this tree in one table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar


class ChiptrailError(Exception):
    """Base of every error chiptrail raises on purpose.

    Args:
        message: what was wrong and what to do about it.
        details: machine-readable context (field names, JSON paths, close matches ...).
    """

    code: ClassVar[str] = "error"

    def __init__(self, message: str, details: Mapping[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, object] = dict(details or {})

    def to_dict(self) -> dict[str, object]:
        """The wire shape ``{"code", "message", "details"}`` shared by CLI and HTTP."""
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidInput(ChiptrailError):
    """The caller sent something malformed or out of range."""

    code = "invalid_input"


class NotFound(ChiptrailError):
    """A named thing (model, chip, party, landmark, entry) does not exist."""

    code = "not_found"


class Conflict(ChiptrailError):
    """The request contradicts stored state (duplicate id, stale version)."""

    code = "conflict"


class PermissionDenied(ChiptrailError):
    """The caller is authenticated but may not do this."""

    code = "permission_denied"


class Unauthenticated(ChiptrailError):
    """The caller did not prove who it is (missing or wrong credentials)."""

    code = "unauthenticated"


class VerificationError(ChiptrailError):
    """A signature, proof or hash did not verify: the evidence itself is bad."""

    code = "verification_failed"


class Unavailable(ChiptrailError):
    """A needed service or resource is not reachable right now."""

    code = "unavailable"


class RateLimited(ChiptrailError):
    """Too many requests in the current window."""

    code = "rate_limited"
