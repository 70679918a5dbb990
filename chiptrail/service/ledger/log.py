"""Ledger log use cases: the log signing key, signed checkpoints, proofs, tiles and export.

Each public function is one unit of work; the Merkle maths is ``chiptrail.ledger`` (merkle,
checkpoint, tiles, audit), the SQL is ``service.ledger_store``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from chiptrail.crypto import Ed25519Signer, b64encode, generate_seed
from chiptrail.errors import InvalidInput, NotFound
from chiptrail.ledger import merkle
from chiptrail.ledger.audit import export_log
from chiptrail.ledger.checkpoint import (
    Checkpoint,
    make_verifier_key,
    sign_checkpoint,
    verify_checkpoint,
)
from chiptrail.ledger.tiles import parse_tile_path, read_entry_bundle, read_tile
from chiptrail.service.ledger import rows
from chiptrail.service.settings import Settings
from chiptrail.store.database import Database
from chiptrail.store.ledger_tables import checkpoints_table

LOG_ORIGIN = "chiptrail.local/log"
"""The log's origin line and signing key name."""


# --- the log signing key ----------------------------------------------------------------------


def log_key_path(settings: Settings) -> Path:
    """Where the log's Ed25519 seed lives (created on first use, mode 0600)."""
    return settings.data_dir / "ledger" / "log-signing.key"


def load_log_signer(settings: Settings) -> Ed25519Signer:
    """The log's signing key; created with mode 0600 on first use."""
    path = log_key_path(settings)
    if not path.exists():
        _create_seed_file(path)
    seed = bytes.fromhex(path.read_text().strip())
    return Ed25519Signer(seed)


