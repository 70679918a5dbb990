"""The offline auditor: replay a log export and recompute every hash, trusting only the log key.

Also writes that export (``export_log``), so the format has one owner. No I/O: the export is a
``Mapping`` from relative path to bytes (the CLI maps a directory lazily; tests use a dict).

Export layout (a C2SP tlog-tiles tree plus the checkpoint it ends at)::

    checkpoint                  the signed checkpoint note (C2SP tlog-checkpoint + signed-note)
    tile/<L>/<N>[.p/<W>]        every hash tile of the checkpoint's tree size
    tile/entries/<N>[.p/<W>]    every entry bundle: the exact leaf bytes, uint16-length-prefixed

The auditor recomputes leaf hashes from the entries (``SHA-256(0x00 || entry)``), every perfect
node level by level with its own loop (not ``merkle.append_leaves``), compares each stored tile
byte for byte, folds the root and compares it with the checkpoint, whose signature it checks.
Older partial tiles left next to the full ones are allowed if they are prefixes of the truth.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from chiptrail.errors import ChiptrailError, VerificationError
from chiptrail.ledger.checkpoint import Checkpoint, verify_checkpoint
from chiptrail.ledger.merkle import EMPTY_ROOT, NodeStore, hash_children, hash_leaf
from chiptrail.ledger.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    EntryReader,
    TileId,
    list_entry_bundles,
    list_tiles,
    parse_entry_bundle,
    parse_tile_path,
    read_entry_bundle,
    read_tile,
)

CHECKPOINT_PATH = "checkpoint"
"""Name of the signed checkpoint file at the root of an export."""

_MAX_PROBLEMS = 100


@dataclass(frozen=True, slots=True)
class AuditProblem:
    """One thing that failed: which file, and what was wrong with it."""

    path: str
    message: str


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What ``audit_export`` checked and found.

    Attributes:
        checkpoint: the verified checkpoint, or None if its signature or body failed.
        entries_checked: entries whose leaf hashes were recomputed.
        tiles_checked: hash tiles compared byte for byte with the recomputed nodes.
        problems: every failure found (capped at 100); empty means the export is valid.
    """

    checkpoint: Checkpoint | None
    entries_checked: int
    tiles_checked: int
    problems: tuple[AuditProblem, ...]

    @property
    def is_valid(self) -> bool:
        """True when nothing failed."""
        return not self.problems and self.checkpoint is not None


