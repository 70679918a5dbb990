"""CLI of the rules capability: ``demo``, ``evaluate``, ``rules list|run``, ``findings ...``."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.status import Status
from rich.table import Table

from chiptrail.cli.context import (
    DbOption,
    JsonOption,
    emit_json,
    err_console,
    get_settings,
    open_db,
    open_output,
    out_console,
    read_input,
    working,
)
from chiptrail.errors import InvalidInput
from chiptrail.rules.export import to_jsonl
from chiptrail.service.alerts import findings as rules_service
from chiptrail.service.alerts import view as rules_view_service
from chiptrail.service.demo import redteam as redteam_service
from chiptrail.service.demo import run as demo_service
from chiptrail.types import Severity

rules_app = typer.Typer(
    help="Diversion rules: list them, run them over a world view.", no_args_is_help=True
)
findings_app = typer.Typer(help="Stored findings: list and export.", no_args_is_help=True)

_SEV_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "dim",
    "info": "dim",
}


def _reporter(status: Status) -> Callable[[str], None]:
    def report(msg: str) -> None:
        status.update(msg)
        err_console.print(f"[dim]{datetime.now(UTC):%H:%M:%S}[/] {msg}", highlight=False)

    return report


def demo(
    db: DbOption = None,
    chips: Annotated[int, typer.Option("--chips", help="Chips in the simulated world.")] = (
        demo_service.DEFAULT_CHIPS
    ),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the world.")] = (
        demo_service.DEFAULT_SEED
    ),
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the HTML report (default: <data dir>/reports)."),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Simulate a world with every smuggling channel, run the whole pipeline, score detection.

    Prints the ranked findings per channel, the report's path and a detection table
    (injected, caught, missed, false alarms per channel); --json prints one JSON object.

    Example: chiptrail demo --chips 2000 --seed 7
    """
    settings = get_settings(db)
    out_dir = out or settings.data_dir / "reports" / f"demo-{seed}"
    database = open_db(db, create=True)
    try:
        with err_console.status("chiptrail demo", spinner="dots") as status:
            result = demo_service.run_demo(
                database,
                chips=chips,
                seed=seed,
                out_dir=out_dir,
                progress=_reporter(status),
            )
    finally:
        database.dispose()
    if json_out:
        emit_json(result.to_json())
        return
    _print_findings(result)
    _print_detection(result)
    out_console.print(f"report: {result.report_path}")
    out_console.print(f"database: {result.database}")
    serve = "chiptrail serve" + ("" if db is None else f" --db {db}")
    out_console.print(f"dashboard: run `{serve}`, then open http://127.0.0.1:8000/ui/")


def _print_findings(result: demo_service.DemoResult, per_channel: int = 4) -> None:
    for channel in result.detection.channels:
        own = [f for f in result.findings if f.channel == channel]
        counts = Counter(f.rule for f in own)
        rules = ", ".join(f"{r} x{n}" for r, n in sorted(counts.items()))
        out_console.print(f"\n[bold]{channel}[/]: {len(own)} findings ({rules or 'none'})")
        for f in own[:per_channel]:
            sev = f.severity.value
            out_console.print(
                f"  [{_SEV_STYLE[sev]}]{sev:<8}[/] {f.rule:<26} {f.subject}: {f.explanation}",
                highlight=False,
            )
        if len(own) > per_channel:
            out_console.print(f"  ... and {len(own) - per_channel} more (chiptrail findings list)")


def _print_detection(result: demo_service.DemoResult) -> None:
    table = Table(title="detection", title_justify="left")
    for col in ("channel", "injected", "caught", "missed", "false alarms"):
        table.add_column(col, justify="left" if col == "channel" else "right")
    for k, v in result.detection.channels.items():
        style = "green" if v.missed == 0 else "red"
        table.add_row(
            k, str(v.injected), f"[{style}]{v.caught}[/]", str(v.missed), str(v.false_alarms)
        )
    out_console.print(table)
    d = result.detection
    out_console.print(
        f"false-alarm rate: {d.false_alarm_rate:.2%} of {d.legit_chips} legitimate chips "
        f"({d.legit_chips_flagged} flagged)"
    )


