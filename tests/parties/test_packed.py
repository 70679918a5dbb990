"""The packed layout of the stored screening index: round trip, lookups, and bad bytes refused."""

from __future__ import annotations

from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chiptrail.errors import InvalidInput
from chiptrail.parties.packed import Packed, pack, sorted_keys


class _Blob:
    """Reads slices like sqlite3.Blob (bytes, a copy each time)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.reads = 0

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, key: slice, /) -> bytes:
        self.reads += 1
        return self.data[key]


def _sample() -> bytes:
    return pack(
        "test/1",
        {"n": 3, "x": 1.5},
        {"ids": array("i", [5, -2, 7]), "w": array("d", [0.25, 1e-300]), "k": array("b", [1])},
        {"names": ["华为", "", "Zhong Ke"], "keys": sorted_keys(["b", "a", "é", "ab"])},
    )


@pytest.mark.parametrize("source", [bytes, _Blob], ids=["in memory", "blob"])
def test_round_trip(source: type) -> None:
    packed = Packed(source(_sample()), "test/1")
    assert packed.meta == {"n": 3, "x": 1.5}
    assert list(packed.ints("ids")) == [5, -2, 7]
    assert list(packed.window("ids")[1:3]) == [-2, 7]
    assert list(packed.floats("w")) == [0.25, 1e-300]
    names = packed.strings("names")
    assert [names[i] for i in range(len(names))] == ["华为", "", "Zhong Ke"]
    keys = packed.strings("keys", whole=True)
    assert [keys.find(k) for k in ["a", "ab", "b", "é", "c", ""]] == [0, 1, 2, 3, -1, -1]


def test_blob_is_read_as_used() -> None:
    blob = _Blob(_sample())
    packed = Packed(blob, "test/1")
    opened = blob.reads
    assert opened <= 3  # the header only
    packed.strings("names")[2]
    assert blob.reads - opened == 2  # its offsets, then the one string


@settings(deadline=None)
@given(st.lists(st.text(max_size=8), unique=True, max_size=40))
def test_find_every_key(keys: list[str]) -> None:
    ordered = sorted_keys(keys)
    table = Packed(pack("t", {}, {}, {"k": ordered}), "t").strings("k")
    assert [table.find(k) for k in ordered] == list(range(len(ordered)))
    assert table.find("\x00never\x00") == -1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a packed"),
        (b"PK\x03\x04 a zip file", "not a packed"),
        (_sample()[:-9], "truncated"),
        (_sample().replace(b'"test/1"', b'"test/2"'), "format 'test/2'"),
        (_sample()[:8] + b"x" + _sample()[9:], "unreadable header"),
    ],
    ids=["empty", "other file", "truncated", "other format", "broken header"],
)
def test_bad_bytes_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Packed(data, "test/1")


def test_missing_section_and_wrong_type_are_refused() -> None:
    packed = Packed(_sample(), "test/1")
    with pytest.raises(InvalidInput, match="no section"):
        packed.ints("nope")
    with pytest.raises(InvalidInput, match="holds 'd'"):
        packed.ints("w")
