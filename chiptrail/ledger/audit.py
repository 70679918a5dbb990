"""The offline auditor: replay a log export and recompute every hash, trusting only the log key.

Also writes that export (``export_log``), so the format has one owner. No I/O: the export is a
``Mapping`` from relative path to bytes (the CLI maps a directory lazily; tests use a dict).

Export layout (a C2SP tlog-tiles tree plus the checkpoint it ends at)::

    checkpoint                  the signed checkpoint note (C2SP tlog-checkpoint + signed-note)
    tile/<L>/<N>[.p/<W>]        every hash tile of the checkpoint's tree size
    tile/entries/<N>[.p/<W>]    every entry bundle: the exact leaf bytes, uint16-length-prefixed

The auditor checks the checkpoint signature, recomputes leaf hashes from the entries
(``SHA-256(0x00 || entry)``) and every tile bottom-up with its own loop (not
``merkle.append_leaves``), streaming one bundle at a time (memory about ``size / 256`` hashes),
compares each stored tile byte for byte, folds the root and compares it with the checkpoint.
Older partial tiles left next to the full ones are allowed if they are prefixes of the truth.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from chiptrail.errors import ChiptrailError, InvalidInput, VerificationError
from chiptrail.ledger.checkpoint import Checkpoint, verify_checkpoint
from chiptrail.ledger.envelope_audit import EntryChecker, EnvelopeRecord
from chiptrail.ledger.merkle import EMPTY_ROOT, NodeStore, hash_children, hash_leaf
from chiptrail.ledger.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    EntryReader,
    TileId,
    list_entry_bundles,
    list_tiles,
    parse_entry_bundle,
    parse_tile,
    parse_tile_path,
    read_entry_bundle,
    read_tile,
)
from chiptrail.ledger.witness import verify_cosignatures

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
        previous_checked: earlier checkpoints shown to be prefixes of this log.
        envelopes_checked: event leaves whose party signature was verified from an envelope.
        events_unchecked: event leaves for which no envelope was given.
        legacy_events: v1 (plain text) event leaves.
        witnesses: names of the pinned witnesses whose cosignature on the checkpoint verified.
    """

    checkpoint: Checkpoint | None
    entries_checked: int
    tiles_checked: int
    problems: tuple[AuditProblem, ...]
    previous_checked: int = 0
    envelopes_checked: int = 0
    events_unchecked: int = 0
    legacy_events: int = 0
    witnesses: tuple[str, ...] = ()

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

    def __init__(self, files: Mapping[str, bytes], checker: EntryChecker) -> None:
        self.files = files
        self.checker = checker
        self.problems: list[AuditProblem] = []
        self.tiles_checked = 0
        self.entries_checked = 0
        self.stale: dict[tuple[int, int], list[TileId]] = {}

    def fail(self, path: str, message: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(AuditProblem(path, message))

    def read(self, path: str) -> bytes | None:
        data = self.files.get(path)
        if data is None:
            self.fail(path, "missing")
        return data

    def sort_extra_files(self, size: int) -> None:
        """Report unexpected files; remember older partial tiles to compare as prefixes."""
        expected = {t.path for t in list_tiles(size)} | {b.path for b in list_entry_bundles(size)}
        for path in sorted(self.files):
            if path == CHECKPOINT_PATH or path in expected:
                continue
            try:
                extra = parse_tile_path(path)
            except ChiptrailError:
                self.fail(path, "unexpected file in the export")
                continue
            nodes = size >> (TILE_HEIGHT * extra.level)
            if extra.entries or extra.width == TILE_WIDTH or extra.index * TILE_WIDTH >= nodes:
                self.fail(path, "unexpected tile for this tree size")
                continue
            self.stale.setdefault((extra.level, extra.index), []).append(extra)

    def bundle_hashes(self, bundle: TileId) -> list[bytes] | None:
        """Leaf hashes of one entry bundle, or None (reported) if it is missing or malformed."""
        data = self.read(bundle.path)
        if data is None:
            return None
        try:
            entries = parse_entry_bundle(data)
        except ChiptrailError as exc:
            self.fail(bundle.path, exc.message)
            return None
        if len(entries) != bundle.width:
            self.fail(bundle.path, f"holds {len(entries)} entries, expected {bundle.width}")
            return None
        self.entries_checked += len(entries)
        first = bundle.index * TILE_WIDTH
        for offset, entry in enumerate(entries):
            for problem in self.checker.check(first + offset, entry):
                self.fail(bundle.path, problem)
        return [hash_leaf(e) for e in entries]

    def check_tile(self, tile: TileId, hashes: Sequence[bytes]) -> None:
        """Compare a stored tile (and any older partial tiles at its place) with the truth."""
        truth = b"".join(hashes)
        data = self.read(tile.path)
        if data is not None:
            self.tiles_checked += 1
            if data != truth:
                self.fail(tile.path, "tile does not match the hashes recomputed from the entries")
        for stale in self.stale.get((tile.level, tile.index), []):
            self.tiles_checked += 1
            if stale.width > tile.width or self.files.get(stale.path) != truth[: 32 * stale.width]:
                self.fail(stale.path, "stale partial tile is not a prefix of the recomputed tile")


def _perfect_root(hashes: Sequence[bytes]) -> bytes:
    """Root of a perfect subtree over ``hashes`` (a power-of-two count), pairing level by level."""
    row = list(hashes)
    while len(row) > 1:
        row = [hash_children(row[i], row[i + 1]) for i in range(0, len(row), 2)]
    return row[0]


def _partial_frontier(hashes: Sequence[bytes], base_level: int) -> list[tuple[int, bytes]]:
    """The perfect nodes at the right edge of a partial tile: one per set bit of its width.

    ``hashes`` are the tile's nodes at tree level ``base_level``; the tile starts at an index that
    is a multiple of 256, so bit ``j`` of its width is bit ``base_level + j`` of the tree size.
    """
    found = []
    row, width, j = list(hashes), len(hashes), 0
    while row:
        if width >> j & 1:
            found.append((base_level + j, row[-1]))
        row = [hash_children(row[i], row[i + 1]) for i in range(0, len(row) - 1, 2)]
        j += 1
    return found


def _fold_root(frontier: Sequence[tuple[int, bytes]]) -> bytes:
    """MTH from the perfect nodes of each set bit of the size, smallest (rightmost) first."""
    root: bytes | None = None
    for _, node in sorted(frontier, key=lambda item: item[0]):
        root = node if root is None else hash_children(node, root)
    return EMPTY_ROOT if root is None else root


def _replay(audit: _Audit, size: int) -> bytes | None:
    """Recompute every tile bottom-up, streaming (memory ~ size / 256); returns the root.

    Level 0 comes from the entry bundles one at a time; each full tile's subtree root becomes one
    node of the next tile level. Returns None when an entry bundle was unusable.
    """
    frontier: list[tuple[int, bytes]] = []
    row: list[bytes] = []
    complete = True
    for bundle in list_entry_bundles(size):
        hashes = audit.bundle_hashes(bundle)
        if hashes is None:
            complete = False
            continue
        audit.check_tile(TileId(0, bundle.index, bundle.width), hashes)
        if bundle.width == TILE_WIDTH:
            row.append(_perfect_root(hashes))
        else:
            frontier += _partial_frontier(hashes, 0)
    if not complete:
        return None
    level = 1
    while row:
        above: list[bytes] = []
        for start in range(0, len(row), TILE_WIDTH):
            chunk = row[start : start + TILE_WIDTH]
            audit.check_tile(TileId(level, start // TILE_WIDTH, len(chunk)), chunk)
            if len(chunk) == TILE_WIDTH:
                above.append(_perfect_root(chunk))
            else:
                frontier += _partial_frontier(chunk, TILE_HEIGHT * level)
        row, level = above, level + 1
    return _fold_root(frontier)


def _root_from_tiles(files: Mapping[str, bytes], size: int, old_size: int) -> bytes:
    """MTH of the first ``old_size <= size`` leaves, read from the (already verified) tiles.

    Each set bit ``h = 8L + j`` of ``old_size`` names one perfect node: ``2**j`` consecutive,
    aligned hashes inside a single tile of tile level ``L``, paired ``j`` times.
    """
    frontier = []
    for height in range(old_size.bit_length()):
        if not old_size >> height & 1:
            continue
        level, j = divmod(height, TILE_HEIGHT)
        first = ((old_size >> height) - 1) << j
        tile_index, offset = divmod(first, TILE_WIDTH)
        width = min(TILE_WIDTH, (size >> (TILE_HEIGHT * level)) - tile_index * TILE_WIDTH)
        hashes = parse_tile(files[TileId(level, tile_index, width).path], width)
        frontier.append((height, _perfect_root(hashes[offset : offset + (1 << j)])))
    return _fold_root(frontier)


def _check_previous(
    audit: _Audit, cp: Checkpoint, verifier_key: str, previous: Sequence[str | bytes]
) -> int:
    """Show that each earlier signed checkpoint is a prefix of the verified log."""
    checked = 0
    for position, note in enumerate(previous):
        label = f"previous checkpoint #{position + 1}"
        try:
            old = verify_checkpoint(note, verifier_key, origin=cp.origin)
        except VerificationError as exc:
            audit.fail(label, exc.message)
            continue
        if old.size > cp.size:
            audit.fail(
                label,
                f"size {old.size} is beyond this export's {cp.size}: the log shrank "
                "or the export is stale",
            )
        elif _root_from_tiles(audit.files, cp.size, old.size) != old.root_hash:
            audit.fail(
                label,
                f"root for size {old.size} differs from this log's first {old.size} entries: "
                "history was rewritten (split view)",
            )
        else:
            checked += 1
    return checked


def _check_witnesses(
    audit: _Audit, note: bytes, witness_keys: Sequence[str], min_witnesses: int
) -> tuple[str, ...]:
    """Names of the pinned witnesses that cosigned; a problem when fewer than required."""
    if not witness_keys:
        return ()
    try:
        found = tuple(sorted(verify_cosignatures(note, witness_keys)))
    except VerificationError as exc:
        audit.fail(CHECKPOINT_PATH, exc.message)
        return ()
    if len(found) < min_witnesses:
        audit.fail(
            CHECKPOINT_PATH,
            f"{len(found)} of the required {min_witnesses} witness cosignatures "
            f"({len(witness_keys)} witnesses pinned): a view no witness vouches for",
        )
    return found


def next_audit_state(
    state: Mapping[str, str], log_key: str, report: AuditReport, note: str
) -> dict[str, str]:
    """The auditor's state after an audit: log verifier key -> largest verified checkpoint note.

    Unchanged unless the audit is valid; the kept note is replaced only by a checkpoint at least
    as large (an auditor never moves backwards). A valid audit already showed the kept note to
    be a prefix of the export when it was passed as ``previous``.
    """
    out = dict(state)
    cp = report.checkpoint
    if report.is_valid and cp is not None:
        kept = out.get(log_key)
        if kept is None or _note_size(kept) <= cp.size:
            out[log_key] = note
    return out


def _note_size(note: str) -> int:
    lines = note.split("\n")
    return int(lines[1]) if len(lines) > 1 and lines[1].isdigit() else -1


def audit_export(
    files: Mapping[str, bytes],
    verifier_key: str,
    *,
    origin: str | None = None,
    previous: Sequence[str | bytes] = (),
    envelopes: Mapping[int, EnvelopeRecord] | None = None,
    require_envelopes: bool = False,
    witness_keys: Sequence[str] = (),
    min_witnesses: int = 0,
) -> AuditReport:
    """Replay an export and report every failure (see the module docstring for the layout).

    Args:
        files: relative path -> file bytes of the export.
        verifier_key: the log's signed-note verifier key (the only thing trusted).
        origin: if given, the checkpoint must name this log.
        previous: earlier signed checkpoints of the same log (e.g. from an earlier audit); each
            must be a prefix of this export's log. Checked only when the export itself is valid.
        envelopes: leaf index -> the signed envelope (and v2 detail) behind that event leaf;
            each given one must prove the party signed the event (``envelope_audit``).
        require_envelopes: every event leaf must come with an envelope (a full audit).
        witness_keys: verifier keys (type 0x04) of the witnesses the auditor trusts.
        min_witnesses: how many of them must have cosigned the checkpoint (N of M).

    Returns:
        An ``AuditReport``; bad evidence is reported in ``problems``, not raised.

    Raises:
        InvalidInput: ``verifier_key`` or a witness key is malformed, or ``min_witnesses`` is
            outside 0..len(witness_keys).
    """
    if not 0 <= min_witnesses <= len(witness_keys):
        raise InvalidInput(
            f"--min-witnesses must be between 0 and the {len(witness_keys)} witness key(s) given",
            {"field": "min_witnesses"},
        )
    given = envelopes or {}
    audit = _Audit(files, EntryChecker(given, require_envelopes))
    note = audit.read(CHECKPOINT_PATH)
    if note is None:
        return AuditReport(None, 0, 0, tuple(audit.problems))
    try:
        cp = verify_checkpoint(note, verifier_key, origin=origin)
    except VerificationError as exc:
        audit.fail(CHECKPOINT_PATH, exc.message)
        return AuditReport(None, 0, 0, tuple(audit.problems))
    witnesses = _check_witnesses(audit, note, witness_keys, min_witnesses)
    bundles_needed = -(-cp.size // TILE_WIDTH)
    if len(files) <= bundles_needed:  # checked first so a huge claimed size cannot stall us
        audit.fail(
            CHECKPOINT_PATH,
            f"checkpoint claims {cp.size} entries ({bundles_needed} entry bundles) but the "
            f"export holds only {len(files)} files",
        )
        return AuditReport(cp, 0, 0, tuple(audit.problems))
    audit.sort_extra_files(cp.size)
    root = _replay(audit, cp.size)
    if root is not None and root != cp.root_hash:
        audit.fail(CHECKPOINT_PATH, "root recomputed from the entries differs from the checkpoint")
    beyond = sorted(i for i in given if not 0 <= i < cp.size)
    if beyond:
        audit.fail("envelopes", f"records for leaves beyond the checkpoint: {beyond[:5]}")
    previous_checked = 0
    if not audit.problems:
        previous_checked = _check_previous(audit, cp, verifier_key, previous)
    checker = audit.checker
    return AuditReport(
        cp,
        audit.entries_checked,
        audit.tiles_checked,
        tuple(audit.problems),
        previous_checked,
        checker.checked,
        checker.unchecked,
        checker.legacy,
        witnesses,
    )


def verify_export(
    files: Mapping[str, bytes],
    verifier_key: str,
    *,
    origin: str | None = None,
    previous: Sequence[str | bytes] = (),
    envelopes: Mapping[int, EnvelopeRecord] | None = None,
    require_envelopes: bool = False,
    witness_keys: Sequence[str] = (),
    min_witnesses: int = 0,
) -> AuditReport:
    """``audit_export`` that raises when anything failed.

    Raises:
        InvalidInput: ``verifier_key`` is malformed.
        VerificationError: the export is not valid; ``details["problems"]`` lists every failure.
    """
    report = audit_export(
        files,
        verifier_key,
        origin=origin,
        previous=previous,
        envelopes=envelopes,
        require_envelopes=require_envelopes,
        witness_keys=witness_keys,
        min_witnesses=min_witnesses,
    )
    if not report.is_valid:
        first = report.problems[0]
        raise VerificationError(
            f"log export does not verify: {first.path}: {first.message}"
            + (f" (and {len(report.problems) - 1} more)" if len(report.problems) > 1 else ""),
            {"problems": [{"path": p.path, "message": p.message} for p in report.problems]},
        )
    return report
