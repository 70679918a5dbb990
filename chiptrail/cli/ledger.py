"""CLI of the ledger: ``party``, ``events``, ``chip`` and ``log`` command groups.

Each command parses options, calls one function of ``chiptrail.service.ledger.events`` and renders.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from chiptrail.cli.context import (
    DbOption,
    JsonOption,
    counting,
    emit_json,
    get_settings,
    open_db,
    out_console,
    read_input,
    working,
)
from chiptrail.crypto import Ed25519Signer, b64decode, generate_seed
from chiptrail.errors import InvalidInput
from chiptrail.ledger.keys import KeyRecord
from chiptrail.ledger.submission import sign_submission
from chiptrail.service.ledger import envelopes as svc_env
from chiptrail.service.ledger import events as svc
from chiptrail.service.ledger import log as svc_log
from chiptrail.service.ledger import witnesses as svc_wit

party_app = typer.Typer(help="Parties and their signing keys.", no_args_is_help=True)
keys_app = typer.Typer(
    help="A party's Ed25519 keys: add, rotate, revoke, list.", no_args_is_help=True
)
events_app = typer.Typer(
    help="Submit signed EPCIS events to the custody log.", no_args_is_help=True
)
chip_app = typer.Typer(help="Chip registry state derived from the log.", no_args_is_help=True)
log_app = typer.Typer(help="The Merkle log: checkpoints, proofs, export.", no_args_is_help=True)
party_app.add_typer(keys_app, name="keys")


def _say(message: str) -> None:
    """Print to stdout with markup but without emoji codes (EPC URIs contain ``:id:``)."""
    out_console.print(message, emoji=False, highlight=False)


def _now() -> datetime:
    return datetime.now(UTC)


def _write_key_file(path: Path) -> Ed25519Signer:
    if path.exists():
        raise InvalidInput(f"{path} exists; refusing to overwrite a key", {"field": "key_out"})
    seed = generate_seed()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(seed.hex() + "\n")
    path.chmod(0o600)
    return Ed25519Signer(seed)


def _read_key_file(path: str) -> Ed25519Signer:
    text = read_input(path).decode().strip()
    try:
        return Ed25519Signer(bytes.fromhex(text))
    except ValueError as exc:
        raise InvalidInput(f"{path}: not a hex Ed25519 seed", {"field": "key"}) from exc


def _public_key(value: str) -> bytes:
    """A public key given as base64, hex, or a key file holding a seed."""
    if Path(value).is_file():
        return _read_key_file(value).public_key
    try:
        return bytes.fromhex(value)
    except ValueError:
        return b64decode(value, "public_key")


@party_app.command("add")
def party_add(
    party_id: Annotated[str, typer.Argument(help="FtM-compatible id, e.g. acme-sg.")],
    name: Annotated[str, typer.Option("--name", help="Legal or personal name.")],
    country: Annotated[str | None, typer.Option("--country", help="ISO 3166-1 alpha-2.")] = None,
    kind: Annotated[str, typer.Option("--kind", help="Company, Person, Organization.")] = "Company",
    key_out: Annotated[
        Path | None, typer.Option("--key-out", help="Create a key pair file and register it.")
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Register a party (logged), optionally creating and registering its first key.

    Example: chiptrail party add acme-sg --name "Acme Pte Ltd" --country SG --key-out acme.key
    """
    database = open_db(db)
    result = svc.register_party(
        database, party_id=party_id, name=name, country=country, kind=kind, now=_now()
    )
    payload: dict[str, object] = {"party": result.party, "leaf_index": result.leaf_index}
    if key_out is not None:
        signer = _write_key_file(key_out)
        record = svc.add_party_key(
            database, party_id=party_id, public_key=signer.public_key, now=_now()
        )
        payload["key_id"] = record.key_id
        payload["key_file"] = str(key_out)
    if json_out:
        emit_json(payload)
    else:
        _say(f"registered {party_id} at leaf {result.leaf_index}")
        if key_out is not None:
            _say(f"key {payload['key_id']} written to {key_out} (keep it secret)")