def export_log(
    store: NodeStore, size: int, read_entries: EntryReader, checkpoint_note: str
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(path, bytes)`` for every file of the export of the log at ``size`` entries.

    Args:
        store: the log's node store (holding at least ``size`` leaves).
        size: the tree size of ``checkpoint_note``.
        read_entries: ``read_entries(start, end)`` returns the exact leaf bytes of ``[start, end)``.
        checkpoint_note: the signed checkpoint for ``size``.

    Raises:
        InvalidInput: the store or reader cannot serve ``size`` leaves, or an entry exceeds
            65,535 bytes.
    """
    yield CHECKPOINT_PATH, checkpoint_note.encode("utf-8")
    for tile in list_tiles(size):
        yield tile.path, read_tile(store, tile.level, tile.index, tile.width, size)
    for bundle in list_entry_bundles(size):
        yield bundle.path, read_entry_bundle(read_entries, bundle.index, bundle.width, size)


class _Audit:
    """Mutable scratch state of one audit run (kept private; the result is ``AuditReport``)."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = files
        self.problems: list[AuditProblem] = []

    def fail(self, path: str, message: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(AuditProblem(path, message))

    def read(self, path: str) -> bytes | None:
        data = self.files.get(path)
        if data is None:
            self.fail(path, "missing")
        return data

    def leaf_hashes(self, size: int) -> list[bytes] | None:
        """Leaf hashes recomputed from every entry bundle, or None if any bundle is bad."""
        hashes: list[bytes] = []
        complete = True
        for bundle in list_entry_bundles(size):
            data = self.read(bundle.path)
            if data is None:
                complete = False
                continue
            try:
                entries = parse_entry_bundle(data)
            except ChiptrailError as exc:
                self.fail(bundle.path, exc.message)
                complete = False
                continue
            if len(entries) != bundle.width:
                self.fail(bundle.path, f"holds {len(entries)} entries, expected {bundle.width}")
                complete = False
                continue
            hashes += [hash_leaf(e) for e in entries]
        return hashes if complete else None


def _node_levels(leaf_hashes: Sequence[bytes]) -> list[list[bytes]]:
    """Every perfect node by level: ``levels[h][i]`` covers leaves ``[i * 2**h, (i+1) * 2**h)``."""
    levels = [list(leaf_hashes)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([hash_children(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return levels


def _fold_root(levels: Sequence[Sequence[bytes]], size: int) -> bytes:
    """MTH from the perfect nodes of each set bit of ``size``, smallest (rightmost) first."""
    root: bytes | None = None
    for height in range(size.bit_length()):
        if size >> height & 1:
            node = levels[height][(size >> height) - 1]
            root = node if root is None else hash_children(node, root)
    return EMPTY_ROOT if root is None else root


def _tile_bytes(levels: Sequence[Sequence[bytes]], tile: TileId) -> bytes:
    row = levels[TILE_HEIGHT * tile.level] if TILE_HEIGHT * tile.level < len(levels) else []
    first = tile.index * TILE_WIDTH
    return b"".join(row[first : first + tile.width])


def _check_tiles(audit: _Audit, levels: Sequence[Sequence[bytes]], size: int) -> int:
    """Compare every expected and every extra tile with the truth; returns tiles compared."""
    expected = {t.path for t in list_tiles(size)} | {b.path for b in list_entry_bundles(size)}
    checked = 0
    for tile in list_tiles(size):
        data = audit.read(tile.path)
        if data is not None:
            checked += 1
            if data != _tile_bytes(levels, tile):
                audit.fail(tile.path, "tile does not match the hashes recomputed from the entries")
    for path in sorted(audit.files):
        if path == CHECKPOINT_PATH or path in expected:
            continue
        try:
            extra = parse_tile_path(path)
        except ChiptrailError:
            audit.fail(path, "unexpected file in the export")
            continue
        if extra.entries or extra.width == TILE_WIDTH:
            audit.fail(path, "unexpected tile for this tree size")
            continue
        checked += 1
        truth = _tile_bytes(levels, extra)
        if len(truth) != 32 * extra.width or audit.files.get(path) != truth:
            audit.fail(path, "stale partial tile is not a prefix of the recomputed tile")
    return checked


def audit_export(
    files: Mapping[str, bytes], verifier_key: str, *, origin: str | None = None
) -> AuditReport:
    """Replay an export and report every failure (see the module docstring for the layout).

    Args:
        files: relative path -> file bytes of the export.
        verifier_key: the log's signed-note verifier key (the only thing trusted).
        origin: if given, the checkpoint must name this log.

    Returns:
        An ``AuditReport``; bad evidence is reported in ``problems``, not raised.

    Raises:
        InvalidInput: ``verifier_key`` is malformed.
    """
    audit = _Audit(files)
    note = audit.read(CHECKPOINT_PATH)
    if note is None:
        return AuditReport(None, 0, 0, tuple(audit.problems))
    try:
        cp = verify_checkpoint(note, verifier_key, origin=origin)
    except VerificationError as exc:
        audit.fail(CHECKPOINT_PATH, exc.message)
        return AuditReport(None, 0, 0, tuple(audit.problems))
    hashes = audit.leaf_hashes(cp.size)
    if hashes is None:
        return AuditReport(cp, 0, 0, tuple(audit.problems))
    levels = _node_levels(hashes)
    tiles_checked = _check_tiles(audit, levels, cp.size)
    if _fold_root(levels, cp.size) != cp.root_hash:
        audit.fail(CHECKPOINT_PATH, "root recomputed from the entries differs from the checkpoint")
    return AuditReport(cp, len(hashes), tiles_checked, tuple(audit.problems))


def verify_export(
    files: Mapping[str, bytes], verifier_key: str, *, origin: str | None = None
) -> AuditReport:
    """``audit_export`` that raises when anything failed.

    Raises:
        InvalidInput: ``verifier_key`` is malformed.
        VerificationError: the export is not valid; ``details["problems"]`` lists every failure.
    """
    report = audit_export(files, verifier_key, origin=origin)
    if not report.is_valid:
        first = report.problems[0]
        raise VerificationError(
            f"log export does not verify: {first.path}: {first.message}"
            + (f" (and {len(report.problems) - 1} more)" if len(report.problems) > 1 else ""),
            {"problems": [{"path": p.path, "message": p.message} for p in report.problems]},
        )
    return report