def evaluate(
    chips: Annotated[int, typer.Option("--chips", help="Chips per simulated world.")] = 2000,
    seeds: Annotated[int, typer.Option("--seeds", help="Number of worlds (seeds 1..K).")] = 3,
    adversary: Annotated[
        str, typer.Option("--adversary", help="naive (press-report patterns) or evasive.")
    ] = "naive",
    json_out: JsonOption = False,
) -> None:
    """Run several seeded worlds and report precision, recall and time-to-detection per channel.

    Example: chiptrail evaluate --chips 2000 --seeds 5 --adversary evasive
    """
    with err_console.status("chiptrail evaluate", spinner="dots") as status:
        result = demo_service.evaluate_scenarios(
            chips, seeds, progress=_reporter(status), adversary=adversary
        )
    if json_out:
        emit_json(result)
        return
    table = Table(title=f"{seeds} worlds of {chips} chips", title_justify="left")
    for col in (
        "channel",
        "injected",
        "caught",
        "recall",
        "precision",
        "false alarms",
        "median days",
        "max days",
    ):
        table.add_column(col)
    for k, v in result["channels"].items():
        table.add_row(
            k,
            *(
                str(v[c])
                for c in (
                    "injected",
                    "caught",
                    "recall",
                    "precision",
                    "false_alarms",
                    "ttd_days_median",
                    "ttd_days_max",
                )
            ),
        )
    out_console.print(table)
    out_console.print(
        f"false-alarm rate: mean {result['false_alarm_rate_mean']:.2%}, "
        f"max {result['false_alarm_rate_max']:.2%}"
    )


def redteam(
    chips: Annotated[int, typer.Option("--chips", help="Chips per simulated world.")] = 1000,
    seeds: Annotated[int, typer.Option("--seeds", help="Worlds per knob level.")] = 2,
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibrate",
            help="Instead: set the alert threshold from a false-alarm budget on naive worlds.",
        ),
    ] = False,
    budget: Annotated[
        float, typer.Option("--budget", help="With --calibrate: share of legitimate chips.")
    ] = 0.005,
    json_out: JsonOption = False,
) -> None:
    """Search each channel's evasion knob for the cheapest evasion that still escapes.

    Reports per channel the recall at each knob value and what the smuggler can still move
    undetected. Seeds 201.. (evasive); --calibrate uses the tuning family (naive, seeds 101-103).

    Example: chiptrail redteam --chips 1000 --seeds 2 --json
    """
    with err_console.status("chiptrail redteam", spinner="dots") as status:
        if calibrate:
            result = redteam_service.calibrate_threshold(
                chips, budget=budget, progress=_reporter(status)
            )
        else:
            result = redteam_service.run_redteam(chips, seeds, progress=_reporter(status))
    if json_out or calibrate:
        emit_json(result)
        return
    table = Table(title=f"red team: {seeds} evasive worlds of {chips} chips per level")
    for col in ("channel", "recall by knob value", "cheapest evasion that escapes"):
        table.add_column(col)
    for ch in result["channels"]:
        recall = ", ".join(f"{k}: {v}" for k, v in ch["recall_by_value"].items())
        table.add_row(ch["channel"], f"{ch['knob']} {recall}", ch["escape_cost"])
    out_console.print(table)


@rules_app.command("list")
def list_command(json_out: JsonOption = False) -> None:
    """List every rule with its channel and description.

    Example: chiptrail rules list --json
    """
    rules = rules_service.list_rules()
    if json_out:
        emit_json(rules)
        return
    table = Table()
    for col in ("rule", "channel", "description"):
        table.add_column(col, overflow="fold")
    for r in rules:
        table.add_row(r["rule"], r["channel"], r["title"])
    out_console.print(table)


