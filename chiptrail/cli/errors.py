"""The one table mapping chiptrail errors to exit codes (STYLE.md section 7).

0 ok, 1 verification failed or findings, 2 bad input, 69 unavailable, 70 internal error.
"""

from __future__ import annotations

from chiptrail.errors import (
    ChiptrailError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    Unavailable,
    VerificationError,
)

EXIT_OK = 0
EXIT_FINDING = 1
EXIT_BAD_INPUT = 2
EXIT_UNAVAILABLE = 69
EXIT_INTERNAL = 70

EXIT_CODES: dict[type[ChiptrailError], int] = {
    InvalidInput: EXIT_BAD_INPUT,
    NotFound: EXIT_BAD_INPUT,
    Conflict: EXIT_BAD_INPUT,
    PermissionDenied: EXIT_BAD_INPUT,
    Unauthenticated: EXIT_BAD_INPUT,
    RateLimited: EXIT_UNAVAILABLE,
    VerificationError: EXIT_FINDING,
    Unavailable: EXIT_UNAVAILABLE,
}


def exit_code_for(exc: ChiptrailError) -> int:
    """Exit code for an error, by its class hierarchy; unknown subclasses count as bad input."""
    for cls in type(exc).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return EXIT_BAD_INPUT
