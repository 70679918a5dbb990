"""C2SP tlog-tiles: tile paths, hash tiles read from a ``NodeStore``, and entry bundles.

No I/O: hash tiles come from a ``NodeStore`` and entry bundles from a caller's reader function;
writing them anywhere (files, HTTP) is the caller's job. Spec: https://c2sp.org/tlog-tiles.

- A *hash tile* at tile level ``L`` and index ``N`` holds the hashes of the perfect nodes at tree
  level ``8 * L`` with indexes ``256 * N`` .. ``256 * N + W - 1``, concatenated (32 bytes each).
  A full tile has width ``W = 256``; a partial tile (``W`` in 1..255) is the right edge of a tree
  whose size does not fill it.
- An *entry bundle* (``tile/entries/...``) holds the log entries (leaf data) of the level-0 tile
  with the same index, each as a big-endian uint16 length followed by the bytes.
- Paths: ``tile/<L>/<N>[.p/<W>]`` and ``tile/entries/<N>[.p/<W>]``; ``N`` is written in
  zero-padded 3-digit groups, all but the last prefixed with ``x`` (``1234067`` ->
  ``x001/x234/067``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chiptrail.errors import InvalidInput
from chiptrail.ledger.merkle import HASH_SIZE, NodeStore

TILE_HEIGHT = 8
"""Tree levels per tile level."""
TILE_WIDTH = 1 << TILE_HEIGHT
"""Hashes (or entries) in a full tile: 256."""
MAX_TILE_LEVEL = 63
MAX_ENTRY_SIZE = 0xFFFF
"""Entry bundles prefix each entry with a uint16 length, so an entry holds at most 65,535 bytes."""

EntryReader = Callable[[int, int], Sequence[bytes]]
"""``read_entries(start, end)``: the log entries (leaf data) with indexes ``start <= i < end``."""

_INDEX_GROUP = re.compile(r"[0-9]{3}")
_MAX_INDEX_GROUPS = 7  # uint64 indexes have at most 20 digits
_SMALL_DECIMAL = re.compile(r"0|[1-9][0-9]{0,2}")


@dataclass(frozen=True, slots=True)
class TileId:
    """One tile: a hash tile (``entries=False``) or an entry bundle (``entries=True``).

    Attributes:
        level: tile level (tree level ``8 * level``); always 0 for entry bundles.
        index: tile index ``N`` within its level.
        width: number of hashes or entries, 1..256 (256 = full tile).
        entries: True for ``tile/entries/...`` bundles.
    """

    level: int
    index: int
    width: int = TILE_WIDTH
    entries: bool = False

    @property
    def path(self) -> str:
        """The tile's path relative to the log prefix, e.g. ``tile/0/x001/234.p/7``."""
        if self.entries:
            return entries_path(self.index, self.width)
        return tile_path(self.level, self.index, self.width)


def encode_tile_index(index: int) -> str:
    """``N`` as 3-digit groups, all but the last prefixed with ``x`` (tlog-tiles "Tiles")."""
    if index < 0:
        raise InvalidInput("tile index must be >= 0", {"index": index})
    groups = []
    while True:
        groups.append(f"{index % 1000:03d}")
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    return "/".join([*(f"x{g}" for g in groups[:-1]), groups[-1]])


def _width_suffix(width: int | None) -> str:
    if width is None or width == TILE_WIDTH:
        return ""
    if not 1 <= width < TILE_WIDTH:
        raise InvalidInput("tile width must be in 1..256", {"width": width})
    return f".p/{width}"


def tile_path(level: int, index: int, width: int | None = None) -> str:
    """Path of hash tile (``level``, ``index``); ``width`` None or 256 means a full tile.

    Raises:
        InvalidInput: a level outside 0..63, a negative index, or a width outside 1..256.
    """
    if not 0 <= level <= MAX_TILE_LEVEL:
        raise InvalidInput("tile level must be in 0..63", {"level": level})
    return f"tile/{level}/{encode_tile_index(index)}{_width_suffix(width)}"


def entries_path(index: int, width: int | None = None) -> str:
    """Path of the entry bundle with ``index``; ``width`` None or 256 means a full bundle."""
    return f"tile/entries/{encode_tile_index(index)}{_width_suffix(width)}"


def _parse_index(parts: Sequence[str], path: str) -> int:
    bad = InvalidInput("not a tlog-tiles path", {"path": path})
    if not 1 <= len(parts) <= _MAX_INDEX_GROUPS:
        raise bad
    digits = ""
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        group = part if last else part.removeprefix("x")
        if (not last and not part.startswith("x")) or not _INDEX_GROUP.fullmatch(group):
            raise bad
        digits += group
    if len(parts) > 1 and parts[0] == "x000":
        raise bad  # non-canonical: a leading zero group
    return int(digits)


