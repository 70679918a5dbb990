"""CLI of the batch capability: ``chiptrail batch locate|aggregate|simulate`` over Parquet.

Commands read options, call one function of ``chiptrail.batch.jobs`` and render its summary;
progress goes to stderr. ``--spark URL`` runs the same job on a Spark cluster (or ``local[N]``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from chiptrail.batch import jobs
from chiptrail.cli.context import GridOpt, JsonOption, emit_json, err_console, out_console, working
from chiptrail.geoloc import LocateOptions

batch_app = typer.Typer(
    name="batch",
    help="Location verdicts and volume aggregation over Parquet, locally or on Spark.",
    no_args_is_help=True,
)

SparkOpt = Annotated[
    str | None,
    typer.Option(
        "--spark",
        help="Run on Spark at this master URL (local[2], spark://host:7077); "
        "default: this machine, no Spark.",
    ),
]
OutOpt = Annotated[Path, typer.Option("--out", help="New output directory (must be empty).")]


def _bar() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def _print_counts(title: str, counts: dict[str, int]) -> None:
    shown = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "none"
    out_console.print(f"{title}: {shown}", highlight=False)


@batch_app.command("locate")
def locate_cmd(
    measurements: Annotated[
        Path, typer.Option("--measurements", help="Parquet measurement set (docs/batch.md).")
    ],
    landmarks: Annotated[
        Path, typer.Option("--landmarks", help="landmarks.csv: landmark_id,lat,lon[,country]")
    ],
    out: OutOpt,
    sites: Annotated[
        Path | None,
        typer.Option("--sites", help="Parquet of declared sites; listed chips get a verdict."),
    ] = None,
    spark: SparkOpt = None,
    grid_size: GridOpt = 24,
    max_liars: Annotated[
        int, typer.Option("--max-liars", min=0, help="Tolerate this many lying landmarks.")
    ] = 0,
    no_countries: Annotated[
        bool, typer.Option("--no-countries", help="Skip country attribution (faster).")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", min=1, help="Kernel processes on the local path (default 1: in-process)."
        ),
    ] = 1,
    json_out: JsonOption = False,
) -> None:
    """Locate every chip of a Parquet measurement set per day; write verdicts as Parquet.

    Exit code 1 when any chip is a VIOLATION.

    Example: chiptrail batch locate --measurements m/ --landmarks L.csv --out v/ --spark local[2]
    """
    opts = LocateOptions(grid_size=grid_size, max_liars=max_liars, with_countries=not no_countries)
    if spark is None:
        with _bar() as bar:
            task = bar.add_task("partitions", total=None, detail="")

            def progress(done: int, total: int, chips: int) -> None:
                bar.update(task, completed=done, total=total, detail=f"{chips:,} chips")

            summary = jobs.run_locate(
                measurements,
                landmarks,
                out,
                sites=sites,
                options=opts,
                progress=progress,
                workers=workers,
            )
    else:
        with working(f"locating on Spark at {spark}"):
            summary = jobs.run_locate(
                measurements,
                landmarks,
                out,
                sites=sites,
                spark_master=spark,
                options=opts,
                workers=workers,
            )
    if json_out:
        emit_json({"out": str(out), **asdict(summary)})
    else:
        out_console.print(
            f"{summary.chips:,} chip-days in {summary.partitions} partition(s) -> {out}"
        )
        _print_counts("status", summary.status)
        _print_counts("verdicts", summary.verdicts)
    if summary.verdicts.get("VIOLATION"):
        raise typer.Exit(1)


@batch_app.command("aggregate")
def aggregate_cmd(
    custody: Annotated[
        Path, typer.Option("--custody", help="Parquet custody set (docs/batch.md).")
    ],
    ownership: Annotated[
        Path, typer.Option("--ownership", help="FtM JSON lines with Ownership/Directorship links.")
    ],
    out: OutOpt,
    window_days: Annotated[
        int, typer.Option("--window-days", min=1, help="Rolling window length in days.")
    ] = 30,
    threshold: Annotated[
        int, typer.Option("--threshold", min=1, help="Split-orders threshold (chips per buyer).")
    ] = 2000,
    spark: SparkOpt = None,
    json_out: JsonOption = False,
) -> None:
    """Chips per ultimate parent in its busiest rolling window; flags split orders.

    Exit code 1 when any parent's busiest window is split across buyers under the threshold.

    Example: chiptrail batch aggregate --custody c/ --ownership owners.jsonl --out volumes/
    """
    window = dt.timedelta(days=window_days)
    if spark is None:
        with _bar() as bar:
            task = bar.add_task("custody rows", total=None, detail="")
            summary = jobs.run_aggregate(
                custody,
                ownership,
                out,
                window=window,
                threshold_chips=threshold,
                progress=lambda done: bar.update(task, completed=done),
            )
    else:
        with working(f"aggregating on Spark at {spark}"):
            summary = jobs.run_aggregate(
                custody,
                ownership,
                out,
                window=window,
                threshold_chips=threshold,
                spark_master=spark,
            )
    if json_out:
        emit_json({"out": str(out), **asdict(summary)})
    else:
        out_console.print(
            f"{summary.parents:,} parent(s) from {summary.records:,} custody record(s) -> {out}; "
            f"split orders: {summary.split_orders}",
            highlight=False,
        )
    if summary.split_orders:
        raise typer.Exit(1)


@batch_app.command("simulate")
def simulate_cmd(
    chips: Annotated[int, typer.Option("--chips", min=1, help="Number of chips.")],
    out: OutOpt,
    landmarks: Annotated[
        int, typer.Option("--landmarks", min=1, help="Number of landmarks (spread worldwide).")
    ] = 16,
    days: Annotated[int, typer.Option("--days", min=1, help="Days of daily probes.")] = 1,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    diverted_share: Annotated[
        float,
        typer.Option("--diverted-share", min=0.0, max=1.0, help="Share of chips moved to CN/RU."),
    ] = 0.02,
    json_out: JsonOption = False,
) -> None:
    """Write a simulated Parquet measurement set, declared sites and landmarks.csv.

    Example: chiptrail batch simulate --chips 1000000 --landmarks 16 --out sim --seed 1
    """
    with working(f"simulating {chips:,} chips over {days} day(s)"):
        result = jobs.run_simulate(
            out,
            chips=chips,
            n_landmarks=landmarks,
            days=days,
            seed=seed,
            diverted_share=diverted_share,
        )
    if json_out:
        emit_json(result)
    else:
        out_console.print(
            f"{result.chips:,} chips, {result.rows:,} measurements over {result.days} day(s), "
            f"{result.diverted:,} diverted -> {out}",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add this capability's commands and groups to the root app."""
    app.add_typer(batch_app)
