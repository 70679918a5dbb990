"""``chiptrail screen NAME`` in milliseconds: the one-name screen without the Typer app.

A new ``chiptrail`` process used to spend about a second importing Typer, rich, SQLAlchemy,
Alembic, FollowTheMoney and every module of the ``screen`` command before it read the stored
index. ``screen_fast`` handles the common call itself with the standard library, rapidfuzz and
``rigour._core``: it reads the argument list, opens the SQLite database with ``sqlite3``
(``service.parties.stored_index``), screens with the same ``screen_names`` and prints with the same
``cli.output`` functions as the full command, so the output and exit code are the same.

It answers only when nothing else has to happen: a SQLite database at the newest schema whose
stored index is current, and only the options below. Anything else (``--help``, ``--list``,
``--names``, an unknown or malformed option, PostgreSQL, a stale index, any error) returns None
before a byte is written, and the full command runs, migrating, rebuilding and reporting errors
as it always did.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

_VALUED = {"--country", "--address", "--identifier", "--threshold", "--limit", "--db"}
_FLAGS = {"--person", "--json"}


def _parse(args: Sequence[str]) -> dict[str, list[str]] | None:
    """Options (each a list of values; flags get "") and the one NAME, or None when the full
    command must parse them (an option the fast path does not take, a missing value, ``--``)."""
    found: dict[str, list[str]] = {}
    names: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-"):
            key, eq, value = arg.partition("=")
            if key in _FLAGS and not eq:
                found.setdefault(key, []).append("")
            elif key in _VALUED:
                if not eq:
                    i += 1
                    if i >= len(args):
                        return None
                    value = args[i]
                found.setdefault(key, []).append(value)
            else:
                return None
        else:
            names.append(arg)
        i += 1
    if len(names) != 1 or any(len(v) > 1 for k, v in found.items() if k != "--identifier"):
        return None
    found["name"] = names
    return found


def _sqlite_path(db: str | None) -> str | None:
    from chiptrail.service.settings import database_url

    url = database_url(os.environ, db)
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    path = url.removeprefix("sqlite:///")
    return None if path in ("", ":memory:") else path


def screen_fast(args: Sequence[str]) -> int | None:
    """Screen one name as ``chiptrail screen ARGS`` would, and return its exit code (1: a match,
    0: none); None, having written nothing, when the full command must run instead."""
    try:
        opts = _parse(args)
        if opts is None:
            return None
        one = {k: v[0] for k, v in opts.items()}
        path = _sqlite_path(one.get("--db"))
        if path is None:
            return None
        from chiptrail.parties.screening import DEFAULT_THRESHOLD, Query
        from chiptrail.service.parties.screen import screen_names
        from chiptrail.service.parties.stored_index import read_current_sqlite

        country = None
        if one.get("--country"):
            from chiptrail.countries import parse_country

            country = parse_country(one["--country"])
        query = Query(
            "1",
            one["name"],
            country,
            one.get("--address") or None,
            tuple(opts.get("--identifier", ())),
            "Person" if "--person" in opts else None,
        )
        threshold = float(one.get("--threshold", DEFAULT_THRESHOLD))
        limit = int(one.get("--limit", 10))
        index = read_current_sqlite(path)
        if index is None:
            return None
        from chiptrail.parties.normalise import use_readings
        from chiptrail.parties.zh_readings import library_stamp

        # Chinese read from the index's tables, built by the same pypinyin and ICU: neither is
        # loaded where the tables answer.
        readings = index.readings
        wanted = not (query.name + (query.address or "")).isascii()
        if wanted and readings.libraries and readings.libraries == library_stamp():
            use_readings(readings)
        [result] = screen_names(index, [query], threshold=threshold, limit=limit)
    except Exception:
        return None
    from chiptrail.cli.output import emit_json, print_screen_result, rich_styles, stdout_console

    if "--json" in opts:
        from chiptrail.service.parties.screen import to_wire

        emit_json(to_wire(result))
    else:
        print_screen_result(result, stdout_console() if rich_styles(sys.stdout) else None)
    sys.stdout.flush()
    return 1 if result.is_hit else 0
