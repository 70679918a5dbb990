"""CLI of location verification: ``chiptrail landmark|agent|measurements``.

Commands parse options, call one function of ``chiptrail.service.location.probe`` or
``chiptrail.service.location.probe_net`` and render; records are JSON lines on stdout.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from chiptrail.cli.context import (
    DbOption,
    JsonOption,
    emit_json,
    err_console,
    open_db,
    out_console,
    read_input,
    working,
)
from chiptrail.cli.errors import EXIT_FINDING
from chiptrail.countries import parse_country
from chiptrail.crypto import Ed25519Signer, b64decode, b64encode, generate_seed
from chiptrail.errors import ChiptrailError, InvalidInput
from chiptrail.geoloc import DeclaredSite
from chiptrail.probe.attestation import DeviceKey, DevicePublicKey, parse_scheme
from chiptrail.probe.landmark import Landmark, LandmarkConfig
from chiptrail.probe.messages import MeasurementRecord
from chiptrail.probe.wire import record_from_json, record_to_json
from chiptrail.service.location import intake
from chiptrail.service.location import probe as service
from chiptrail.service.location.device_keys import (
    load_nvml,
    open_device_key,
    read_seed_file,
    write_seed_file,
)
from chiptrail.service.location.probe_net import (
    Address,
    LandmarkServer,
    parse_address,
    run_agent,
    run_landmark,
)
from chiptrail.types import ChipId, Country, LandmarkId, Verdict

landmark_app = typer.Typer(
    name="landmark", help="Landmarks: probe servers at known positions.", no_args_is_help=True
)
agent_app = typer.Typer(
    name="agent", help="The chip agent: answers landmark challenges.", no_args_is_help=True
)
measurements_app = typer.Typer(
    name="measurements", help="Landmark-signed RTT measurements.", no_args_is_help=True
)

KeyOption = Annotated[
    Path, typer.Option("--key", help="Ed25519 seed file (64 hex digits or base64).")
]


def _now() -> datetime:
    return datetime.now(UTC)


def _print_record(record: MeasurementRecord) -> None:
    typer.echo(json.dumps(record_to_json(record), separators=(",", ":")))


def _landmark_json(lm: service.RegisteredLandmark) -> dict[str, object]:
    return {
        "landmark_id": lm.landmark_id,
        "lat": lm.lat,
        "lon": lm.lon,
        "country": lm.country,
        "uncertainty_km": lm.uncertainty_km,
        "public_key": b64encode(lm.public_key),
        "registered_at": lm.registered_at,
    }


def _read_chip_keys(path: Path) -> dict[ChipId, DevicePublicKey]:
    keys: dict[ChipId, DevicePublicKey] = {}
    for n, line in enumerate(read_input(str(path)).decode().splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            key = DevicePublicKey(
                ChipId(obj["chip_id"]),
                parse_scheme(obj.get("scheme", "ed25519")),
                b64decode(obj["public_key"], "public_key"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"{path}:{n}: expected {{chip_id, scheme, public_key}}") from exc
        keys[key.chip_id] = key
    return keys


@landmark_app.command("serve")
def serve_cmd(
    landmark_id: Annotated[str, typer.Option("--id", help="This landmark's registered id.")],
    lat: Annotated[float, typer.Option("--lat", min=-90, max=90, help="Latitude, degrees.")],
    lon: Annotated[float, typer.Option("--lon", min=-180, max=180, help="Longitude, degrees.")],
    key: KeyOption,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="UDP port (0: any).")
    ] = 7447,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    chip_keys: Annotated[
        Path | None,
        typer.Option("--chip-keys", help="JSON lines {chip_id, scheme, public_key}: only these."),
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="Stop after this many measurements.")
    ] = None,
    ttl_ms: Annotated[
        float, typer.Option("--ttl-ms", min=0.001, help="Answers later than this are stale.")
    ] = 2000.0,
    registered_only: Annotated[
        bool,
        typer.Option("--registered-only", help="Answer only chips whose key is in --db."),
    ] = False,
    db: DbOption = None,
) -> None:
    """Serve challenges over UDP; print each signed measurement as a JSON line.

    Counters (measured, replayed, stale, foreign, bad_signature, ...) go to stderr at exit.

    Example: chiptrail landmark serve --id lm-sg --lat 1.29 --lon 103.85 --key lm.key --port 7447
    """
    signer = Ed25519Signer(read_seed_file(key))
    directory = _read_chip_keys(chip_keys) if chip_keys is not None else None
    if registered_only:
        directory = {**service.list_device_keys(open_db(db)), **(directory or {})}
    config = LandmarkConfig(LandmarkId(landmark_id), challenge_ttl_ns=int(ttl_ms * 1e6))
    server = LandmarkServer(Landmark(config, signer, directory), on_record=_print_record)

    def listening(bound: Address) -> None:
        info = {
            "landmark_id": landmark_id,
            "lat": lat,
            "lon": lon,
            "host": bound[0],
            "port": bound[1],
            "public_key": b64encode(signer.public_key),
        }
        err_console.print(f"listening {json.dumps(info)}", highlight=False, soft_wrap=True)

    try:
        asyncio.run(run_landmark(server, host, port, count=count, on_listening=listening))
    except KeyboardInterrupt:
        pass
    finally:
        counters = server.landmark.counters.to_json()
        err_console.print(f"counters {json.dumps(counters)}", highlight=False, soft_wrap=True)


@landmark_app.command("add")
def add_cmd(
    landmark_id: Annotated[str, typer.Option("--id", help="Landmark id.")],
    lat: Annotated[float, typer.Option("--lat", min=-90, max=90, help="Latitude, degrees.")],
    lon: Annotated[float, typer.Option("--lon", min=-180, max=180, help="Longitude, degrees.")],
    key: Annotated[
        Path | None, typer.Option("--key", help="The landmark's seed file (public key derived).")
    ] = None,
    public_key: Annotated[
        str | None, typer.Option("--public-key", help="Base64 Ed25519 public key instead.")
    ] = None,
    country: Annotated[str | None, typer.Option("--country", help="ISO2 of the site.")] = None,
    uncertainty_km: Annotated[
        float, typer.Option("--uncertainty-km", min=0, help="Position uncertainty, km.")
    ] = 0.0,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Register a landmark: position and the key it signs measurements with.

    Example: chiptrail landmark add --id lm-sg --lat 1.29 --lon 103.85 --country SG --key lm.key
    """
    if (key is None) == (public_key is None):
        raise InvalidInput("give exactly one of --key or --public-key")
    pk = (
        Ed25519Signer(read_seed_file(key)).public_key
        if key is not None
        else b64decode(public_key or "", "public_key")
    )
    landmark = service.RegisteredLandmark(
        LandmarkId(landmark_id), lat, lon, pk, Country(country) if country else None, uncertainty_km
    )
    stored = service.register_landmark(open_db(db), landmark, _now())
    if json_out:
        emit_json(_landmark_json(stored))
    else:
        out_console.print(f"landmark {stored.landmark_id} at ({stored.lat}, {stored.lon})")


