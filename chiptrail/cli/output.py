"""JSON and screening-result output shared by the full CLI and its fast one-name path.

Imports only the standard library at import time: rich is imported when a result is printed to
a terminal (``print_screen_result``), where it styles the text.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console

    from chiptrail.service.parties.screen import ScreenResult


def _default(obj: object) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        return asdict(obj)
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, bytes):
        return obj.hex()
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    model_dump = getattr(obj, "model_dump", None)
    if callable(model_dump):
        return model_dump(mode="json")
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return tolist()
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def to_json(obj: object, *, indent: int | None = 2) -> str:
    """JSON text for dataclasses, pydantic models, enums, datetimes, numpy values."""
    return json.dumps(obj, default=_default, indent=indent, ensure_ascii=False)


def emit_json(obj: object, *, indent: int | None = 2, stream: TextIO | None = None) -> None:
    """Write ``obj`` as JSON to stdout (one document)."""
    (stream or sys.stdout).write(to_json(obj, indent=indent) + "\n")


def screen_result_lines(result: ScreenResult) -> list[tuple[str, str]]:
    """The lines ``chiptrail screen NAME`` prints, as (score shown bold, rest of the line)."""
    if not result.matches:
        return [("", f"no match for {result.query.name!r}")]
    lines = []
    for m in result.matches:
        listed = f" listed {m.listed_on.isoformat()}" if m.listed_on else ""
        lines.append((f"{m.score:.3f}", f" {m.party_id} [{m.list_id}]{listed} {m.matched_name!r}"))
        lines.append(("", f"      {m.explanation}"))
    return lines


def stdout_console() -> Console:
    """The rich console every command prints its human output through."""
    from rich.console import Console

    return Console(soft_wrap=True, emoji=False)


def rich_styles(stream: TextIO, env: Mapping[str, str] = os.environ) -> bool:
    """Whether rich would write control codes to ``stream`` (the test of
    ``rich.console.Console.is_terminal``): when it would not, ``print_screen_result`` writes the
    same text without importing rich."""
    compatible = env.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    force = env.get("FORCE_COLOR")
    if force is not None:
        return force != ""
    try:
        return stream.isatty()
    except ValueError:
        return False


def print_screen_result(result: ScreenResult, console: Console | None = None) -> None:
    """Print a screening result: through ``console`` (rich: the score bold, highlighted), or as
    plain text on stdout when none is given. Names are printed as written, never read as markup."""
    lines = screen_result_lines(result)
    if console is None:
        sys.stdout.write("".join(f"{bold}{rest}\n" for bold, rest in lines))
        return
    from rich.markup import escape

    for bold, rest in lines:
        if bold:
            console.print(f"[bold]{escape(bold)}[/]{escape(rest)}")
        else:
            console.print(escape(rest), highlight=False)