def _create_seed_file(path: Path) -> None:
    """Write a new seed next to ``path`` and hard-link it into place: concurrent first uses
    never see a half-written file, and the first link wins (the others keep the winner's key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".seed-")
    try:
        with os.fdopen(fd, "w") as out:  # mkstemp creates it with mode 0600
            out.write(generate_seed().hex() + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def log_verifier_key(settings: Settings) -> str:
    """The C2SP verifier key auditors pin (``chiptrail.local/log+<id>+<key>``)."""
    return make_verifier_key(LOG_ORIGIN, load_log_signer(settings).public_key)


# --- checkpoints, proofs, tiles, export --------------------------------------------------------


def sign_log_checkpoint(db: Database, settings: Settings, *, now: datetime) -> str:
    """A signed C2SP checkpoint of the current log (stored once per size)."""
    signer = load_log_signer(settings)
    t = checkpoints_table
    with db.unit() as conn:
        size = rows.log_size(conn)
        stored = conn.execute(select(t.c.note).where(t.c.size == size)).scalar_one_or_none()
        if stored is not None:
            return str(stored)
        root = merkle.root_at(rows.SqlNodeStore(conn), size)
    note = sign_checkpoint(Checkpoint(LOG_ORIGIN, size, root), LOG_ORIGIN, signer)
    # Stored in its own transaction, which starts by writing: concurrent readers of the same
    # size race here, and the loser reads the winner's note (the same bytes: the checkpoint
    # text has no time in it and Ed25519 signatures are deterministic).
    try:
        with db.unit() as conn:
            conn.execute(insert(t).values(size=size, root_hash=root, note=note, signed_at=now))
    except IntegrityError:
        with db.unit() as conn:
            stored = conn.execute(select(t.c.note).where(t.c.size == size)).scalar_one()
        return str(stored)
    return note


def witnessed_checkpoint(db: Database, settings: Settings, *, now: datetime) -> str:
    """The current signed checkpoint followed by the witness cosignatures kept for its size."""
    note = sign_log_checkpoint(db, settings, now=now)
    size = verify_checkpoint(note, log_verifier_key(settings), origin=LOG_ORIGIN).size
    with db.unit() as conn:
        return note + "".join(line + "\n" for line in rows.stored_cosignatures(conn, size))


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""

    index: int
    size: int
    leaf_hash: str
    root_hash: str
    hashes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """RFC 9162 consistency proof between tree sizes ``old_size`` and ``size``."""

    old_size: int
    size: int
    old_root_hash: str
    root_hash: str
    hashes: tuple[str, ...]


def _size_or_current(conn: Connection, size: int | None) -> int:
    current = rows.log_size(conn)
    chosen = current if size is None else size
    if not 0 <= chosen <= current:
        raise InvalidInput(f"size must be between 0 and {current}", {"field": "size"})
    return chosen


def prove_inclusion(db: Database, index: int, size: int | None = None) -> InclusionProof:
    """Inclusion proof (base64 hashes, RFC 9162 order) for leaf ``index``.

    Raises:
        InvalidInput: ``index`` not below ``size`` or ``size`` beyond the log.
    """
    with db.unit() as conn:
        n = _size_or_current(conn, size)
        if not 0 <= index < n:
            raise InvalidInput(f"index must be below size {n}", {"field": "index"})
        store = rows.SqlNodeStore(conn)
        entry = rows.read_entries(conn, index, index + 1)[0]
        proof = merkle.inclusion_proof(store, index, n)
        return InclusionProof(
            index,
            n,
            b64encode(merkle.hash_leaf(entry)),
            b64encode(merkle.root_at(store, n)),
            tuple(b64encode(h) for h in proof),
        )


def prove_consistency(db: Database, old_size: int, size: int | None = None) -> ConsistencyProof:
    """Consistency proof between ``old_size`` and ``size`` (default: now)."""
    with db.unit() as conn:
        n = _size_or_current(conn, size)
        if not 0 <= old_size <= n:
            raise InvalidInput(f"old_size must be between 0 and {n}", {"field": "old_size"})
        store = rows.SqlNodeStore(conn)
        proof = merkle.consistency_proof(store, old_size, n)
        return ConsistencyProof(
            old_size,
            n,
            b64encode(merkle.root_at(store, old_size)),
            b64encode(merkle.root_at(store, n)),
            tuple(b64encode(h) for h in proof),
        )


@dataclass(frozen=True, slots=True)
class Tile:
    """Bytes of one C2SP tile and whether it is full (and so immutable)."""

    data: bytes
    full: bool


def read_log_tile(db: Database, path: str) -> Tile:
    """A hash tile or entry bundle by its C2SP path (``tile/0/000``, ``tile/entries/001.p/5``).

    Raises:
        InvalidInput: a malformed path. NotFound: the tile lies beyond the log.
    """
    tile = parse_tile_path(path if path.startswith("tile/") else "tile/" + path)
    with db.unit() as conn:
        size = rows.log_size(conn)
        try:
            if tile.entries:
                data = read_entry_bundle(
                    lambda s, e: rows.read_entries(conn, s, e), tile.index, tile.width, size
                )
            else:
                data = read_tile(rows.SqlNodeStore(conn), tile.level, tile.index, tile.width, size)
        except InvalidInput as exc:
            raise NotFound(f"tile {path} is beyond the log ({size} entries)") from exc
    return Tile(data, tile.width == 256)


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What ``export_log_to`` wrote."""

    directory: str
    size: int
    files: int
    verifier_key: str


def export_log_to(
    db: Database, settings: Settings, directory: Path, *, now: datetime
) -> ExportSummary:
    """Write tiles, entry bundles and the signed checkpoint for ``chiptrail audit verify``."""
    note = witnessed_checkpoint(db, settings, now=now)
    size = verify_checkpoint(note, log_verifier_key(settings), origin=LOG_ORIGIN).size
    count = 0
    with db.unit() as conn:
        store = rows.SqlNodeStore(conn)
        for rel, data in export_log(store, size, lambda s, e: rows.read_entries(conn, s, e), note):
            target = directory / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            count += 1
    return ExportSummary(str(directory), size, count, log_verifier_key(settings))
