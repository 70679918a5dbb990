"""A compact binary layout read in place: number arrays and string tables in one bytes object.

Pure: ``pack`` turns arrays and string lists into bytes, ``Packed`` reads them back through
``memoryview`` without decoding the whole: opening one costs microseconds whatever its size, and a
string is decoded only when it is read. The screening index is stored in this form
(``ScreeningIndex.to_bytes``), so one ``chiptrail screen`` reads the few postings and names its
query touches instead of unpickling every one. Nothing in it is executable (no pickle): bytes from
elsewhere can at worst fail to read.

Layout: ``MAGIC``, a little-endian u32 length, a JSON header (format name, byte order, metadata,
and each section's offset, size and array type code), then the sections, each aligned to 8 bytes.
A string table ``name`` is two sections: ``name.off`` (int64 offsets, one more than strings) and
``name.txt`` (UTF-8). A key table is a string table sorted by UTF-8 bytes, searched by bisection.
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol, cast

from chiptrail.errors import InvalidInput

MAGIC = b"CTPK"
_IntCode = Literal["b", "B", "h", "H", "i", "I", "l", "L", "q", "Q"]
_INT_CODES = "bBhHiIlLqQ"
_ALIGN = 8


def pack(
    fmt: str,
    meta: Mapping[str, object],
    arrays: Mapping[str, array],  # type: ignore[type-arg]
    strings: Mapping[str, Sequence[str]],
) -> bytes:
    """Lay out ``arrays`` (``array.array`` of any type code) and ``strings`` (string tables) with
    a header naming ``fmt`` and carrying ``meta`` (JSON values)."""
    sections: dict[str, bytes] = {}
    codes: dict[str, str] = {}
    for name, values in strings.items():
        encoded = [s.encode("utf-8") for s in values]
        offsets = array("q", [0])
        total = 0
        for e in encoded:
            total += len(e)
            offsets.append(total)
        sections[f"{name}.off"], codes[f"{name}.off"] = offsets.tobytes(), "q"
        sections[f"{name}.txt"], codes[f"{name}.txt"] = b"".join(encoded), "B"
    for name, arr in arrays.items():
        sections[name], codes[name] = arr.tobytes(), arr.typecode
    layout: dict[str, list[object]] = {}
    position = 0
    for name, body in sections.items():
        layout[name] = [position, len(body), codes[name]]
        position += len(body) + (-len(body) % _ALIGN)
    header = json.dumps(
        {"format": fmt, "byteorder": sys.byteorder, "meta": dict(meta), "sections": layout},
        ensure_ascii=True,
        sort_keys=True,
    ).encode("ascii")
    start = len(MAGIC) + 4 + len(header)
    start += -start % _ALIGN
    out = bytearray(start + position)
    out[: len(MAGIC)] = MAGIC
    out[len(MAGIC) : len(MAGIC) + 4] = len(header).to_bytes(4, "little")
    out[len(MAGIC) + 4 : len(MAGIC) + 4 + len(header)] = header
    for name, body in sections.items():
        offset = start + int(layout[name][0])  # type: ignore[call-overload]
        out[offset : offset + len(body)] = body
    return bytes(out)


class ByteSource(Protocol):
    """Bytes that can be sliced: ``bytes``/``memoryview`` in memory, or an ``sqlite3.Blob`` that
    reads each slice from the database file."""

    def __len__(self) -> int: ...

    def __getitem__(self, key: slice, /) -> bytes | memoryview: ...


class IntWindow:
    """An integer section read slice by slice (``window[a:b]``: items a to b as ints)."""

    __slots__ = ("_begin", "_code", "_size", "_src")

    def __init__(self, src: ByteSource, begin: int, code: _IntCode) -> None:
        self._src = src
        self._begin = begin
        self._code: _IntCode = code
        self._size = array(code).itemsize

    def __getitem__(self, items: slice) -> memoryview[int]:
        a = self._begin + items.start * self._size
        b = self._begin + items.stop * self._size
        return memoryview(self._src[a:b]).cast(self._code)


class StringTable:
    """The strings of one table, decoded on access (each read from the source when it is a blob)."""

    __slots__ = ("_begin", "_off", "_src")

    def __init__(self, off: memoryview[int], src: ByteSource, begin: int) -> None:
        self._off = off
        self._src = src
        self._begin = begin

    def __len__(self) -> int:
        return len(self._off) - 1

    def __getitem__(self, i: int) -> str:
        return str(self.raw(i), "utf-8")

    def raw(self, i: int) -> bytes:
        """The UTF-8 bytes of the ``i``-th string."""
        return bytes(self._src[self._begin + self._off[i] : self._begin + self._off[i + 1]])

    def find(self, key: str) -> int:
        """Position of ``key`` in a table sorted by UTF-8 bytes (``sorted_keys``), or -1."""
        want = key.encode("utf-8")
        lo, hi = 0, len(self)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.raw(mid) < want:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(self) and self.raw(lo) == want else -1


def sorted_keys(keys: Sequence[str]) -> list[str]:
    """Keys in the order ``StringTable.find`` searches (by UTF-8 bytes)."""
    return sorted(keys, key=lambda k: k.encode("utf-8"))


class Packed:
    """Reads what ``pack`` wrote. Bytes in memory are kept, not copied; from a blob, sections are
    read when asked for (``ints``, ``floats``: whole; ``window`` and string tables: slice by
    slice), so opening one reads only its header.

    Raises:
        InvalidInput: not a packed object of format ``fmt`` written on this byte order.
    """

    __slots__ = ("_layout", "_src", "_start", "meta")

    def __init__(self, data: bytes | memoryview | ByteSource, fmt: str) -> None:
        src: ByteSource = (
            memoryview(data).cast("B") if isinstance(data, bytes | memoryview) else data
        )
        if len(src) < len(MAGIC) + 4 or bytes(src[: len(MAGIC)]) != MAGIC:
            raise InvalidInput(f"not a packed {fmt}")
        size = int.from_bytes(src[len(MAGIC) : len(MAGIC) + 4], "little")
        try:
            header = json.loads(bytes(src[len(MAGIC) + 4 : len(MAGIC) + 4 + size]))
        except ValueError as exc:
            raise InvalidInput(f"packed {fmt}: unreadable header") from exc
        if not isinstance(header, dict) or header.get("format") != fmt:
            found = header.get("format") if isinstance(header, dict) else None
            raise InvalidInput(f"packed data has format {found!r}, not {fmt!r}")
        if header.get("byteorder") != sys.byteorder:
            raise InvalidInput(f"packed {fmt} was written on another byte order")
        start = len(MAGIC) + 4 + size
        self._start = start + (-start % _ALIGN)
        self._src = src
        try:
            self._layout = {
                k: (int(o), int(n), str(c)) for k, (o, n, c) in header["sections"].items()
            }
            self.meta: dict[str, Any] = dict(header["meta"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInput(f"packed {fmt}: unreadable header") from exc
        end = max((o + n for o, n, _ in self._layout.values()), default=0)
        if self._start + end > len(src):
            raise InvalidInput(f"packed {fmt} is truncated")

    def _section(self, name: str, codes: str) -> tuple[int, int, str]:
        try:
            offset, size, code = self._layout[name]
        except KeyError as exc:
            raise InvalidInput(f"packed data has no section {name!r}") from exc
        if code not in codes:
            raise InvalidInput(f"packed section {name!r} holds {code!r}, not one of {codes!r}")
        return self._start + offset, size, code

    def ints(self, name: str) -> memoryview[int]:
        """The integer section ``name`` (any integer type code), read whole."""
        begin, size, code = self._section(name, _INT_CODES)
        return memoryview(self._src[begin : begin + size]).cast(cast(_IntCode, code))

    def window(self, name: str) -> IntWindow:
        """The integer section ``name``, read slice by slice."""
        begin, _, code = self._section(name, _INT_CODES)
        return IntWindow(self._src, begin, cast(_IntCode, code))

    def floats(self, name: str) -> memoryview[float]:
        """The float64 section ``name``, read whole."""
        begin, size, _ = self._section(name, "d")
        return memoryview(self._src[begin : begin + size]).cast("d")

    def strings(self, name: str, *, whole: bool = False) -> StringTable:
        """The string table ``name``: offsets read whole, strings one by one, or all at once
        with ``whole`` (a key table that every lookup bisects)."""
        begin, size, _ = self._section(f"{name}.txt", "B")
        if whole:
            text = memoryview(self._src[begin : begin + size])
            return StringTable(self.ints(f"{name}.off"), text, 0)
        return StringTable(self.ints(f"{name}.off"), self._src, begin)
