"""CLI commands of the hardware capability (registered on the root app by ``register``).

``chiptrail classify``, ``chiptrail license-check`` and ``chiptrail hardware list|show``; each
calls one function of ``chiptrail.service.hardware`` and renders its answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from chiptrail.cli.context import JsonOption, emit_json, out_console, read_input
from chiptrail.cli.errors import EXIT_FINDING
from chiptrail.errors import InvalidInput
from chiptrail.hardware import LicenseAnswer, LicenseDecision
from chiptrail.service import hardware as service

hardware_app = typer.Typer(
    name="hardware",
    help="Accelerator catalogue: figures with sources, TPP, PD and ECCN.",
    no_args_is_help=True,
)


def _num(value: float | None, fmt: str = ",.0f", estimate: bool = False) -> str:
    if value is None:
        return "—"
    return ("~" if estimate else "") + format(value, fmt)


def _print_table(table: Table) -> None:
    # Piped output (CI logs, files) gets a wide table instead of rich's 80-column default.
    console = out_console if out_console.is_terminal else Console(width=132, soft_wrap=True)
    console.print(table)


def _catalogue_table(rows: list[service.HardwareRow], rules_as_of: str) -> Table:
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title=f"Built-in accelerators under ECCN 3A090 (rules as of {rules_as_of})",
        caption="TPP = dense TOPS x bit length (max over precisions); PD = TPP / die mm²; "
        "~ estimated area, — unknown; H100-eq = TPP / TPP(H100 SXM).",
    )
    for col, justify in (
        ("Model", "left"),
        ("Vendor", "left"),
        ("Mem GB/s", "right"),
        ("TPP", "right"),
        ("Bits", "left"),
        ("PD", "right"),
        ("ECCN", "left"),
        ("H100-eq", "right"),
        ("DC", "center"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        eccn = r.paragraph if r.paragraph.startswith("3A090") else r.eccn
        if r.paragraph.startswith("Note"):
            eccn += " (Note 2)"
        if r.reference_only:
            eccn += " (ref. only)"
        table.add_row(
            r.name,
            r.vendor,
            _num(r.memory_bandwidth_gbps),
            _num(r.tpp),
            r.tpp_precision,
            _num(r.performance_density, ".2f", r.die_area_is_estimate),
            eccn,
            _num(r.h100_equivalents, ".2f"),
            "yes" if r.designed_for_datacenter else "no",
        )
    return table


def classify(
    model: Annotated[
        str | None,
        typer.Argument(help="Catalogue model (e.g. H100, 'RTX 4090'); omit to classify all."),
    ] = None,
    tpp: Annotated[
        float | None, typer.Option("--tpp", help="Custom figure: total processing performance.")
    ] = None,
    die_area: Annotated[
        float | None,
        typer.Option("--die-area", help="Custom figure: applicable die area in mm² (> 0)."),
    ] = None,
    not_datacenter: Annotated[
        bool,
        typer.Option(
            "--not-datacenter", help="Custom item is not designed/marketed for data centers."
        ),
    ] = False,
    quantity: Annotated[
        int, typer.Option("--quantity", help="Accelerators in the system (4A090, TPP sum).")
    ] = 1,
    hbm_density: Annotated[
        float | None,
        typer.Option(
            "--hbm-density", help="Classify an HBM stack by bandwidth density (GB/s/mm², 3A090.c)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Classify accelerators under ECCN 3A090/4A090: TPP, performance density, H100-equivalents.

    With no argument, classifies the whole built-in catalogue. Exit codes: 0 ok, 2 bad input
    (unknown model, missing or negative figures).

    Example: chiptrail classify H100 --quantity 8 --json
    """
    if hbm_density is not None:
        if model or tpp is not None or die_area is not None:
            raise InvalidInput("hbm_density: give it alone", {"field": "hbm_density"})
        result = service.classify_memory(hbm_density)
    elif model is not None:
        if tpp is not None or die_area is not None:
            raise InvalidInput(
                "tpp: give either a MODEL or --tpp/--die-area, not both", {"field": "tpp"}
            )
        result = service.describe_hardware(model, quantity)
    elif tpp is not None or die_area is not None:
        result = service.classify_figures(
            tpp, die_area, designed_for_datacenter=not not_datacenter, quantity=quantity
        )
    else:
        report = service.catalogue_report()
        if as_json:
            emit_json(report)
        else:
            _print_table(_catalogue_table(service.list_hardware(), str(report["rules_as_of"])))
        return
    if as_json:
        emit_json(result)
        return
    _print_result(result)


def _print_result(result: dict[str, object]) -> None:
    cls = result["classification"]
    assert isinstance(cls, dict)  # noqa: S101 - shape fixed by the service
    model = result.get("model")
    if isinstance(model, dict):
        out_console.print(f"[bold]{model['name']}[/] ({model['vendor']})")
    if "tpp" in cls:
        pd = cls["performance_density"]
        pd_text = "unknown" if pd is None else f"{pd:.2f}"
        out_console.print(
            f"TPP {cls['tpp']:,.1f}  PD {pd_text}  ECCN {cls['eccn']} {cls['paragraph']}"
        )
    else:
        out_console.print(f"ECCN {cls['eccn']}")
    for reason in cls.get("reasons", []):
        out_console.print(f"  - {reason}")
    system = result.get("system")
    if isinstance(system, dict):
        out_console.print(
            f"System of {system['quantity']}: {system['eccn']}, total TPP "
            f"{system['total_tpp']:,.0f} = {system['h100_equivalents']:.2f} H100-equivalents"
        )
    out_console.print(f"rules as of {result['rules_as_of']}")


