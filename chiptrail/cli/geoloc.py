"""CLI of location verification from RTTs: ``chiptrail geoloc locate|verify|plan|map``.

Commands parse files, call one function of ``chiptrail.service.location.geoloc`` and render; data
goes to stdout (JSON lines), progress and rejected rows to stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from chiptrail.cli.context import (
    GridOpt,
    JsonOption,
    emit_json,
    err_console,
    get_settings,
    open_output,
    out_console,
    read_input,
    to_json,
)
from chiptrail.errors import InvalidInput
from chiptrail.geoloc import (
    LocateOptions,
    RowError,
    RttModel,
    parse_landmarks_csv,
    parse_pairs_csv,
    parse_rtt_csv,
    parse_sites_csv,
)
from chiptrail.service.location import geoloc as service

geoloc_app = typer.Typer(
    name="geoloc",
    help="Location verification from round-trip times: proven and likely regions, verdicts.",
    no_args_is_help=True,
)

LandmarksOpt = Annotated[
    Path, typer.Option("--landmarks", help="landmarks.csv: landmark_id,lat,lon[,country]")
]
RttOpt = Annotated[Path, typer.Option("--rtt", help="rtt.csv: target_id,landmark_id,rtt_ms")]
CalibrateOpt = Annotated[
    Path | None,
    typer.Option(
        "--calibrate",
        help="Landmark-to-landmark RTTs in the rtt.csv form: vets the landmarks and fits "
        "the likely (CBG bestline) bounds.",
    ),
]
StrictOpt = Annotated[
    bool,
    typer.Option("--strict", help="Fail (exit 2) on any bad row instead of skipping it."),
]
LiarsOpt = Annotated[
    int,
    typer.Option(
        "--max-liars", min=0, help="Tolerate this many lying landmarks per target (default 0)."
    ),
]


def _report(errors: tuple[RowError, ...]) -> None:
    for e in errors[:50]:
        err_console.print(f"[yellow]skipped[/] {e}", highlight=False)
    if len(errors) > 50:
        err_console.print(f"[yellow]... and {len(errors) - 50} more skipped rows[/]")


def _run(
    landmarks: Path,
    rtt: Path,
    calibrate: Path | None,
    strict: bool,
    options: LocateOptions,
) -> service.LocateRun:
    lm, lm_errs = parse_landmarks_csv(read_input(str(landmarks)).decode("utf-8"))
    table, rtt_errs = parse_rtt_csv(read_input(str(rtt)).decode("utf-8"), lm)
    cal = None
    cal_errs: tuple[RowError, ...] = ()
    if calibrate is not None:
        cal, cal_errs = parse_rtt_csv(
            read_input(str(calibrate)).decode("utf-8"), lm, source="calibrate"
        )
    errors = lm_errs + rtt_errs + cal_errs
    borders = service.load_borders(get_settings()) if options.with_countries else None
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("locating", total=len(table.target_ids))
        run = service.locate_measurements(
            lm,
            table,
            cal,
            errors=errors,
            options=options,
            borders=borders,
            strict=strict,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    _report(run.errors)
    if run.vetting is not None:
        for ex in run.vetting.excluded:
            err_console.print(f"[yellow]excluded landmark[/] {ex.landmark_id}: {ex.reason}")
    return run


@geoloc_app.command("locate")
def locate_cmd(
    landmarks: LandmarksOpt,
    rtt: RttOpt,
    calibrate: CalibrateOpt = None,
    out: Annotated[str, typer.Option("--out", help="Output JSON lines ('-' = stdout).")] = "-",
    strict: StrictOpt = False,
    max_liars: LiarsOpt = 0,
    grid_size: GridOpt = 24,
) -> None:
    """Locate every target: point estimate, proven and likely countries, one JSON line each.

    Example: chiptrail geoloc locate --landmarks L.csv --rtt R.csv --calibrate LL.csv --out O.jsonl
    """
    opts = LocateOptions(grid_size=grid_size, max_liars=max_liars)
    run = _run(landmarks, rtt, calibrate, strict, opts)
    stream = open_output(out)
    try:
        for row in run.rows():
            stream.write(to_json(row, indent=None) + "\n")
    finally:
        if stream is not out_console.file and out != "-":
            stream.close()
    err_console.print(f"located {len(run.result)} target(s)")


@geoloc_app.command("verify")
def verify_cmd(
    landmarks: LandmarksOpt,
    rtt: RttOpt,
    sites: Annotated[
        Path,
        typer.Option("--sites", help="Declared sites CSV: target_id,lat,lon,country[,radius_km]"),
    ],
    calibrate: CalibrateOpt = None,
    out: Annotated[str, typer.Option("--out", help="Output JSON lines ('-' = stdout).")] = "-",
    strict: StrictOpt = False,
    max_liars: LiarsOpt = 0,
) -> None:
    """Judge each target against its declared site: VIOLATION, SUSPECT, VERIFIED, UNVERIFIED.

    Exit code 1 when any target is a VIOLATION.

    Example: chiptrail geoloc verify --landmarks L.csv --rtt R.csv --sites S.csv --calibrate LL.csv
    """
    declared, site_errs = parse_sites_csv(read_input(str(sites)).decode("utf-8"))
    service.raise_if_strict(site_errs, strict)
    _report(site_errs)
    opts = LocateOptions(max_liars=max_liars)
    run = _run(landmarks, rtt, calibrate, strict, opts)
    rows, errs = service.verify_sites(run, declared, options=opts, strict=strict)
    _report(errs)
    stream = open_output(out)
    counts: dict[str, int] = {}
    try:
        for r in rows:
            stream.write(to_json(r.to_json(), indent=None) + "\n")
            counts[r.verdict.verdict.value] = counts.get(r.verdict.verdict.value, 0) + 1
    finally:
        if out != "-":
            stream.close()
    err_console.print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "no targets")
    if counts.get("VIOLATION"):
        raise typer.Exit(1)


@geoloc_app.command("plan")
def plan_cmd(
    deployed: Annotated[Path, typer.Option("--deployed", help="Running landmarks (CSV).")],
    candidates: Annotated[Path, typer.Option("--candidates", help="Candidate sites (CSV).")],
    pairs: Annotated[
        Path,
        typer.Option("--pairs", help="Pairs CSV: a_name,a_lat,a_lon,b_name,b_lat,b_lon"),
    ],
    overhead_ms: Annotated[
        float, typer.Option("--overhead-ms", min=0.0, help="Best-case fixed RTT overhead.")
    ] = 0.2,
    strict: StrictOpt = False,
    json_out: JsonOption = False,
) -> None:
    """Which place pairs the landmarks tell apart, and the fewest candidates to add for the rest.

    Example: chiptrail geoloc plan --deployed L.csv --candidates C.csv --pairs P.csv --json
    """
    dep, e1 = parse_landmarks_csv(read_input(str(deployed)).decode("utf-8"))
    cand, e2 = parse_landmarks_csv(read_input(str(candidates)).decode("utf-8"))
    pp, e3 = parse_pairs_csv(read_input(str(pairs)).decode("utf-8"))
    service.raise_if_strict(e1 + e2 + e3, strict)
    _report(e1 + e2 + e3)
    plan = service.plan_deployment(dep, cand, pp, RttModel(overhead_ms=overhead_ms))
    data = service.plan_to_json(plan)
    if json_out:
        emit_json(data)
        return
    for s in plan.planned:
        before = next(c for c in plan.current if c.pair == s.pair)
        mark = "yes" if before.separated else ("added" if s.separated else "NO")
        out_console.print(f"{s.pair.label:40s} {mark:6s} {s.landmark_id or '-'}")
    out_console.print("add: " + (", ".join(plan.additions) or "nothing"))


@geoloc_app.command("map")
def map_cmd(
    landmarks: LandmarksOpt,
    rtt: RttOpt,
    target: Annotated[str, typer.Option("--target", help="Target id to draw.")],
    out: Annotated[Path, typer.Option("--out", help="Output file: .html, .svg, .png or .geojson")],
    calibrate: CalibrateOpt = None,
    strict: StrictOpt = False,
) -> None:
    """Draw a target's proven and likely regions, landmarks, disks and country outlines (offline).

    Example: chiptrail geoloc map --landmarks L.csv --rtt R.csv --target chip-1 --out chip-1.html
    """
    run = _run(landmarks, rtt, calibrate, strict, LocateOptions())
    if target not in run.result.target_ids:
        raise InvalidInput(f"target {target!r} has no valid measurement", {"target": target})
    doc = service.render_target(run, target, out.suffix.lower())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(doc)
    err_console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add this capability's commands and groups to the root app."""
    app.add_typer(geoloc_app)
