"""C2SP tlog-tiles: index encoding, which tiles exist, tile bytes, entry bundles."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chiptrail.errors import InvalidInput
from chiptrail.ledger.merkle import MemoryNodeStore, append_leaves, hash_leaf, root_at
from chiptrail.ledger.tiles import (
    TileId,
    encode_tile_index,
    entries_path,
    format_entry_bundle,
    list_entry_bundles,
    list_tiles,
    parse_entry_bundle,
    parse_tile,
    parse_tile_path,
    read_entry_bundle,
    read_tile,
    tile_path,
)

ENTRIES = [str(i).encode() for i in range(300)]
STORE = MemoryNodeStore()
append_leaves(STORE, 0, [hash_leaf(e) for e in ENTRIES])


def _load(shared: Path) -> Any:
    return json.loads((shared / "conformance/tlog/tlog-tiles-vectors.json").read_text())


@pytest.mark.parametrize(
    ("level", "index", "width", "path"),
    [
        (0, 0, None, "tile/0/000"),
        (0, 1234067, None, "tile/0/x001/x234/067"),
        (1, 1000, 17, "tile/1/x001/000.p/17"),
        (2, 0, 1, "tile/2/000.p/1"),
        (63, 5, 256, "tile/63/005"),
    ],
    ids=["first", "spec example", "partial", "width 1", "width 256 is full"],
)
def test_tile_path_round_trip(level: int, index: int, width: int | None, path: str) -> None:
    assert tile_path(level, index, width) == path
    parsed = parse_tile_path(path)
    assert (parsed.level, parsed.index, parsed.width, parsed.entries) == (
        level,
        index,
        width or 256,
        False,
    )
    assert parsed.path == path


def test_entries_path_round_trip() -> None:
    assert entries_path(1, 44) == "tile/entries/001.p/44"
    assert parse_tile_path("tile/entries/x001/000") == TileId(0, 1000, 256, entries=True)


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=1, max_value=256))
def test_tile_paths_round_trip_for_any_index(index: int, width: int) -> None:
    for tile in (TileId(3, index, width), TileId(0, index, width, entries=True)):
        assert parse_tile_path(tile.path) == tile


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/0",
        "tile/0/0000",
        "tile/0/x000/001",
        "tile/0/001/234",
        "tile/00/000",
        "tile/64/000",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/07",
        "tile/0",
        "tiles/0/000",
        "tile/entries",
        "tile/0/x1/000",
        "tile/-1/000",
        "tile/0/000.p/",
        "checkpoint",
        "tile/0/" + "x123/" * 2000 + "456",
    ],
)
def test_parse_tile_path_refuses(path: str) -> None:
    with pytest.raises(InvalidInput):
        parse_tile_path(path)


@pytest.mark.parametrize(
    ("level", "index", "width"),
    [(64, 0, None), (-1, 0, None), (0, -1, None), (0, 0, 0), (0, 0, 257)],
)
def test_tile_path_refuses(level: int, index: int, width: int | None) -> None:
    with pytest.raises(InvalidInput):
        tile_path(level, index, width)


def test_index_encoding_and_tile_sets(shared: Path) -> None:
    vectors = _load(shared)
    for case in vectors["index_encoding"]:
        assert encode_tile_index(case["n"]) == case["path"]
    for case in vectors["tile_sets"]["cases"]:
        tiles = list_tiles(case["tree_size"])
        assert {t.level for t in tiles} == {lv["level"] for lv in case["levels"]}
        paths = {t.path for t in tiles}
        for lv in case["levels"]:
            at_level = [t for t in tiles if t.level == lv["level"]]
            assert sum(t.width == 256 for t in at_level) == lv["full_tiles"]
            partial = [t.width for t in at_level if t.width < 256]
            assert partial == ([lv["partial_width"]] if lv["partial_width"] else [])
            assert set(lv["example_paths"]) <= paths


def test_spec_statement_for_70000() -> None:
    tiles = list_tiles(70000)
    assert [(t.level, t.width) for t in tiles if t.width < 256] == [(0, 112), (1, 17), (2, 1)]
    assert sum(t.level == 0 for t in tiles) == 274
    assert [t.index for t in list_entry_bundles(70000)][-1] == 273
    assert list_tiles(0) == []


def test_small_log_tiles_and_bundles(shared: Path) -> None:
    small = _load(shared)["small_log"]
    assert root_at(STORE, 300).hex() == small["root_hex"]
    produced = {t.path: read_tile(STORE, t.level, t.index, t.width, 300) for t in list_tiles(300)}
    produced |= {
        b.path: read_entry_bundle(lambda a, z: ENTRIES[a:z], b.index, b.width, 300)
        for b in list_entry_bundles(300)
    }
    assert sorted(produced) == sorted(k for k in small if k.startswith("tile/"))
    for path, want in ((k, v) for k, v in small.items() if k.startswith("tile/")):
        data = produced[path]
        assert len(data) == want["bytes"]
        digest = want.get("sha256_of_tile_bytes", want.get("sha256"))
        if digest:
            assert hashlib.sha256(data).hexdigest() == digest
        if "hashes" in want:
            assert [h.hex() for h in parse_tile(data, len(want["hashes"]))] == want["hashes"]
        if "first_hash" in want:
            hashes = parse_tile(data, len(data) // 32)
            assert (hashes[0].hex(), hashes[-1].hex()) == (want["first_hash"], want["last_hash"])


def test_tile_contents_are_the_stored_nodes() -> None:
    tile = read_tile(STORE, 0, 1, 44, 300)
    assert parse_tile(tile, 44) == [hash_leaf(e) for e in ENTRIES[256:300]]
    level1 = read_tile(STORE, 1, 0, 1, 300)
    assert level1 == root_at(STORE, 256)
    assert read_tile(STORE, 0, 1, 10, 300) == tile[: 10 * 32]  # an older partial tile


@pytest.mark.parametrize(
    ("level", "index", "width"),
    [(0, 1, 45), (0, 1, None), (1, 0, 2), (0, 2, 1)],
    ids=["too wide", "full beyond size", "level 1 too wide", "index beyond size"],
)
def test_read_tile_refuses_past_the_size(level: int, index: int, width: int | None) -> None:
    with pytest.raises(InvalidInput):
        read_tile(STORE, level, index, width, 300)


def test_read_tile_refuses_a_store_without_the_nodes() -> None:
    with pytest.raises(InvalidInput, match="lacks"):
        read_tile(MemoryNodeStore(), 0, 0, 1, 10)


def test_parse_tile_refuses_wrong_length() -> None:
    with pytest.raises(InvalidInput):
        parse_tile(b"\x00" * 33, 1)


@given(st.lists(st.binary(max_size=300), max_size=256))
def test_entry_bundle_round_trip(entries: list[bytes]) -> None:
    assert parse_entry_bundle(format_entry_bundle(entries)) == entries


def test_entry_bundle_limits_and_truncation() -> None:
    with pytest.raises(InvalidInput):
        format_entry_bundle([b"x" * 65536])
    with pytest.raises(InvalidInput):
        format_entry_bundle([b""] * 257)
    bundle = format_entry_bundle([b"abc", b"de"])
    assert bundle == b"\x00\x03abc\x00\x02de"
    with pytest.raises(InvalidInput, match="length prefix"):
        parse_entry_bundle(bundle[:-3])
    with pytest.raises(InvalidInput, match="inside an entry"):
        parse_entry_bundle(bundle[:-1])


def test_read_entry_bundle_checks_the_reader() -> None:
    with pytest.raises(InvalidInput, match="wrong number"):
        read_entry_bundle(lambda a, z: ENTRIES[a : z - 1], 0, 10, 300)
    with pytest.raises(InvalidInput, match="past"):
        read_entry_bundle(lambda a, z: ENTRIES[a:z], 1, 45, 300)


@given(st.text(alphabet="tile/entrsxp.0123456789", max_size=40))
def test_garbage_paths_raise_only_invalid_input(path: str) -> None:
    try:
        tile = parse_tile_path(path)
    except InvalidInput:
        return
    assert tile.path == path


@given(st.binary(max_size=600))
def test_garbage_bundles_raise_only_invalid_input(data: bytes) -> None:
    try:
        entries = parse_entry_bundle(data)
    except InvalidInput:
        return
    assert b"".join(len(e).to_bytes(2, "big") + e for e in entries) == data