@keys_app.command("add")
def keys_add(
    party_id: Annotated[str, typer.Argument(help="The party.")],
    public_key: Annotated[str, typer.Option("--public-key", help="Hex/base64 key or key file.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Register another public key for a party.

    Example: chiptrail party keys add acme-sg --public-key acme2.key
    """
    record = svc.add_party_key(
        open_db(db), party_id=party_id, public_key=_public_key(public_key), now=_now()
    )
    _print_key(record, json_out)


@keys_app.command("rotate")
def keys_rotate(
    party_id: Annotated[str, typer.Argument(help="The party.")],
    old_key_id: Annotated[str, typer.Option("--old-key-id", help="Key to revoke.")],
    public_key: Annotated[str, typer.Option("--public-key", help="New key (hex/base64/file).")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Add a new key and revoke the old one in one append.

    Example: chiptrail party keys rotate acme-sg --old-key-id 0a1b2c3d4e5f6071 --public-key new.key
    """
    record = svc.rotate_party_key(
        open_db(db),
        party_id=party_id,
        old_key_id=old_key_id,
        new_public_key=_public_key(public_key),
        now=_now(),
    )
    _print_key(record, json_out)


@keys_app.command("revoke")
def keys_revoke(
    party_id: Annotated[str, typer.Argument(help="The party.")],
    key_id: Annotated[str, typer.Option("--key-id", help="Key to revoke.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Revoke a key: submissions signed with it are refused from now on.

    Example: chiptrail party keys revoke acme-sg --key-id 0a1b2c3d4e5f6071
    """
    record = svc.revoke_party_key(open_db(db), party_id=party_id, key_id=key_id, now=_now())
    _print_key(record, json_out)


@keys_app.command("list")
def keys_list(
    party_id: Annotated[str, typer.Argument(help="The party.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """List a party's keys.

    Example: chiptrail party keys list acme-sg --json
    """
    records = svc.list_party_keys(open_db(db), party_id)
    if json_out:
        emit_json([_key_json(r) for r in records])
        return
    table = Table("key id", "added at leaf", "revoked at leaf")
    for r in records:
        table.add_row(r.key_id, str(r.added_leaf), "" if r.is_active else str(r.revoked_leaf))
    out_console.print(table, emoji=False)


def _key_json(record: KeyRecord) -> dict[str, object]:
    return {
        "key_id": record.key_id,
        "party_id": record.party_id,
        "public_key": record.public_key.hex(),
        "added_leaf": record.added_leaf,
        "revoked_leaf": record.revoked_leaf,
    }


def _print_key(record: KeyRecord, json_out: bool) -> None:
    if json_out:
        emit_json(_key_json(record))
    else:
        state = "active" if record.is_active else f"revoked at leaf {record.revoked_leaf}"
        _say(f"{record.party_id} key {record.key_id}: {state}")


def _content_type(path: str, data: bytes) -> str:
    if data.lstrip().startswith(b"<"):
        return "application/xml"
    if path.endswith((".jsonl", ".ndjson")):
        return "application/x-ndjson"
    return "application/ld+json"


def _read_envelopes(data: bytes) -> list[bytes | dict[str, object]]:
    """Envelopes from a file: one JSON envelope, a JSON array, or JSON lines."""
    try:
        parsed = json.loads(data)
    except json.JSONDecodeError:
        try:
            parsed = [json.loads(line) for line in data.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                "not a signed envelope file; to sign, pass --key and --party", {"field": "key"}
            ) from exc
    items = parsed if isinstance(parsed, list) else [parsed]
    if not all(isinstance(i, dict) and "format" in i for i in items):
        raise InvalidInput(
            "not a signed envelope file; to sign, pass --key and --party", {"field": "key"}
        )
    return list(items)


@events_app.command("submit")
def events_submit(
    file: Annotated[str, typer.Argument(help="EPCIS JSON/JSON-LD/XML/JSON lines, or an envelope.")],
    key: Annotated[str | None, typer.Option("--key", help="Key file to sign with.")] = None,
    party: Annotated[str | None, typer.Option("--party", help="Submitting party id.")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Submit events: sign FILE with --key/--party, or send an already-signed envelope file.

    Example: chiptrail events submit shipment.jsonld --key acme.key --party acme-sg
    """
    data = read_input(file)
    envelopes: list[bytes | dict[str, object]]
    if key is not None or party is not None:
        if key is None or party is None:
            raise InvalidInput("--key and --party go together", {"field": "key"})
        env = sign_submission(
            data,
            party_id=party,
            signer=_read_key_file(key),
            nonce=uuid.uuid4().hex,
            signed_at=_now(),
            content_type=_content_type(file, data),
        )
        envelopes = [env.to_bytes()]
    else:
        envelopes = _read_envelopes(data)
    database = open_db(db)
    with working(f"verifying and appending {len(envelopes):,} envelope(s)"):
        result = svc.submit_envelopes(database, envelopes, now=_now())
    if json_out:
        emit_json(
            {
                "size": result.size,
                "appended": result.appended,
                "receipts": result.receipts,
                "anomalies": result.anomalies,
            }
        )
        return
    _say(
        f"appended {result.appended} event(s), {len(result.receipts) - result.appended} "
        f"duplicate(s); log size {result.size}"
    )
    for a in result.anomalies:
        _say(f"[yellow]anomaly[/] {a.kind.value}: {escape(a.message)} (leaves {a.evidence})")


@chip_app.command("show")
def chip_show(
    epc: Annotated[str, typer.Argument(help="EPC URI of a chip, server or rack.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Show a chip's custodian, site, container, status and full history.

    Example: chiptrail chip show urn:epc:id:sgtin:0614141.107346.2017 --json
    """
    view = svc.get_chip(open_db(db), epc)
    if json_out:
        emit_json(view)
        return
    s = view.state
    site = s.site
    where = f"{site.facility or ''} {site.country or ''}".strip() if site else "unknown"
    _say(f"[bold]{escape(epc)}[/]  status {s.status.value}, custodian {escape(str(s.custodian))}")
    _say(f"site {escape(where)}; inside {escape(s.parent or '-')}; contains {len(view.children)}")
    table = Table("leaf", "time", "step", "type", "party", title="history")
    for h in view.history:
        table.add_row(
            *(Text(v) for v in (str(h.leaf_index), h.event_time or "", h.biz_step or "")),
            Text(h.event_type),
            Text(h.party_id),
        )
    out_console.print(table, emoji=False)
    for a in view.anomalies:
        _say(f"[red]anomaly[/] {a.kind.value}: {escape(a.message)} (leaves {a.evidence})")


@log_app.command("checkpoint")
def log_checkpoint(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Sign and print the current checkpoint (C2SP signed note).

    Example: chiptrail log checkpoint > checkpoint.txt
    """
    settings = get_settings(db)
    note = svc_log.witnessed_checkpoint(open_db(db), settings, now=_now())
    if json_out:
        emit_json({"checkpoint": note, "verifier_key": svc_log.log_verifier_key(settings)})
    else:
        typer.echo(note, nl=False)


@log_app.command("proof")
def log_proof(
    index: Annotated[int | None, typer.Option("--index", help="Leaf index (inclusion).")] = None,
    old_size: Annotated[int | None, typer.Option("--old-size", help="Consistency from.")] = None,
    size: Annotated[int | None, typer.Option("--size", help="Tree size (default: now).")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Print an inclusion proof (--index) or a consistency proof (--old-size).

    Example: chiptrail log proof --index 3 --size 10 --json
    """
    database = open_db(db)
    if (index is None) == (old_size is None):
        raise InvalidInput("give exactly one of --index or --old-size", {"field": "index"})
    proof: svc_log.InclusionProof | svc_log.ConsistencyProof
    if index is not None:
        proof = svc_log.prove_inclusion(database, index, size)
    else:
        assert old_size is not None  # noqa: S101 - checked above
        proof = svc_log.prove_consistency(database, old_size, size)
    if json_out:
        emit_json(proof)
    else:
        for h in proof.hashes:
            typer.echo(h)


@log_app.command("export")
def log_export(
    directory: Annotated[Path, typer.Argument(help="Output directory (tiles, checkpoint).")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Export tiles, entry bundles and a signed checkpoint for `chiptrail audit verify`.

    Example: chiptrail log export ./log-export
    """
    settings = get_settings(db)
    with working(f"exporting the log's tiles and entry bundles to {directory}"):
        summary = svc_log.export_log_to(open_db(db), settings, directory, now=_now())
    if json_out:
        emit_json(summary)
    else:
        _say(f"exported {summary.size} entries ({summary.files} files) to {directory}")
        _say(f"verifier key: {summary.verifier_key}")


@log_app.command("envelopes")
def log_envelopes(
    out: Annotated[
        str, typer.Option("--out", help="JSON-lines file to write ('-' = stdout).")
    ] = "-",
    party: Annotated[
        str | None, typer.Option("--party", help="Only this party's events (default: all).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write the signed envelopes behind the log's event leaves, one JSON record per line.

    Each line is {"leaf_index", "detail_b64", "envelope"}: what `chiptrail audit verify
    EXPORT --envelopes FILE` needs to check that the party signed each event. Reading the
    database directly is an operator action; parties use GET /v1/ledger/envelopes.

    Example: chiptrail log envelopes --out envelopes.jsonl && chiptrail audit verify ./export
    --key-file log.vkey --envelopes envelopes.jsonl --all-envelopes
    """
    database = open_db(db)
    lines: list[str] = []
    start: int | None = 0
    while start is not None:
        page = svc_env.list_envelope_records(database, party_id=party, start=start)
        lines += [json.dumps(r.to_json(), sort_keys=True) for r in page.records]
        start = page.next_start
    text = "".join(line + "\n" for line in lines)
    if out == "-":
        typer.echo(text, nl=False)
    else:
        Path(out).write_text(text, encoding="utf-8")
        _say(f"wrote {len(lines)} envelope records to {out}")


@log_app.command("witness-request")
def log_witness_request(
    old_size: Annotated[
        int, typer.Option("--old-size", min=0, help="The size the witness last cosigned.")
    ] = 0,
    out: Annotated[str, typer.Option("--out", help="Request file ('-' = stdout).")] = "-",
    db: DbOption = None,
) -> None:
    """Write a C2SP add-checkpoint request for the current checkpoint (for an offline witness).

    Example: chiptrail log witness-request --old-size 0 --out req.txt && chiptrail witness
    cosign req.txt --name w1.example --key w1.key --log-key VKEY --state w1.json > cosig.txt
    """
    settings = get_settings(db)
    body = svc_wit.witness_request(open_db(db), settings, old_size, now=_now())
    if out == "-":
        typer.echo(body.decode("utf-8"), nl=False)
    else:
        Path(out).write_bytes(body)


@log_app.command("witness")
def log_witness(
    url: Annotated[
        list[str] | None,
        typer.Option("--url", help="A witness's base URL (POST <url>/add-checkpoint; repeatable)."),
    ] = None,
    cosignature: Annotated[
        str | None,
        typer.Option("--cosignature", help="File of cosignature lines from an offline witness."),
    ] = None,
    size: Annotated[
        int | None,
        typer.Option("--size", min=0, help="Tree size the --cosignature lines are for."),
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Collect witness cosignatures on the current checkpoint (served with it and in exports).

    Example: chiptrail log witness --url http://127.0.0.1:7380 --url http://127.0.0.1:7381
    """
    if not url and cosignature is None:
        raise InvalidInput("give --url (repeatable) or --cosignature FILE", {"field": "url"})
    settings, database = get_settings(db), open_db(db)
    answers: list[svc_wit.WitnessAnswer] = []
    added = 0
    if cosignature is not None:
        text = read_input(cosignature).decode("utf-8")
        added = svc_wit.add_cosignature_lines(database, settings, text, size=size, now=_now())
    if url:
        answers = svc_wit.collect_cosignatures(database, settings, list(url), now=_now())
    if json_out:
        emit_json({"added": added, "witnesses": answers})
    else:
        for a in answers:
            _say(f"{'cosigned' if a.cosigned else 'REFUSED'} by {a.url} at size {a.size}")
        if cosignature is not None:
            _say(f"kept {added} new cosignature line(s)")
    if any(not a.cosigned for a in answers):
        raise typer.Exit(1)


@log_app.command("rebuild")
def log_rebuild(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Recompute the registry (parties, keys, chips, anomalies) from the log alone.

    Example: chiptrail log rebuild
    """
    database = open_db(db)
    with counting("replaying log entries") as update:
        count = svc.rebuild_registry(database, progress=update)
    if json_out:
        emit_json({"replayed": count})
    else:
        _say(f"replayed {count} entries")


def register(app: typer.Typer) -> None:
    """Add ``party``, ``events``, ``chip`` and ``log`` to the root app."""
    app.add_typer(party_app, name="party")
    app.add_typer(events_app, name="events")
    app.add_typer(chip_app, name="chip")
    app.add_typer(log_app, name="log")
