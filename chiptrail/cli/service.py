"""CLI commands of the service capability: ``chiptrail keys create|list|revoke``.

Each command calls one function of ``service/auth.py``; a new token is printed once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from chiptrail.cli.context import DbOption, JsonOption, emit_json, err_console, open_db, out_console
from chiptrail.crypto import b64decode
from chiptrail.service.auth import (
    create_api_key,
    list_api_keys,
    parse_expiry,
    parse_role,
    revoke_api_key,
)

keys_app = typer.Typer(
    name="keys", help="API keys for the HTTP API and dashboard.", no_args_is_help=True
)


@keys_app.command("create")
def create_key(
    role: Annotated[
        str,
        typer.Option(help="vendor, operator, landmark, analyst, auditor or admin."),
    ],
    party: Annotated[
        str | None,
        typer.Option(
            "--party",
            help="Party id the key acts for (required except admin, analyst and auditor keys).",
        ),
    ] = None,
    label: Annotated[str, typer.Option(help="A note: who holds the key.")] = "",
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key",
            help="Register an Ed25519 signing key (base64 raw public key) instead of a token.",
        ),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires",
            help="Refuse the key after 30d, 12h, 90m or an ISO 8601 time (default: never).",
        ),
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Create an API key and print its token once (only its SHA-256 is stored).

    Example: chiptrail keys create --role vendor --party acme --expires 90d
    """
    public = None if public_key is None else b64decode(public_key, "public_key")
    now = datetime.now(UTC)
    created = create_api_key(
        open_db(db),
        role=parse_role(role),
        party_id=party,
        label=label,
        now=now,
        public_key=public,
        expires_at=None if expires is None else parse_expiry(expires, now),
    )
    if json_out:
        emit_json({"key": created.key, "token": created.token})
        return
    if created.token is not None:
        out_console.print(created.token, highlight=False)
        err_console.print(
            f"key {created.key.key_id} ({created.key.role.value}): the token above is shown "
            "once; send it as 'Authorization: Bearer <token>' or paste it into the dashboard."
        )
    else:
        out_console.print(created.key.key_id, highlight=False)
        err_console.print("signing key registered: sign requests with X-Chiptrail-* headers")


@keys_app.command("list")
def list_keys(db: DbOption = None, json_out: JsonOption = False) -> None:
    """List API keys (ids, roles, parties; never secrets).

    Example: chiptrail keys list --json
    """
    keys = list_api_keys(open_db(db), limit=10_000)
    if json_out:
        emit_json(keys)
        return
    now = datetime.now(UTC)
    for k in keys:
        state = k.state_at(now)
        out_console.print(
            f"{k.key_id}  {k.kind:7}  {k.role.value:8}  {k.party_id or '-':20}  {state}  {k.label}",
            highlight=False,
        )


@keys_app.command("revoke")
def revoke_key(
    key_id: Annotated[str, typer.Argument(help="The key id (the part after ctk_).")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Revoke an API key; requests with it are refused from now on.

    Example: chiptrail keys revoke 3f2a9c0d1e4b5a6f
    """
    key = revoke_api_key(open_db(db), key_id, now=datetime.now(UTC))
    if json_out:
        emit_json(key)
        return
    out_console.print(f"revoked {key.key_id}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this capability's commands and groups to the root app."""
    app.add_typer(keys_app)
