"""The ``chiptrail`` console script.

``chiptrail screen NAME`` against the stored lists is answered by ``chiptrail.cli.fast`` without
importing the Typer app, the database layer or any other command (about 1 s of imports); every
other command, and every ``screen`` call the fast path does not take, runs the app in
``chiptrail.cli.root``; ``app``, ``COMMAND_MODULES`` and ``GuardedGroup`` are re-exported.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Console-script entry point."""
    argv = sys.argv[1:]
    if argv[:1] == ["screen"]:
        from chiptrail.cli.fast import screen_fast

        code = screen_fast(argv[1:])
        if code is not None:
            raise SystemExit(code)
    from chiptrail.cli.root import app

    app()


def __getattr__(name: str) -> object:
    """``chiptrail.cli.main.app`` and the rest of the root command, imported on first use."""
    if name.startswith("__"):  # the import system asks for __path__ on `from ... import main`
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from chiptrail.cli import root

    try:
        return getattr(root, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
