"""`chiptrail screen NAME` by the fast path: same output and exit code as the full command,
the full command for everything it does not take, and none of the heavy imports."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from chiptrail.cli.fast import screen_fast
from chiptrail.cli.main import app
from chiptrail.cli.output import print_screen_result, rich_styles
from chiptrail.parties.screening import Feature, Match, Query
from chiptrail.service.parties.screen import ScreenResult
from chiptrail.types import PartyId

runner = CliRunner()
VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "parties"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("fast") / "cli.db")
    result = runner.invoke(app, ["lists", "load", str(VECTORS / "csl.csv"), "--db", path])
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["Sophon", "--json"],
        ["Sophon", "--country", "CN", "--json"],
        ["Sophon", "--country=cn", "--identifier", "X-1", "--identifier", "Y-2", "--person"],
        ["Sophon"],
        ["Suanneng Technology", "--threshold", "0.5", "--limit", "1"],
        ["--json", "Acme Widgets Inc"],
        ["Acme Widgets Inc"],
        ["Sophon", "--address", "Beijing", "--country", ""],
    ],
)
def test_same_output_and_exit_code_as_the_full_command(
    db: str, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    full = runner.invoke(app, ["screen", *args, "--db", db])
    assert full.exception is None or isinstance(full.exception, SystemExit)
    code = screen_fast([*args, "--db", db])
    assert code == full.exit_code
    assert capsys.readouterr().out == full.stdout  # the full command also draws progress on stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--names", "q.csv"],
        ["Sophon", "--list", str(VECTORS / "sdn.csv")],
        ["Sophon", "--bogus"],
        ["Sophon", "Other"],
        ["Sophon", "--db"],
        ["Sophon", "--", "--json"],
        ["Sophon", "--country", "ZZ"],
        ["Sophon", "--threshold", "1.5"],
        ["Sophon", "--limit", "x"],
        ["   "],
    ],
)
def test_anything_else_goes_to_the_full_command(
    db: str, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert screen_fast([*args, "--db", db] if "--db" not in args else args) is None
    assert capsys.readouterr() == ("", "")


def test_other_databases_go_to_the_full_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert screen_fast(["Sophon", "--db", "postgresql://u@127.0.0.1/none"]) is None
    assert screen_fast(["Sophon", "--db", str(tmp_path / "missing.db")]) is None
    assert capsys.readouterr() == ("", "")


def test_a_fresh_process_answers_without_the_heavy_imports(db: str) -> None:
    script = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write(' '.join(sorted(sys.modules))))\n"
        "sys.argv = ['chiptrail', 'screen', 'Sophon', '--db', sys.argv[1], '--json']\n"
        "from chiptrail.cli.main import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, db], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert json.loads(done.stdout)["matches"][0]["party_id"] == "us-csl.a1b2c3"
    loaded = {m.split(".")[0] for m in done.stderr.split()}
    heavy = {"typer", "rich", "sqlalchemy", "alembic", "numpy", "fastapi", "followthemoney"}
    heavy |= {"normality", "pypinyin", "icu", "httpx", "pydantic"}
    assert not loaded & heavy
    assert "chiptrail.cli.root" not in done.stderr.split()


def _result(name: str, list_id: str) -> ScreenResult:
    match = Match(
        party_id=PartyId("x.1"),
        list_id=list_id,
        score=0.91234,
        matched_name=name,
        name_kind="alias",
        query_form="acme",
        candidate_form="acme",
        method="tokens",
        tokens=(),
        features=(Feature("name", 0.9, f"query 'acme' ~ alias {name!r}"),),
        listed_on=date(2020, 1, 2),
    )
    return ScreenResult(Query("1", "Acme [red]"), (match,))


@pytest.mark.parametrize(
    "result",
    [
        _result("Acme [bold]Trading[/bold] Ltd", "us-csl"),
        _result("Acme Trading", "[bis-entity-list]"),
        ScreenResult(Query("1", "No [match] here"), ()),
    ],
    ids=["markup in a name", "brackets in a list id", "no match"],
)
def test_plain_text_is_what_rich_prints_off_a_terminal(
    result: ScreenResult, capsys: pytest.CaptureFixture[str]
) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, soft_wrap=True, emoji=False)
    assert not rich_styles(buffer, {})
    print_screen_result(result, console)
    print_screen_result(result, None)
    assert capsys.readouterr().out == buffer.getvalue()
    assert (
        "[bis-entity-list]" in buffer.getvalue()
        or "[bold]" in buffer.getvalue()
        or ("[match]" in buffer.getvalue())
    )


def test_rich_styles_follows_richs_terminal_test() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    for env in [{}, {"FORCE_COLOR": "1"}, {"FORCE_COLOR": ""}, {"TTY_COMPATIBLE": "0"}]:
        for stream in (io.StringIO(), Tty()):
            console = Console(file=stream, _environ=env)
            assert rich_styles(stream, env) == console.is_terminal, (env, stream)


@pytest.mark.parametrize(
    ("name", "asked"),
    [
        # PyICU's module itself (not its transliterators) names the ICU that built the tables.
        ("算能科技有限公司", {"icu"}),
        ("算能 Technology Ltd", {"icu"}),
        ("北京算能科技有限公司", {"icu"}),
        # ICU reads 重 by its neighbour (重庆), so the tables do not answer for the name as
        # written; 重庆 is a place of the glossary, so pypinyin is not asked.
        ("重庆算能科技", {"normality", "icu"}),
    ],
)
def test_a_chinese_name_reads_the_stored_tables_with_the_same_output(
    db: str, name: str, asked: set[str]
) -> None:
    script = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write(' '.join(sorted(sys.modules))))\n"
        "sys.argv = ['chiptrail', 'screen', sys.argv[2], '--db', sys.argv[1], '--json']\n"
        "from chiptrail.cli.main import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, db, name],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    full = runner.invoke(app, ["screen", name, "--db", db, "--json"])
    assert (done.returncode, done.stdout) == (full.exit_code, full.stdout)
    assert json.loads(done.stdout)["matches"][0]["party_id"] == "us-csl.a1b2c3"
    loaded = {m.split(".")[0] for m in done.stderr.split()}
    assert loaded & {"pypinyin", "normality", "icu"} == asked


def test_tables_built_by_other_libraries_are_not_read(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from chiptrail.parties import normalise, zh_readings

    normalise.use_readings(None)
    try:
        monkeypatch.setattr(zh_readings, "library_stamp", lambda: "pypinyin-0.1.dist-info")
        assert screen_fast(["算能科技有限公司", "--db", db]) == 1
        assert not normalise._READINGS
        monkeypatch.undo()
        assert screen_fast(["算能科技有限公司", "--db", db]) == 1
        assert normalise._READINGS
    finally:
        normalise.use_readings(None)
    capsys.readouterr()
