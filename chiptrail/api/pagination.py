"""Cursor pagination shared by list endpoints: ``?limit=&cursor=`` in, ``{items, next_cursor}`` out.

Cursors are opaque base64url JSON of the last key seen; the route decides what that key is.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from chiptrail.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next (null: no more)."""

    items: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    """The requested page size and position."""

    limit: int
    cursor: str | None


def get_page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = 100,
    cursor: Annotated[
        str | None, Query(max_length=400, description="Opaque cursor from `next_cursor`.")
    ] = None,
) -> PageParams:
    """FastAPI dependency reading ``limit`` and ``cursor``."""
    return PageParams(limit=limit, cursor=cursor)


PageDep = Annotated[PageParams, Depends(get_page_params)]


def encode_cursor(last_key: str | int) -> str:
    """Opaque cursor for the last key of a page."""
    raw = json.dumps({"k": last_key}, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> str | int | None:
    """The last key a cursor names (``None`` for the first page).

    Raises:
        InvalidInput: the cursor was not produced by ``encode_cursor``.
    """
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)["k"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(
            "cursor is not valid: pass back next_cursor unchanged", {"field": "cursor"}
        ) from exc
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidInput(
            "cursor is not valid: pass back next_cursor unchanged", {"field": "cursor"}
        )
    return value
