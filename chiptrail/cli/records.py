"""CLI commands of the records capability: ``chiptrail records add|list|formats``.

Each calls one service function of ``chiptrail.service.records.ingest``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from chiptrail.cli.context import (
    DbOption,
    JsonOption,
    emit_json,
    open_db,
    out_console,
    read_input,
    working,
)
from chiptrail.records import SPECS, RecordFormat, parse_kind
from chiptrail.service.records import ingest as service

records_app = typer.Typer(
    name="records",
    help="Trade records the rules read: orders and invoices, licences and licence exceptions, "
    "export declarations, end-user certificates, sites, payments, addresses.",
    no_args_is_help=True,
)

KINDS = ", ".join(k.value for k in SPECS)


def add(
    kind: Annotated[str, typer.Argument(help=f"Record kind: {KINDS}.")],
    file: Annotated[str, typer.Argument(help="JSON, JSON lines or CSV file ('-': stdin).")],
    fmt: Annotated[
        RecordFormat | None,
        typer.Option("--format", help="Input format (detected from the content when omitted)."),
    ] = None,
    party: Annotated[
        str | None,
        typer.Option("--party", help="Act for this party: every record must name it."),
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Validate and store trade records in one transaction (a bad row stores nothing).

    Example: chiptrail records add order orders.csv --db demo.db
    """
    data, database = read_input(file), open_db(db)
    with working(f"validating and storing {kind} records from {file}"):
        result = service.ingest_records(
            database, parse_kind(kind), data, now=datetime.now(UTC), fmt=fmt, party=party
        )
    if json_out:
        emit_json(result.to_dict())
        return
    out_console.print(
        f"{result.added} {result.kind.value} record(s) stored, {result.unchanged} already stored"
    )


def list_(
    kind: Annotated[str | None, typer.Option("--kind", help=f"Only this kind: {KINDS}.")] = None,
    party: Annotated[
        str | None, typer.Option("--party", help="Only records naming this party.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Page size (1..1000).")] = 100,
    offset: Annotated[int, typer.Option("--offset", help="Records to skip.")] = 0,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """List stored trade records, oldest first (JSON lines; one object with --json).

    Example: chiptrail records list --kind licence --party P-1 --json
    """
    page = service.list_records(
        open_db(db),
        kind=parse_kind(kind) if kind else None,
        party=party,
        limit=limit,
        offset=offset,
    )
    if json_out:
        emit_json({"items": page.items, "total": page.total, "limit": limit, "offset": offset})
        return
    for item in page.items:
        emit_json(item, indent=None)


def formats(json_out: JsonOption = False) -> None:
    """Print the fields of every record kind (the CSV columns, in order).

    Example: chiptrail records formats --json
    """
    doc = {
        k.value: {
            "fields": list(s.field_names),
            "id": s.id_field,
            "dated_by": s.at_field,
            "parties": list(s.party_fields),
        }
        for k, s in SPECS.items()
    }
    if json_out:
        emit_json(doc)
        return
    for kind, spec in doc.items():
        out_console.print(f"{kind}: {','.join(spec['fields'])}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the root app."""
    records_app.command("add")(add)
    records_app.command("list")(list_)
    records_app.command("formats")(formats)
    app.add_typer(records_app)
