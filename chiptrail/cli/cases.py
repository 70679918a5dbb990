"""CLI of the analyst's cases: ``cases list`` and ``cases file`` (the HTML or PDF case file)."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from chiptrail.cli.context import (
    DbOption,
    JsonOption,
    emit_json,
    get_settings,
    open_db,
    out_console,
)
from chiptrail.errors import InvalidInput
from chiptrail.service.alerts import casefile
from chiptrail.service.alerts import findings as service
from chiptrail.service.alerts.cases import CaseFilter

cases_app = typer.Typer(
    help="Incident cases: list them, export a case file (HTML or PDF).", no_args_is_help=True
)

FORMATS = ("html", "pdf")


@cases_app.command("list")
def list_command(
    db: DbOption = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="open, assigned, confirmed or false_alarm.")
    ] = None,
    q: Annotated[str | None, typer.Option("--q", help="Words in names, ids, chips, rules.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Page size.")] = 50,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many.")] = 0,
    json_out: JsonOption = False,
) -> None:
    """List cases, most urgent first (the dashboard's queue).

    Example: chiptrail cases list --channel transshipment
    """
    database = open_db(db)
    try:
        flt = CaseFilter(status, channel, None, None, None, None, None, None, q)
        page = service.list_cases(database, flt=flt, sort="rank", limit=limit, offset=offset)
    finally:
        database.dispose()
    if json_out:
        emit_json(
            {"items": page.items, "total": page.total, "limit": page.limit, "offset": page.offset}
        )
        return
    table = Table(title=f"{page.total} cases", title_justify="left")
    for col in ("rank", "id", "severity", "status", "channels", "chips", "title"):
        table.add_column(col, overflow="fold")
    for c in page.items:
        table.add_row(
            str(c["rank"]),
            c["id"],
            c["severity"],
            c["status"],
            ", ".join(c["channels"]),
            str(c["chip_count"]),
            c["title"],
        )
    out_console.print(table)


def _format(out: str, fmt: str | None) -> str:
    chosen = fmt or ("pdf" if out.lower().endswith(".pdf") else "html")
    if chosen not in FORMATS:
        raise InvalidInput(f"--format must be one of {', '.join(FORMATS)}", {"field": "format"})
    return chosen


def _write(out: str, data: bytes) -> None:
    """Write ``data`` to ``out`` whole or not at all (a temporary file renamed into place)."""
    if out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


@cases_app.command("file")
def file_command(
    case_id: Annotated[str, typer.Argument(help="Case id (see `chiptrail cases list`).")],
    out: Annotated[
        str | None,
        typer.Option("--out", help="Output file; - for stdout (default chiptrail-case-ID.html)."),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="html or pdf (default: from the --out suffix, else html)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Export one case file: timeline, evidence, list provenance and the Merkle proofs that let a
    third party verify it offline (signs a checkpoint at the current log size).

    Example: chiptrail cases file 3f46e30a616c571034aaf991 --out case.pdf
    """
    kind = _format(out or "", fmt)
    target = out or f"chiptrail-case-{case_id}.{kind}"
    database = open_db(db)
    now = datetime.now(UTC)
    try:
        if kind == "pdf":
            from chiptrail.service.alerts import casepdf  # fpdf2 takes about 1 s to import

            data = casepdf.build_case_pdf(database, get_settings(db), case_id, now=now)
        else:
            page = casefile.build_case_file(database, get_settings(db), case_id, now=now)
            data = page.encode("utf-8")
    finally:
        database.dispose()
    _write(target, data)
    if target != "-":
        out_console.print(f"case file written: {target} ({len(data)} bytes, {kind})")


def register(app: typer.Typer) -> None:
    """Add the ``cases`` group."""
    app.add_typer(cases_app, name="cases")