@landmark_app.command("list")
def list_cmd(db: DbOption = None, json_out: JsonOption = False) -> None:
    """List registered landmarks (JSON lines, or one JSON array with --json).

    Example: chiptrail landmark list --json
    """
    rows = [_landmark_json(lm) for lm in service.list_landmarks(open_db(db))]
    if json_out:
        emit_json(rows)
        return
    for row in rows:
        typer.echo(json.dumps(row, default=str))


@landmark_app.command("keygen")
@agent_app.command("keygen")
def keygen_cmd(
    out: Annotated[Path, typer.Option("--out", help="Where to write the new seed (hex).")],
    json_out: JsonOption = False,
) -> None:
    """Create a software Ed25519 key (a landmark's, or a chip's without GPU attestation).

    Example: chiptrail landmark keygen --out lm.key
    """
    if out.exists():
        raise InvalidInput(f"{out} exists; refusing to overwrite a key")
    seed = generate_seed()
    write_seed_file(out, seed)
    public = b64encode(Ed25519Signer(seed).public_key)
    if json_out:
        emit_json({"path": str(out), "public_key": public})
    else:
        out_console.print(public)


def _device_key(chip_id: str | None, key: Path | None, nvml: bool, gpu_index: int) -> DeviceKey:
    seed = read_seed_file(key) if key is not None else None
    return open_device_key(
        ChipId(chip_id) if chip_id else None, seed, load_nvml() if nvml else None, gpu_index
    )


