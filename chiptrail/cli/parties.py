"""CLI commands of the parties capability (registered on the root app by ``register``).

``chiptrail screen``, ``chiptrail lists update|load|show`` and
``chiptrail parties add|show|owners|aggregate|tenancy``; each calls one service function.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from chiptrail.cli.context import (
    DbOption,
    JsonOption,
    emit_json,
    err_console,
    open_db,
    open_output,
    out_console,
    read_input,
    working,
)
from chiptrail.cli.errors import EXIT_FINDING
from chiptrail.cli.output import print_screen_result
from chiptrail.countries import parse_country
from chiptrail.errors import InvalidInput
from chiptrail.parties.formats.detect import ListFormat
from chiptrail.parties.screening import DEFAULT_THRESHOLD, Query, ScreeningIndex
from chiptrail.service.ledger.custody_records import custody_source
from chiptrail.service.parties import graph as graph_service
from chiptrail.service.parties import lists as service

lists_app = typer.Typer(
    name="lists", help="Restricted-party lists: update, load, show.", no_args_is_help=True
)
parties_app = typer.Typer(
    name="parties",
    help="Parties and the ownership graph: add, show, owners, aggregate, tenancy.",
    no_args_is_help=True,
)

FormatOption = Annotated[
    ListFormat | None,
    typer.Option("--format", help="List file format (detected from the file when omitted)."),
]


def _now() -> datetime:
    return datetime.now(UTC)


def _index(db: str | None, list_file: str | None, fmt: ListFormat | None) -> ScreeningIndex:
    if list_file:
        return service.build_file_index(read_input(list_file), fmt)
    return service.build_stored_index(open_db(db))


def _read_queries(path: str) -> list[Query]:
    text = read_input(path).decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"query_id", "name"} <= set(reader.fieldnames):
        raise InvalidInput(f"{path}: needs the header query_id,name[,country]", {"path": path})
    out = []
    for row in reader:
        country = (row.get("country") or "").strip()
        out.append(
            Query(
                row["query_id"],
                row["name"] or "",
                parse_country(country, f"{path} country") if country else None,
            )
        )
    return out


def screen(
    name: Annotated[str | None, typer.Argument(help="Name to screen (omit with --names).")] = None,
    country: Annotated[
        str | None, typer.Option("--country", help="ISO2 country of the party (evidence).")
    ] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="Address of the party (evidence).")
    ] = None,
    identifier: Annotated[
        list[str] | None,
        typer.Option(
            "--identifier", help="Registration number, LEI, USCC ... (evidence; repeatable)."
        ),
    ] = None,
    person: Annotated[
        bool, typer.Option("--person", help="The name is a person's (titles are dropped).")
    ] = False,
    list_file: Annotated[
        str | None,
        typer.Option("--list", help="Screen against this list file instead of stored lists."),
    ] = None,
    fmt: FormatOption = None,
    names: Annotated[
        str | None, typer.Option("--names", help="Batch: CSV with query_id,name[,country].")
    ] = None,
    out: Annotated[
        str, typer.Option("--out", help="Batch output CSV (query_id,entity_id,score,...).")
    ] = "-",
    threshold: Annotated[
        float, typer.Option("--threshold", help="Minimum score in [0, 1].")
    ] = DEFAULT_THRESHOLD,
    limit: Annotated[int, typer.Option("--limit", help="Matches per name.")] = 10,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Screen names against restricted-party lists (fuzzy, transliterated, explained).

    Exit codes: 1 when any name matches at or above the threshold, 0 when none does, 2 bad input.

    Example: chiptrail screen "华为技术有限公司" --country CN --json
    """
    if (name is None) == (names is None):
        raise InvalidInput("give a NAME or --names FILE (not both)", {"field": "name"})
    queries = (
        _read_queries(names)
        if names
        else [
            Query(
                "1",
                name or "",
                parse_country(country) if country else None,
                address or None,
                tuple(identifier or ()),
                "Person" if person else None,
            )
        ]
    )
    with working("reading the screening index") as step:
        index = _index(db, list_file, fmt)
        step(f"screening {len(queries):,} name(s)")
        results = service.screen_names(index, queries, threshold=threshold, limit=limit)
    if names:
        _write_matches(results, out)
    elif as_json:
        emit_json(service.to_wire(results[0]))
    else:
        print_screen_result(results[0], out_console)
    if any(r.is_hit for r in results):
        raise typer.Exit(EXIT_FINDING)


def _write_matches(results: list[service.ScreenResult], out: str) -> None:
    stream = open_output(out)
    try:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["query_id", "entity_id", "score", "list", "matched_name", "listed_on"])
        for r in results:
            for m in r.matches:
                listed = m.listed_on.isoformat() if m.listed_on else ""
                writer.writerow(
                    [
                        r.query.query_id,
                        m.party_id,
                        f"{m.score:.6f}",
                        m.list_id,
                        m.matched_name,
                        listed,
                    ]
                )
    finally:
        if out != "-":
            stream.close()
    hits = sum(1 for r in results if r.is_hit)
    err_console.print(f"{len(results)} names screened, {hits} with matches")