def _read_names(path: str) -> list[str]:
    text = read_input(path).decode("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _print_answer(answer: LicenseAnswer) -> None:
    colour = {
        LicenseDecision.LICENSE_REQUIRED: "red",
        LicenseDecision.LICENSE_EXCEPTION: "yellow",
        LicenseDecision.NO_LICENSE_REQUIRED: "green",
    }[answer.decision]
    exception = f" ({answer.license_exception})" if answer.license_exception else ""
    out_console.print(
        f"[bold {colour}]{answer.decision.value}{exception}[/]  rule {answer.rule_id}"
    )
    out_console.print(
        f"{answer.quantity} x {answer.item_name or 'custom item'}: {answer.eccn.value} "
        f"{answer.paragraph}; total TPP {answer.total_tpp:,.0f} = "
        f"{answer.h100_equivalents:.2f} H100-equivalents"
    )
    groups = ", ".join(answer.destination_groups) or "none"
    out_console.print(f"to {answer.destination} {answer.destination_name} (groups: {groups})")
    if answer.end_user:
        listed = f"LISTED as {answer.matched_party!r}" if answer.matched_party else "not matched"
        out_console.print(f"end user {answer.end_user!r}: {listed}")
    out_console.print(answer.explanation)
    if answer.review_policy:
        out_console.print(f"review policy: {answer.review_policy}")
    out_console.print("decided by: " + "; ".join(answer.citations))
    out_console.print(f"rules as of {answer.rules_as_of}")


def license_check(
    item: Annotated[str, typer.Option("--item", help="Catalogue model, e.g. H100.")],
    quantity: Annotated[int, typer.Option("--quantity", help="Number of accelerators.")],
    to: Annotated[str, typer.Option("--to", help="Destination, ISO 3166-1 alpha-2 (e.g. SG).")],
    end_user: Annotated[
        str | None, typer.Option("--end-user", help="End user name, checked against --restricted.")
    ] = None,
    end_user_hq: Annotated[
        str | None,
        typer.Option("--end-user-hq", help="ISO2 country of the end user's ultimate parent HQ."),
    ] = None,
    restricted: Annotated[
        str | None,
        typer.Option(
            "--restricted",
            help="File of restricted party names, one a line ('-' = stdin); default: a tiny "
            "built-in EXAMPLE set, not the Entity List.",
        ),
    ] = None,
    rules: Annotated[
        Path | None, typer.Option("--rules", help="Rule table JSON replacing the built-in one.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Say whether exporting N accelerators to a country (and end user) needs a US licence.

    Exit codes: 0 no licence required or a license exception (NAC/ACA) covers it, 1 a licence
    is required, 2 bad input (unknown model, country code, quantity or rule file).

    Example: chiptrail license-check --item H100 --quantity 8 --to AE --end-user "Acme Cloud" --json
    """
    answer = service.check_order(
        item,
        quantity,
        to,
        end_user=end_user,
        end_user_headquarters=end_user_hq,
        restricted_parties=None if restricted is None else _read_names(restricted),
        rules_text=None if rules is None else read_input(str(rules)).decode("utf-8"),
    )
    if as_json:
        emit_json(service.to_wire(answer))
    else:
        _print_answer(answer)
    if answer.decision is LicenseDecision.LICENSE_REQUIRED:
        raise typer.Exit(EXIT_FINDING)


@hardware_app.command("list")
def list_command(as_json: JsonOption = False) -> None:
    """List the built-in accelerators with TPP, PD, ECCN and H100-equivalents.

    Example: chiptrail hardware list --json
    """
    rows = service.list_hardware()
    if as_json:
        emit_json(service.to_wire(rows))
        return
    report = service.catalogue_report()
    _print_table(_catalogue_table(rows, str(report["rules_as_of"])))


@hardware_app.command("show")
def show_command(
    model: Annotated[str, typer.Argument(help="Catalogue model, e.g. 'MI300X'.")],
    as_json: JsonOption = False,
) -> None:
    """Show one model's figures with their sources, and its classification.

    Example: chiptrail hardware show H100 --json
    """
    result = service.describe_hardware(model)
    if as_json:
        emit_json(result)
        return
    _print_result(result)
    found = result["model"]
    assert isinstance(found, dict)  # noqa: S101 - shape fixed by the service
    for key in ("die_area_mm2", "memory_gb", "memory_bandwidth_gbps"):
        fig = found[key]
        out_console.print(f"{key}: {fig['value']}  {fig['note']}  {' '.join(fig['sources'])}")
    for precision, fig in found["dense_tops"].items():
        out_console.print(f"dense {precision}: {fig['value']}  {' '.join(fig['sources'])}")
    if found["notes"]:
        out_console.print(found["notes"])


def register(app: typer.Typer) -> None:
    """Add this capability's commands and groups to the root app."""
    app.command("classify")(classify)
    app.command("license-check")(license_check)
    app.add_typer(hardware_app)
