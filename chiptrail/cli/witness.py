"""``chiptrail witness``: run a transparency-log witness (C2SP tlog-witness / tlog-cosignature).

keygen makes its Ed25519 key; cosign answers one add-checkpoint request file; serve answers them
over HTTP on loopback. Either way the witness keeps its own last cosigned size and root per log
in a state file and refuses a rollback or fork. The logic is ``chiptrail.service.witness.node``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from chiptrail.cli.context import JsonOption, emit_json, out_console, read_input
from chiptrail.crypto import Ed25519Signer, generate_seed
from chiptrail.errors import InvalidInput
from chiptrail.ledger.witness import make_cosigner_vkey
from chiptrail.service.location.device_keys import read_seed_file, write_seed_file
from chiptrail.service.witness.node import WitnessNode, make_server

witness_app = typer.Typer(
    help="Run a witness that cosigns the custody log's checkpoints (C2SP tlog-witness).",
    no_args_is_help=True,
)

NameOption = Annotated[
    str, typer.Option("--name", help="The witness's key name, e.g. witness.example/w1.")
]
KeyOption = Annotated[Path, typer.Option("--key", help="The witness's key file (hex seed).")]
LogKeyOption = Annotated[
    list[str],
    typer.Option("--log-key", help="Verifier key of a log this witness follows (repeatable)."),
]
StateOption = Annotated[
    Path,
    typer.Option("--state", help="JSON file of the last cosigned size and root per log."),
]


def _node(name: str, key: Path, log_key: list[str], state: Path) -> WitnessNode:
    if not log_key:
        raise InvalidInput("give at least one --log-key", {"field": "log_key"})
    return WitnessNode(name, Ed25519Signer(read_seed_file(key)), tuple(log_key), state)


@witness_app.command("keygen")
def keygen_cmd(
    name: NameOption,
    out: Annotated[Path, typer.Option("--out", help="Where to write the new seed (hex).")],
    json_out: JsonOption = False,
) -> None:
    """Create a witness key and print its verifier key (what auditors pass to --witness).

    Example: chiptrail witness keygen --name witness.example/w1 --out w1.key
    """
    if out.exists():
        raise InvalidInput(f"{out} exists; refusing to overwrite a key")
    seed = generate_seed()
    vkey = make_cosigner_vkey(name, Ed25519Signer(seed).public_key)
    write_seed_file(out, seed)
    if json_out:
        emit_json({"path": str(out), "verifier_key": vkey})
    else:
        out_console.print(vkey, highlight=False, markup=False)


@witness_app.command("cosign")
def cosign_cmd(
    request: Annotated[str, typer.Argument(help="add-checkpoint request file ('-' = stdin).")],
    name: NameOption,
    key: KeyOption,
    log_key: LogKeyOption,
    state: StateOption,
) -> None:
    """Cosign one checkpoint from an add-checkpoint request file; print the cosignature line.

    The request (from `chiptrail log witness-request`) holds the old size, a consistency proof
    and the signed checkpoint. Refused, state unchanged, unless it is consistent with the last
    checkpoint this witness cosigned for that log: exit 1 when the proof does not verify, exit 2
    for an unknown log, a bad log signature, a stale old size or a fork at the same size.

    Example: chiptrail witness cosign req.txt --name w1.example --key w1.key --log-key VKEY
    --state w1.json > cosig.txt
    """
    line = _node(name, key, log_key, state).add_checkpoint(read_input(request))
    sys.stdout.write(line)


@witness_app.command("serve")
def serve_cmd(
    name: NameOption,
    key: KeyOption,
    log_key: LogKeyOption,
    state: StateOption,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 7380,
) -> None:
    """Serve POST /add-checkpoint on 127.0.0.1 (C2SP tlog-witness) until interrupted.

    Example: chiptrail witness serve --name w1.example --key w1.key --log-key VKEY
    --state w1.json --port 7380
    """
    node = _node(name, key, log_key, state)
    server = make_server(node, port)
    out_console.print(
        f"witness {name} on http://127.0.0.1:{server.server_address[1]}/add-checkpoint\n"
        f"verifier key: {node.verifier_key}",
        highlight=False,
        markup=False,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def register(app: typer.Typer) -> None:
    """Add ``witness`` to the root app."""
    app.add_typer(witness_app, name="witness")