ChipIdOption = Annotated[
    str | None, typer.Option("--chip-id", help="Chip id (default with --nvml: the GPU UUID).")
]
OptionalKeyOption = Annotated[
    Path | None, typer.Option("--key", help="Software Ed25519 seed file of the chip.")
]
NvmlOption = Annotated[
    bool, typer.Option("--nvml", help="Read the GPU identity (and attest, in CC mode) via NVML.")
]
GpuIndexOption = Annotated[int, typer.Option("--gpu-index", min=0, help="NVML device index.")]


@agent_app.command("run")
def run_cmd(
    landmark: Annotated[
        list[str], typer.Option("--landmark", help="HOST:PORT of a landmark (repeatable).")
    ],
    chip_id: ChipIdOption = None,
    key: OptionalKeyOption = None,
    nvml: NvmlOption = False,
    gpu_index: GpuIndexOption = 0,
    rounds: Annotated[int, typer.Option("--rounds", min=1, help="Probes per landmark.")] = 1,
    timeout_s: Annotated[
        float, typer.Option("--timeout-s", min=0.001, help="Wait per attempt.")
    ] = 2.0,
    submit: Annotated[
        bool, typer.Option("--submit", help="Also store the records in --db (verified first).")
    ] = False,
    db: DbOption = None,
) -> None:
    """Ask landmarks to measure this chip; print each signed record as a JSON line.

    Example: chiptrail agent run --chip-id GPU-1 --key chip.key --landmark 10.0.0.5:7447
    """
    addresses = [parse_address(a) for a in landmark]
    device_key = _device_key(chip_id, key, nvml, gpu_index)
    records = asyncio.run(
        run_agent(
            addresses, device_key, rounds=rounds, timeout_s=timeout_s, on_record=_print_record
        )
    )
    if submit:
        result = intake.submit_measurements(open_db(db), records, _now())
        err_console.print(f"stored {result.stored} measurement(s), refused {len(result.refused)}")