@lists_app.command("update")
def lists_update(
    from_file: Annotated[
        str | None, typer.Option("--from", help="Load this local file instead of downloading.")
    ] = None,
    fmt: FormatOption = None,
    list_id: Annotated[str | None, typer.Option("--list-id", help="Stored list id.")] = None,
    timeout_s: Annotated[float, typer.Option("--timeout-s", help="Download timeout.")] = 30.0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Download the official lists (trade.gov CSL, OFAC SDN) and swap them in, or load --from FILE.

    Offline, the download fails with exit code 69 and a message; nothing stored is changed.

    Example: chiptrail lists update --from consolidated.csv --format csl-csv
    """
    database = open_db(db)
    with working(f"loading {from_file}" if from_file else "downloading the official lists"):
        if from_file:
            results = [
                service.load_list(
                    database,
                    read_input(from_file),
                    now=_now(),
                    fmt=fmt,
                    list_id=list_id,
                    source=from_file,
                )
            ]
        else:
            ids = [list_id] if list_id else []
            results = service.update_lists(database, now=_now(), list_ids=ids, timeout_s=timeout_s)
    _report_loads(results, as_json)


@lists_app.command("load")
def lists_load(
    files: Annotated[list[Path], typer.Argument(help="List files to load (one list each).")],
    fmt: FormatOption = None,
    list_id: Annotated[
        str | None, typer.Option("--list-id", help="Stored list id (one file only).")
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="Human title.")] = None,
    ofac_alt: Annotated[
        str | None, typer.Option("--ofac-alt", help="OFAC alt.csv to read with sdn.csv.")
    ] = None,
    ofac_add: Annotated[
        str | None, typer.Option("--ofac-add", help="OFAC add.csv to read with sdn.csv.")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load list files (CSL CSV/JSON, OFAC sdn.csv, FtM JSON lines, US-lists JSON).

    Every file is parsed before any list is stored: a file that is not a list (e.g. an index
    file) is named and nothing is stored. Progress goes to stderr.

    Example: chiptrail lists load sdn.csv --ofac-alt alt.csv --ofac-add add.csv
    """
    if list_id and len(files) > 1:
        raise InvalidInput("--list-id names one list: give one file", {"field": "list_id"})
    database = open_db(db)
    if ofac_alt or ofac_add:
        if len(files) != 1:
            raise InvalidInput("--ofac-alt/--ofac-add go with exactly one sdn.csv")
        with working(f"loading {files[0]} with its alt/add files"):
            result = service.load_ofac_sdn(
                database,
                read_input(str(files[0])),
                now=_now(),
                alt=read_input(ofac_alt) if ofac_alt else None,
                add=read_input(ofac_add) if ofac_add else None,
                list_id=list_id or "ofac-sdn",
                source=str(files[0]),
            )
        _report_loads([result], as_json)
        return
    with working(f"loading {len(files)} list file(s)") as step:

        def progress(msg: str) -> None:
            err_console.print(msg, highlight=False)
            step(msg)

        results = service.load_lists(
            database,
            [(str(f), read_input(str(f))) for f in files],
            now=_now(),
            fmt=fmt,
            list_id=list_id,
            title=title,
            progress=progress,
        )
    _report_loads(results, as_json)


def _report_loads(results: list[service.LoadResult], as_json: bool) -> None:
    if as_json:
        emit_json(service.to_wire(results))
        return
    for r in results:
        verb = "replaced" if r.replaced else "loaded"
        out_console.print(f"{verb} {r.list_id} ({r.format}): {r.entries} entries")
        for w in r.warnings[:20]:
            err_console.print(f"  [yellow]warning[/] {w}", highlight=False)


@lists_app.command("show")
def lists_show(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Show the stored lists: id, format, entries, source, load time.

    Example: chiptrail lists show --json
    """
    rows = service.list_lists(open_db(db))
    if as_json:
        emit_json(service.to_wire(rows))
        return
    if not rows:
        out_console.print("no lists loaded")
    for r in rows:
        out_console.print(
            f"{r.list_id:28} {r.format:14} {r.entry_count:6} entries  "
            f"{r.loaded_at:%Y-%m-%d %H:%M}  {r.source}"
        )


@parties_app.command("add")
def parties_add(
    file: Annotated[str, typer.Argument(help="FtM entities, JSON lines ('-' for stdin).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add parties, ownerships and directorships (FollowTheMoney JSON lines).

    Example: chiptrail parties add customers.ftm.jsonl
    """
    text = read_input(file).decode("utf-8-sig")
    entities = []
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                entities.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{file} line {n}: not JSON ({exc.msg})") from exc
    result = graph_service.add_parties(open_db(db), entities)
    if as_json:
        emit_json(service.to_wire(result))
        return
    out_console.print(
        f"added {result.parties} parties, {result.ownerships} ownerships, "
        f"{result.directorships} directorships"
    )
    for w in result.warnings:
        err_console.print(f"[yellow]warning[/] {w}", highlight=False)


@parties_app.command("show")
def parties_show(
    party_id: Annotated[str, typer.Argument(help="Party id.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a party: owners, subsidiaries, ultimate parents, restrictions and their paths.

    Exit code 1 when the party is restricted (listed or 50%-owned by restricted parties).

    Example: chiptrail parties show co-sub --json
    """
    view = graph_service.get_party(open_db(db), party_id)
    if as_json:
        emit_json(service.to_wire(view))
    else:
        p = view.party
        out_console.print(f"[bold]{p.name}[/] {p.party_id} ({p.schema}) {','.join(p.countries)}")
        for o in view.owners:
            out_console.print(f"  owned by {o.owner_id} {o.percentage or '?'}%")
        for o in view.subsidiaries:
            out_console.print(f"  owns {o.asset_id} {o.percentage or '?'}%")
        out_console.print(f"  ultimate parents: {', '.join(view.ultimate_parents.parents)}")
        for r in view.restrictions:
            out_console.print(f"  [red]restricted[/]: {r.explanation}", highlight=False)
        for f in view.control_flags:
            out_console.print(f"  [yellow]control[/]: {f.director_id} ({f.role}) on {f.list_id}")
    if view.is_restricted:
        raise typer.Exit(EXIT_FINDING)


@parties_app.command("owners")
def parties_owners(
    party_id: Annotated[str, typer.Argument(help="Party id.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ultimate parents of a party (50%-or-more control, aggregated), with the paths.

    Example: chiptrail parties owners co-sub
    """
    result = graph_service.get_owners(open_db(db), party_id)
    if as_json:
        emit_json(service.to_wire(result))
        return
    cycle = " (ownership cycle)" if result.in_cycle else ""
    out_console.print(f"ultimate parents of {party_id}: {', '.join(result.parents)}{cycle}")
    for path in result.paths:
        chain = " -> ".join(f"{s.owner_id} ({s.percentage or '?'}%)" for s in path)
        out_console.print(f"  {chain} -> {party_id}")


@parties_app.command("aggregate")
def parties_aggregate(
    party_id: Annotated[str, typer.Argument(help="Any party of the group.")],
    window_days: Annotated[float, typer.Option("--window-days", help="Rolling window.")] = 30.0,
    lookback_days: Annotated[float, typer.Option("--lookback-days", help="History.")] = 365.0,
    threshold_chips: Annotated[
        int, typer.Option("--threshold-chips", help="Per-buyer structuring threshold.")
    ] = 2000,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Chips and cloud chip-hours per ultimate parent and rolling window; split-order findings.

    Exit code 1 when a structuring (split-orders) finding is made.

    Example: chiptrail parties aggregate co-sub --window-days 30 --json
    """
    if window_days <= 0 or lookback_days <= 0:
        raise InvalidInput("--window-days and --lookback-days must be positive")
    database = open_db(db)
    view = graph_service.aggregate_party(
        database,
        party_id,
        now=_now(),
        window=timedelta(days=window_days),
        lookback=timedelta(days=lookback_days),
        threshold_chips=threshold_chips,
        custody=custody_source(database),
    )
    if as_json:
        emit_json(service.to_wire(view))
    else:
        out_console.print(f"group of {party_id}: parents {', '.join(view.ultimate_parents)}")
        for v in view.volumes:
            out_console.print(
                f"  {v.parent_id}: {v.chips} chips ({v.h100_equivalents:.1f} H100-eq), "
                f"{v.chip_hours:.0f} chip-hours ({v.h100_equivalent_hours:.0f} H100-eq hours) "
                f"in {window_days:g} days to {v.window_end_at:%Y-%m-%d}"
            )
        for f in view.structuring:
            out_console.print(f"  [red]split-orders[/]: {f.explanation}", highlight=False)
    if view.structuring:
        raise typer.Exit(EXIT_FINDING)


@parties_app.command("tenancy")
def parties_tenancy(
    file: Annotated[
        str,
        typer.Argument(
            help="CSV: operator_id,tenant_id,chip_model,chip_hours,period_start_at,period_end_at."
        ),
    ],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store cloud tenancy reports (who rented how many chip-hours of which model).

    Example: chiptrail parties tenancy tenancy-2026-06.csv
    """
    records = graph_service.load_tenancy_csv(read_input(file).decode("utf-8-sig"))
    stored = graph_service.report_tenancy(open_db(db), records, now=_now())
    if as_json:
        emit_json({"stored": stored})
    else:
        out_console.print(f"stored {stored} tenancy reports")


def register(app: typer.Typer) -> None:
    """Add this capability's commands and groups to the root app."""
    app.command("screen")(screen)
    app.add_typer(lists_app)
    app.add_typer(parties_app)