@rules_app.command("run")
def run_command(
    view: Annotated[
        str | None,
        typer.Option("--view", help="World view JSON (- for stdin); default: the stored state."),
    ] = None,
    db: DbOption = None,
    now: Annotated[
        str | None,
        typer.Option("--now", help="ISO 8601 time the rules judge at (default: now, UTC)."),
    ] = None,
    store: Annotated[
        bool, typer.Option("--store", help="Replace the stored findings with these.")
    ] = False,
    fail_on: Annotated[
        str | None, typer.Option("--fail-on", help="Exit 1 if any finding is this severe.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Run every rule over the stored ledger, verdicts, parties and tenancy (or a --view file).

    Prints the findings as JSON lines; --json prints one object with the findings, the case
    count and how many inputs of each kind the view held. A view file is written by
    ``chiptrail demo`` next to its report (view.json).

    Example: chiptrail rules run --db chiptrail.db --now 2026-11-25T00:00:00Z --fail-on high
    """
    threshold = _severity(fail_on) if fail_on else None
    at = _parse_now(now)
    if view is not None:
        data = read_input(view)
        database = open_db(db) if store else None
        try:
            with working(f"running the rules over {view}"):
                found = rules_service.run_rules_on_view(database, data, store=store, now=at)
        finally:
            if database is not None:
                database.dispose()
        if json_out:
            emit_json({"findings": [f.to_dict() for f in found], "finding_count": len(found)})
        else:
            sys.stdout.write(to_jsonl(found))
    else:
        database = open_db(db)
        try:
            with working("rules run") as step:
                run = rules_view_service.run_rules_on_store(
                    database, now=at, store=store, progress=step
                )
        finally:
            database.dispose()
        found = run.findings
        if json_out:
            emit_json(rules_view_service.store_run_to_json(run))
        else:
            sys.stdout.write(to_jsonl(found))
    if threshold is not None and any(f.severity.rank >= threshold.rank for f in found):
        raise typer.Exit(1)


def _parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"--now {value!r} is not an ISO 8601 time", {"field": "now"}) from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _severity(value: str) -> Severity:
    try:
        return Severity(value)
    except ValueError as exc:
        names = ", ".join(s.value for s in Severity)
        raise InvalidInput(f"--fail-on must be one of {names}", {"field": "fail_on"}) from exc


@findings_app.command("list")
def findings_list(
    db: DbOption = None,
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule id.")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel.")] = None,
    severity: Annotated[
        str | None, typer.Option("--severity", help="At least this severity.")
    ] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="Only this subject.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Page size.")] = 50,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many.")] = 0,
    json_out: JsonOption = False,
) -> None:
    """List stored findings, most severe first.

    Example: chiptrail findings list --channel hand_carry --severity high
    """
    database = open_db(db)
    try:
        page = rules_service.list_findings(
            database,
            rule=rule,
            channel=channel,
            severity=severity,
            subject=subject,
            limit=limit,
            offset=offset,
        )
    finally:
        database.dispose()
    if json_out:
        emit_json(
            {"items": page.items, "total": page.total, "limit": page.limit, "offset": page.offset}
        )
        return
    table = Table(title=f"{page.total} findings", title_justify="left")
    for col in ("id", "severity", "rule", "subject", "explanation"):
        table.add_column(col, overflow="fold")
    for f in page.items:
        table.add_row(f["id"], f["severity"], f["rule"], f["subject"], f["explanation"])
    out_console.print(table)


@findings_app.command("export")
def findings_export(
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    out: Annotated[str, typer.Option("--out", help="Output file; - for stdout.")] = "-",
) -> None:
    """Export every stored finding as JSON lines (rule, severity, subject, evidence) or CSV.

    Example: chiptrail findings export --format csv --out findings.csv
    """
    if fmt not in {"jsonl", "csv"}:
        raise InvalidInput("--format must be jsonl or csv", {"field": "format"})
    database = open_db(db)
    try:
        text = rules_service.export_findings(database, fmt)
    finally:
        database.dispose()
    stream = open_output(out)
    try:
        stream.write(text)
    finally:
        if out != "-":
            stream.close()


def register(app: typer.Typer) -> None:
    """Add ``demo``, ``evaluate``, ``redteam``, the ``rules`` and ``findings`` groups."""
    app.command("demo")(demo)
    app.command("evaluate")(evaluate)
    app.command("redteam")(redteam)
    app.add_typer(rules_app, name="rules")
    app.add_typer(findings_app, name="findings")
