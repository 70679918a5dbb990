"""Tables of the geoloc capability (registered on the shared metadata; created by migrations)."""

from __future__ import annotations

from chiptrail.store.metadata import metadata  # noqa: F401
