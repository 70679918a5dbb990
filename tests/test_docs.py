"""README and docs/ stay true: every `chiptrail ...` command, option and CHIPTRAIL_* setting they
name exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer._click.core import Command as ClickCommand
from typer._click.core import Context as ClickContext
from typer.core import TyperGroup
from typer.main import get_command

import chiptrail
from chiptrail.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PKG = Path(chiptrail.__file__).parent
# `chiptrail` followed by words and options: in inline code, or starting a command in a code block.
INLINE = re.compile(r"`chiptrail((?: +[^`]+?)?)`")
BLOCK = re.compile(r"(?:^|\$ |&& |\| )chiptrail((?: +[-\w./=:\[\]|<>,\"']+)*)")


def _invocations() -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for doc in DOCS:
        in_block = False
        for line in doc.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith("```"):
                in_block = not in_block
                continue
            pattern = BLOCK if in_block else INLINE
            for match in pattern.finditer(line.strip()):
                words = match.group(1).split()
                found.append((f"{doc.name}: chiptrail {' '.join(words)}", words))
    return found


def _resolve(words: list[str]) -> tuple[ClickCommand, list[str]]:
    cmd: ClickCommand = get_command(app)
    rest = list(words)
    while rest and isinstance(cmd, TyperGroup) and not rest[0].startswith("-"):
        sub = cmd.get_command(ClickContext(cmd), rest[0])
        if sub is None:
            break
        cmd, rest = sub, rest[1:]
    return cmd, rest


INVOCATIONS = _invocations()


def test_docs_name_commands() -> None:
    assert len(INVOCATIONS) > 10


@pytest.mark.parametrize(("where", "words"), INVOCATIONS, ids=[w for w, _ in INVOCATIONS])
def test_named_command_and_options_exist(where: str, words: list[str]) -> None:
    cmd, rest = _resolve(words)
    if words and not words[0].startswith("-"):
        assert rest != words, f"{where}: unknown command {words[0]!r}"
    options = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}
    options |= {"--help", "-h"}
    for word in rest:
        if word.startswith("--"):
            name = word.split("=", 1)[0].rstrip("]|,")
            assert name in options, f"{where}: {cmd.name} has no option {name}"


def test_settings_named_in_docs_are_read_by_the_package() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in PKG.rglob("*.py"))
    named = set()
    for doc in DOCS:
        named |= set(re.findall(r"\bCHIPTRAIL_[A-Z_]+\b", doc.read_text(encoding="utf-8")))
    missing = sorted(n for n in named if n not in source)
    assert missing == []