@agent_app.command("register")
def register_cmd(
    chip_id: ChipIdOption = None,
    key: OptionalKeyOption = None,
    nvml: NvmlOption = False,
    gpu_index: GpuIndexOption = 0,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Register this chip's device key (and NVML identity) with the registry database.

    Example: chiptrail agent register --chip-id GPU-1 --key chip.key --db ./chiptrail.db
    """
    device_key = _device_key(chip_id, key, nvml, gpu_index)
    public = DevicePublicKey(device_key.chip_id, device_key.scheme, device_key.public_key)
    stored = service.register_device_key(open_db(db), public, _now(), device_key.identity)
    answer = {
        "chip_id": stored.key.chip_id,
        "scheme": stored.key.scheme.value,
        "public_key": b64encode(stored.key.public_key),
        "identity": dict(stored.identity),
    }
    if json_out:
        emit_json(answer)
    else:
        out_console.print(f"chip {answer['chip_id']}: {answer['scheme']} key registered")


AtomicOption = Annotated[
    bool,
    typer.Option("--atomic", help="All or nothing: the first refused item refuses the whole file."),
]


def _json_lines(path: str) -> list[tuple[int, dict[str, object]]]:
    """(line number, object) of each non-blank line of a JSON lines file ('-': stdin)."""
    out = []
    for n, line in enumerate(read_input(path).decode(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise InvalidInput(f"line {n}: not JSON") from exc
        if not isinstance(obj, dict):
            raise InvalidInput(f"line {n}: expected a JSON object")
        out.append((n, obj))
    return out


def _report_refusals(refused: tuple[intake.Refusal, ...], lines: list[int]) -> None:
    for r in refused:
        err_console.print(
            f"refused line {lines[r.index]}: {r.code}: {r.message}", highlight=False, soft_wrap=True
        )
    if refused:
        raise typer.Exit(EXIT_FINDING)


@measurements_app.command("submit")
def submit_cmd(
    path: Annotated[str, typer.Argument(help="JSON lines of signed records; '-' for stdin.")],
    atomic: AtomicOption = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Verify signed measurement records; store the valid ones and name each refused line
    (exit 1 when any was refused; --atomic: one bad record refuses the whole file).

    Example: chiptrail measurements submit records.jsonl --db ./chiptrail.db
    """
    lines: list[int] = []
    records: list[MeasurementRecord | ChiptrailError] = []
    for n, obj in _json_lines(path):
        lines.append(n)
        try:
            records.append(record_from_json(obj))
        except InvalidInput as exc:
            if atomic:
                raise InvalidInput(f"line {n}: {exc.message}", exc.details) from exc
            records.append(exc)
    database = open_db(db)
    with working(f"verifying and storing {len(records):,} measurement record(s)"):
        result = intake.submit_measurements(database, records, _now(), atomic=atomic)
    if json_out:
        emit_json(
            {
                "stored": result.stored,
                "measurement_ids": list(result.measurement_ids),
                "refused": [r.to_json() for r in result.refused],
            }
        )
    else:
        out_console.print(f"stored {result.stored} measurement(s)")
    _report_refusals(result.refused, lines)


def _emit_bulk(result: intake.BulkResult, json_out: bool, what: str) -> None:
    if json_out:
        emit_json(
            {
                "registered": list(result.registered),
                "unchanged": list(result.unchanged),
                "refused": [r.to_json() for r in result.refused],
            }
        )
    else:
        out_console.print(
            f"{len(result.registered)} {what} registered, {len(result.unchanged)} unchanged, "
            f"{len(result.refused)} refused"
        )


@agent_app.command("register-bulk")
def register_bulk_cmd(
    path: Annotated[
        str,
        typer.Argument(
            help="JSON lines {chip_id, scheme, public_key (base64), identity}; '-' for stdin."
        ),
    ],
    atomic: AtomicOption = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Register many chips' device keys in one transaction (a key already registered alike is
    unchanged; exit 1 when any line was refused).

    Example: chiptrail agent register-bulk device-keys.jsonl --db ./chiptrail.db
    """
    lines: list[int] = []
    keys: list[service.RegisteredDeviceKey | ChiptrailError] = []
    for n, obj in _json_lines(path):
        lines.append(n)
        try:
            identity = obj.get("identity") or {}
            if not isinstance(identity, dict):
                raise InvalidInput("identity must be an object", {"field": "identity"})
            key = DevicePublicKey(
                ChipId(str(obj.get("chip_id", ""))),
                parse_scheme(str(obj.get("scheme", ""))),
                b64decode(str(obj.get("public_key", "")), "public_key"),
            )
            keys.append(
                service.RegisteredDeviceKey(key, {str(k): str(v) for k, v in identity.items()})
            )
        except InvalidInput as exc:
            keys.append(exc)
    result = intake.register_device_keys(open_db(db), keys, _now(), atomic=atomic)
    _emit_bulk(result, json_out, "device key(s)")
    _report_refusals(result.refused, lines)


def _landmark_from_json(obj: dict[str, object]) -> service.RegisteredLandmark:
    def num(name: str, default: float | None = None) -> float:
        value = obj.get(name, default)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InvalidInput(f"{name} must be a number", {"field": name})
        return float(value)

    country = obj.get("country")
    return service.RegisteredLandmark(
        LandmarkId(str(obj.get("landmark_id", ""))),
        num("lat"),
        num("lon"),
        b64decode(str(obj.get("public_key", "")), "public_key"),
        Country(str(country)) if country else None,
        num("uncertainty_km", 0.0),
    )


@landmark_app.command("add-bulk")
def add_bulk_cmd(
    path: Annotated[
        str,
        typer.Argument(
            help="JSON lines {landmark_id, lat, lon, country, uncertainty_km, public_key}; "
            "'-' for stdin."
        ),
    ],
    atomic: AtomicOption = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Register many landmarks in one transaction (exit 1 when any line was refused).

    Example: chiptrail landmark add-bulk landmarks.jsonl --db ./chiptrail.db
    """
    lines: list[int] = []
    items: list[service.RegisteredLandmark | ChiptrailError] = []
    for n, obj in _json_lines(path):
        lines.append(n)
        try:
            items.append(_landmark_from_json(obj))
        except InvalidInput as exc:
            items.append(exc)
    result = intake.register_landmarks(open_db(db), items, _now(), atomic=atomic)
    _emit_bulk(result, json_out, "landmark(s)")
    _report_refusals(result.refused, lines)


@measurements_app.command("locate")
def locate_cmd(
    chip_id: Annotated[str, typer.Option("--chip-id", help="The chip to locate.")],
    lat: Annotated[
        float | None, typer.Option("--lat", min=-90, max=90, help="Declared site latitude.")
    ] = None,
    lon: Annotated[
        float | None, typer.Option("--lon", min=-180, max=180, help="Declared site longitude.")
    ] = None,
    country: Annotated[str | None, typer.Option("--country", help="Declared site ISO2.")] = None,
    radius_km: Annotated[
        float | None, typer.Option("--radius-km", min=0.001, help="VERIFIED within this radius.")
    ] = None,
    window_h: Annotated[
        float, typer.Option("--window-h", min=0.001, help="Hours before the latest measurement.")
    ] = 24.0,
    max_age_h: Annotated[
        float | None,
        typer.Option("--max-age-h", min=0.001, help="UNVERIFIED when the latest is older."),
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Judge a chip's stored measurements against its declared site; exit 1 on VIOLATION.

    The ledger's declared site wins; --lat/--lon/--country name one when the ledger has none.

    Example: chiptrail measurements locate --chip-id GPU-1 --lat 1.49 --lon 103.74 --country MY
    """
    given = [lat is not None, lon is not None, country is not None]
    if any(given) and not all(given):
        raise InvalidInput("give all of --lat, --lon and --country for the declared site")
    site = None
    if lat is not None and lon is not None and country is not None:
        site = DeclaredSite(lat, lon, parse_country(country), radius_km)
    location = service.locate_chip(
        open_db(db), ChipId(chip_id), _now(), window_h=window_h, site=site, max_age_h=max_age_h
    )
    body = service.location_to_json(location)
    if json_out:
        emit_json(body)
    else:
        out_console.print(f"{body['verdict']}: {body['reason']}", highlight=False)
        for e in location.verdict.evidence:
            out_console.print(
                f"  {e.landmark_id}: rtt {e.rtt_ms:.3f} ms, bound {e.bound_km:.0f} km, "
                f"site at {e.distance_km:.0f} km ({e.kind})",
                highlight=False,
            )
    if location.verdict.verdict == Verdict.VIOLATION:
        raise typer.Exit(EXIT_FINDING)


def register(app: typer.Typer) -> None:
    """Add ``landmark``, ``agent`` and ``measurements`` to the root app."""
    app.add_typer(landmark_app, name="landmark")
    app.add_typer(agent_app, name="agent")
    app.add_typer(measurements_app, name="measurements")
