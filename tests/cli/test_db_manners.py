"""CLI manners around the database and the server port: a mistyped --db is refused, not created;
a file that is not a database and an unreachable server say so without a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chiptrail.cli.main import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_implicit_create(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHIPTRAIL_CREATE_DB", raising=False)


def test_a_missing_database_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    result = runner.invoke(app, ["findings", "list", "--db", str(missing)])
    assert result.exit_code == 2
    assert "no database at" in result.output
    assert "db upgrade" in result.output
    assert not missing.exists()


def test_db_upgrade_and_demo_create_one(tmp_path: Path) -> None:
    made = tmp_path / "new.db"
    assert runner.invoke(app, ["db", "upgrade", "--db", str(made)]).exit_code == 0
    assert runner.invoke(app, ["findings", "list", "--db", str(made)]).exit_code == 0


def test_a_file_that_is_not_a_database_is_bad_input(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("not a database at all\n" * 100)
    result = runner.invoke(app, ["findings", "list", "--db", str(bogus)])
    assert result.exit_code == 2
    assert "not a usable SQLite database" in result.output
    assert "Traceback" not in result.output


def test_an_unreachable_server_is_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    url = f"postgresql+psycopg://nobody@127.0.0.1:{port}/none?connect_timeout=2"
    pytest.importorskip("psycopg")
    result = runner.invoke(app, ["findings", "list", "--db", url])
    assert result.exit_code == 69
    assert "cannot reach the database" in result.output


def test_serve_refuses_a_bad_port_and_a_port_in_use(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    assert runner.invoke(app, ["db", "upgrade", "--db", str(db)]).exit_code == 0
    assert runner.invoke(app, ["serve", "--port", "99999", "--db", str(db)]).exit_code == 2
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["serve", "--port", str(port), "--db", str(db)])
    assert result.exit_code == 69
    assert "pick another --port" in result.output


def test_lists_load_names_a_file_that_is_not_a_list_and_stores_nothing(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    assert runner.invoke(app, ["db", "upgrade", "--db", str(db)]).exit_code == 0
    good = Path(__file__).resolve().parents[1] / "vectors" / "parties" / "csl.csv"
    index = tmp_path / "lists.json"
    index.write_text('{"lists": ["bis_entity_list.json"]}')
    result = runner.invoke(app, ["lists", "load", str(good), str(index), "--db", str(db)])
    assert result.exit_code == 2
    assert "lists.json" in result.output
    assert "nothing was stored" in result.output
    shown = runner.invoke(app, ["lists", "show", "--db", str(db), "--json"])
    assert shown.stdout.strip() == "[]"