def parse_tile_path(path: str) -> TileId:
    """Parse ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]`` (canonical form only).

    Raises:
        InvalidInput: anything else, including leading zeros, widths 0 or 256 in ``.p/``.
    """
    bad = InvalidInput("not a tlog-tiles path", {"path": path})
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise bad
    width = TILE_WIDTH
    if len(parts) >= 4 and parts[-2].endswith(".p"):
        if not _SMALL_DECIMAL.fullmatch(parts[-1]) or not 1 <= int(parts[-1]) < TILE_WIDTH:
            raise bad
        width = int(parts[-1])
        parts = [*parts[:-2], parts[-2][: -len(".p")]]
    if parts[1] == "entries":
        return TileId(0, _parse_index(parts[2:], path), width, entries=True)
    if not re.fullmatch(r"0|[1-9][0-9]?", parts[1]) or int(parts[1]) > MAX_TILE_LEVEL:
        raise bad
    return TileId(int(parts[1]), _parse_index(parts[2:], path), width)


def list_tiles(size: int) -> list[TileId]:
    """Every hash tile of a tree of ``size`` leaves: full tiles then the partial one, per level.

    Level ``l`` has ``size // 256**(l+1)`` full tiles and, when ``size // 256**l % 256`` is not
    zero, one partial tile of that width (tlog-tiles).
    """
    tiles: list[TileId] = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        nodes = size >> (TILE_HEIGHT * level)
        full, partial = divmod(nodes, TILE_WIDTH)
        tiles += [TileId(level, n) for n in range(full)]
        if partial:
            tiles.append(TileId(level, full, partial))
        level += 1
    return tiles


def list_entry_bundles(size: int) -> list[TileId]:
    """Every entry bundle of a log of ``size`` entries (the shape of its level-0 tiles)."""
    return [TileId(0, t.index, t.width, entries=True) for t in list_tiles(size) if t.level == 0]


def read_tile(store: NodeStore, level: int, index: int, width: int | None, size: int) -> bytes:
    """The bytes of hash tile (``level``, ``index``, ``width``) of the tree of ``size`` leaves.

    Raises:
        InvalidInput: the tile reaches past the tree of ``size`` leaves, or the store lacks nodes.
    """
    width = TILE_WIDTH if width is None else width
    tile_path(level, index, width)  # validates the numbers
    node_level = TILE_HEIGHT * level
    first = index * TILE_WIDTH
    if first + width > size >> node_level:
        raise InvalidInput(
            "tile reaches past the tree size",
            {"level": level, "index": index, "width": width, "size": size},
        )
    keys = [(node_level, first + i) for i in range(width)]
    found = store.get_nodes(keys)
    if len(found) != width:
        raise InvalidInput("the node store lacks nodes of this tile", {"level": level})
    return b"".join(found[k] for k in keys)


def parse_tile(data: bytes, width: int = TILE_WIDTH) -> list[bytes]:
    """Split hash-tile bytes into its ``width`` 32-byte hashes.

    Raises:
        InvalidInput: the length is not ``32 * width``.
    """
    if len(data) != HASH_SIZE * width:
        raise InvalidInput(
            f"tile holds {len(data)} bytes, expected {HASH_SIZE * width}", {"width": width}
        )
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def format_entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Entries as a bundle: each a big-endian uint16 length, then its bytes.

    Raises:
        InvalidInput: an entry longer than 65,535 bytes, or more than 256 entries.
    """
    if len(entries) > TILE_WIDTH:
        raise InvalidInput("an entry bundle holds at most 256 entries", {"count": len(entries)})
    out = bytearray()
    for position, entry in enumerate(entries):
        if len(entry) > MAX_ENTRY_SIZE:
            raise InvalidInput(
                "log entries in tiles are at most 65,535 bytes",
                {"position": position, "length": len(entry)},
            )
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def parse_entry_bundle(data: bytes) -> list[bytes]:
    """The entries of a bundle, in order.

    Raises:
        InvalidInput: a truncated length prefix or entry.
    """
    entries = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise InvalidInput("entry bundle ends inside a length prefix", {"offset": pos})
        length = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        if pos + length > len(data):
            raise InvalidInput("entry bundle ends inside an entry", {"offset": pos})
        entries.append(data[pos : pos + length])
        pos += length
    return entries


def read_entry_bundle(read_entries: EntryReader, index: int, width: int | None, size: int) -> bytes:
    """The bytes of entry bundle (``index``, ``width``) of a log of ``size`` entries.

    Raises:
        InvalidInput: the bundle reaches past ``size``, the reader returns the wrong number of
            entries, or an entry is too long for a bundle.
    """
    width = TILE_WIDTH if width is None else width
    entries_path(index, width)  # validates the numbers
    start = index * TILE_WIDTH
    if start + width > size:
        raise InvalidInput(
            "entry bundle reaches past the log size", {"index": index, "width": width}
        )
    entries = read_entries(start, start + width)
    if len(entries) != width:
        raise InvalidInput(
            "entry reader returned the wrong number of entries",
            {"wanted": width, "got": len(entries)},
        )
    return format_entry_bundle(entries)
