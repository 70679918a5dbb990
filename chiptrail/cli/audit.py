"""``chiptrail audit``: the independent, offline auditor of the custody log.

Trusts nothing but the log's checkpoint key: replays a log export, checks single proofs. Reads
files; the checking itself is ``chiptrail.ledger.audit`` and ``chiptrail.ledger.proof``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated

import typer

from chiptrail.cli.context import (
    JsonOption,
    emit_json,
    get_settings,
    out_console,
    read_input,
    working,
)
from chiptrail.crypto import b64decode, b64encode
from chiptrail.errors import InvalidInput, VerificationError
from chiptrail.ledger.audit import CHECKPOINT_PATH, audit_export, next_audit_state
from chiptrail.ledger.checkpoint import verify_checkpoint
from chiptrail.ledger.envelope_audit import parse_envelope_records
from chiptrail.ledger.merkle import hash_leaf
from chiptrail.ledger.proof import verify_consistency, verify_inclusion

audit_app = typer.Typer(
    help="Verify the custody log offline, trusting only its checkpoint key. "
    "Exit codes: 0 valid, 1 invalid, 2 malformed input.",
    no_args_is_help=True,
)


class DirectoryFiles(Mapping[str, bytes]):
    """A directory as a lazy ``relative path -> bytes`` mapping (paths use ``/``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __getitem__(self, path: str) -> bytes:
        target = self.root / path
        if ".." in Path(path).parts or not target.is_file():
            raise KeyError(path)
        return target.read_bytes()

    def __iter__(self) -> Iterator[str]:
        for p in sorted(self.root.rglob("*")):
            if p.is_file() or p.is_symlink():
                yield p.relative_to(self.root).as_posix()

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _read_key(key: str | None, key_file: str | None) -> str:
    if (key is None) == (key_file is None):
        raise InvalidInput("give the log's verifier key with exactly one of --key or --key-file")
    if key_file is not None:
        try:
            return read_input(key_file).decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            raise InvalidInput("--key-file is not UTF-8 text") from exc
    assert key is not None  # noqa: S101 (narrowing; checked above)
    return key.strip()


def _read_state(path: Path | None) -> dict[str, str]:
    """The auditor's kept checkpoints: log verifier key -> last verified checkpoint note."""
    if path is None or not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidInput(f"{path}: not an audit state file (JSON)") from exc
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise InvalidInput(f"{path}: not an audit state file")
    return {str(k): v for k, v in data.items()}


def _write_state(path: Path, state: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def _hash_option(value: str, field: str) -> bytes:
    decoded = b64decode(value.strip(), field)
    if len(decoded) != 32:
        raise InvalidInput(f"{field}: expected a base64 SHA-256 hash (32 bytes)", {"field": field})
    return decoded


def _proof_option(value: str) -> list[bytes]:
    parts = [p for p in value.replace("\n", ",").split(",") if p.strip()]
    return [_hash_option(p, f"--proof[{i}]") for i, p in enumerate(parts)]


def _report(ok: bool, json_out: bool, payload: dict[str, object], message: str) -> None:
    if json_out:
        emit_json({"valid": ok, **payload})
    elif ok:
        out_console.print(f"[green]valid[/]: {message}", highlight=False)
    else:
        out_console.print(f"[red]INVALID[/]: {message}", highlight=False)
    if not ok:
        raise typer.Exit(1)


KeyOption = Annotated[
    str | None, typer.Option("--key", help="The log's verifier key: name+hex8+base64.")
]
KeyFileOption = Annotated[
    str | None, typer.Option("--key-file", help="File holding the verifier key ('-' = stdin).")
]


@audit_app.command("verify")
def verify_cmd(
    export_dir: Annotated[Path, typer.Argument(help="Directory of a log export.")],
    key: KeyOption = None,
    key_file: KeyFileOption = None,
    origin: Annotated[
        str | None, typer.Option("--origin", help="Require this checkpoint origin (log name).")
    ] = None,
    previous: Annotated[
        list[str] | None,
        typer.Option(
            "--previous",
            help="An earlier signed checkpoint file of this log that must be a prefix of the "
            "export (repeatable).",
        ),
    ] = None,
    envelopes: Annotated[
        str | None,
        typer.Option(
            "--envelopes",
            help="JSON-lines file of signed envelopes behind event leaves "
            "(chiptrail log envelopes, GET /v1/ledger/envelopes): each must prove the party "
            "signed its event.",
        ),
    ] = None,
    all_envelopes: Annotated[
        bool,
        typer.Option(
            "--all-envelopes", help="Fail unless every event leaf has an envelope (full audit)."
        ),
    ] = False,
    witness: Annotated[
        list[str] | None,
        typer.Option(
            "--witness",
            help="A trusted witness's verifier key (name+hex8+base64, type 0x04; repeatable).",
        ),
    ] = None,
    min_witnesses: Annotated[
        int | None,
        typer.Option(
            "--min-witnesses",
            help="How many of the --witness keys must have cosigned (default: all given).",
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="File where the auditor keeps the last checkpoint it verified per log key "
            "(default: <data dir>/audit/checkpoints.json); it must be a prefix of every later "
            "export, so a rollback or fork fails without --previous.",
        ),
    ] = None,
    no_state: Annotated[
        bool, typer.Option("--no-state", help="Neither read nor update the state file.")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Replay a log export: recompute every leaf, node and tile and check the signed checkpoint.

    The export is a directory with a signed 'checkpoint' and C2SP tlog-tiles under 'tile/'
    (hash tiles and entry bundles); see docs/transparency-log.md. With --previous, earlier
    checkpoints you kept must be prefixes of this log (no rewritten history, no split view).

    With --envelopes, every event leaf given an envelope must carry the signature of a party
    key the log registered before it (a fabricated event fails); --all-envelopes requires one
    for every event leaf. With --witness (repeated) the checkpoint needs --min-witnesses valid
    cosignatures (C2SP tlog-cosignature). The last verified checkpoint of each log key is kept
    in a state file and must be a prefix of every later export (rollback and fork fail).

    Example: chiptrail audit verify ./export --key "custody.example+1a2b3c4d+AX..."
    --witness "w1.example+0a1b2c3d+BA..." --witness "w2.example+..." --min-witnesses 2
    """
    vkey = _read_key(key, key_file)
    if not export_dir.is_dir():
        raise InvalidInput(f"{export_dir}: not a directory", {"field": "export_dir"})
    earlier: list[str | bytes] = [read_input(path) for path in previous or []]
    records = parse_envelope_records(read_input(envelopes)) if envelopes is not None else None
    state_path = None if no_state else state or get_settings().data_dir / "audit/checkpoints.json"
    kept = _read_state(state_path)
    if vkey in kept:
        earlier.append(kept[vkey])
    witnesses = list(witness or [])
    files = DirectoryFiles(export_dir)
    with working(f"replaying the log export in {export_dir}"):
        report = audit_export(
            files,
            vkey,
            origin=origin,
            previous=earlier,
            envelopes=records,
            require_envelopes=all_envelopes,
            witness_keys=witnesses,
            min_witnesses=len(witnesses) if min_witnesses is None else min_witnesses,
        )
    if state_path is not None and report.is_valid:
        note = files[CHECKPOINT_PATH].decode("utf-8")
        new_state = next_audit_state(kept, vkey, report, note)
        if new_state != kept:
            _write_state(state_path, new_state)
    cp = report.checkpoint
    payload: dict[str, object] = {
        "origin": cp.origin if cp else None,
        "size": cp.size if cp else None,
        "root_hash": b64encode(cp.root_hash) if cp else None,
        "entries_checked": report.entries_checked,
        "tiles_checked": report.tiles_checked,
        "previous_checked": report.previous_checked,
        "envelopes_checked": report.envelopes_checked,
        "events_unchecked": report.events_unchecked,
        "legacy_events": report.legacy_events,
        "witnesses": list(report.witnesses),
        "state": str(state_path) if state_path is not None else None,
        "problems": [{"path": p.path, "message": p.message} for p in report.problems],
    }
    if not json_out and not report.is_valid:
        for p in report.problems:
            out_console.print(f"{p.path}: {p.message}", highlight=False, markup=False)
    summary = (
        f"{cp.origin} size {cp.size}: {report.entries_checked} entries, "
        f"{report.tiles_checked} tiles recomputed"
        if cp
        else "checkpoint did not verify"
    )
    if report.previous_checked:
        summary += f"; {report.previous_checked} earlier checkpoint(s) are prefixes"
    if witnesses:
        summary += f"; cosigned by {len(report.witnesses)} of {len(witnesses)} witness(es)"
    if records is not None:
        summary += (
            f"; {report.envelopes_checked} event signature(s) verified, "
            f"{report.events_unchecked} event(s) without envelope"
        )
    if report.problems:
        summary += f"; {len(report.problems)} problem(s)"
    _report(report.is_valid, json_out, payload, summary)


@audit_app.command("checkpoint")
def checkpoint_cmd(
    checkpoint_file: Annotated[str, typer.Argument(help="Signed checkpoint file ('-' = stdin).")],
    key: KeyOption = None,
    key_file: KeyFileOption = None,
    origin: Annotated[
        str | None, typer.Option("--origin", help="Require this checkpoint origin (log name).")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Check one signed checkpoint (C2SP signed note) and print its origin, size and root.

    Example: chiptrail audit checkpoint ./export/checkpoint --key "custody.example+1a2b3c4d+AX..."
    """
    vkey = _read_key(key, key_file)
    note = read_input(checkpoint_file)
    try:
        cp = verify_checkpoint(note, vkey, origin=origin)
    except VerificationError as exc:
        _report(False, json_out, {"error": exc.message}, exc.message)
        return
    payload: dict[str, object] = {
        "origin": cp.origin,
        "size": cp.size,
        "root_hash": b64encode(cp.root_hash),
        "extensions": list(cp.extensions),
    }
    _report(True, json_out, payload, f"{cp.origin} size {cp.size} root {b64encode(cp.root_hash)}")


@audit_app.command("inclusion")
def inclusion_cmd(
    index: Annotated[int, typer.Option("--index", min=0, help="0-based leaf index.")],
    size: Annotated[int, typer.Option("--size", min=0, help="Tree size the proof is for.")],
    root: Annotated[str, typer.Option("--root", help="Root hash of that tree, base64.")],
    proof: Annotated[
        str, typer.Option("--proof", help="Audit path: base64 hashes, comma-separated, leaf first.")
    ] = "",
    leaf_hash: Annotated[
        str | None, typer.Option("--leaf-hash", help="Leaf hash, base64 (SHA-256(0x00||entry)).")
    ] = None,
    entry_file: Annotated[
        str | None,
        typer.Option(
            "--entry-file", help="File with the exact entry bytes instead of --leaf-hash."
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Check an RFC 9162 inclusion proof for one leaf.

    Example: chiptrail audit inclusion --leaf-hash H --index 0 --size 8 --root R --proof P1,P2
    """
    if (leaf_hash is None) == (entry_file is None):
        raise InvalidInput("give exactly one of --leaf-hash or --entry-file")
    leaf = (
        _hash_option(leaf_hash, "--leaf-hash")
        if leaf_hash is not None
        else hash_leaf(read_input(str(entry_file)))
    )
    root_hash, path = _hash_option(root, "--root"), _proof_option(proof)
    payload: dict[str, object] = {"leaf_hash": b64encode(leaf), "index": index, "size": size}
    try:
        verify_inclusion(leaf, index, size, path, root_hash)
    except VerificationError as exc:
        _report(False, json_out, {**payload, "error": exc.message}, exc.message)
    _report(True, json_out, payload, f"leaf {index} is in the tree of size {size}")


@audit_app.command("consistency")
def consistency_cmd(
    old_size: Annotated[int, typer.Option("--old-size", min=0, help="Size of the older tree.")],
    old_root: Annotated[str, typer.Option("--old-root", help="Root of the older tree, base64.")],
    size: Annotated[int, typer.Option("--size", min=0, help="Size of the newer tree.")],
    root: Annotated[str, typer.Option("--root", help="Root of the newer tree, base64.")],
    proof: Annotated[
        str, typer.Option("--proof", help="Consistency proof: base64 hashes, comma-separated.")
    ] = "",
    json_out: JsonOption = False,
) -> None:
    """Check an RFC 9162 consistency proof: the older tree is a prefix of the newer one.

    Example: chiptrail audit consistency --old-size 3 --old-root R1 --size 8 --root R2 --proof P1
    """
    old_hash, new_hash = _hash_option(old_root, "--old-root"), _hash_option(root, "--root")
    path = _proof_option(proof)
    payload: dict[str, object] = {"old_size": old_size, "size": size}
    try:
        verify_consistency(old_size, size, old_hash, new_hash, path)
    except VerificationError as exc:
        _report(False, json_out, {**payload, "error": exc.message}, exc.message)
    _report(True, json_out, payload, f"tree {old_size} is a prefix of tree {size}")


def register(app: typer.Typer) -> None:
    """Add ``audit`` to the root app."""
    app.add_typer(audit_app, name="audit")
