"""One-name screening latency after `lists load`: stored index vs rebuilding it (the old path).

Loads the 13 list files of shared/data/screening into a fresh SQLite database (read in place), then
times, in this process and in the same run:
- rebuild: read every stored entry, build the index, screen one name (what every
  `chiptrail screen NAME` did before the index was stored);
- stored: read the stored index (`build_stored_index`), screen one name (a cold API process or a
  CLI call);
- warm: screen one name on an index already in memory (the API after its first request);
- the CLI end to end (`chiptrail screen NAME --db ...` in a subprocess), against the bare Python
  start-up and `import chiptrail.cli.main` measured alike.

Usage: python benchmarks/bench_screen_latency.py [--shared ../shared] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from chiptrail.parties.screening import Query, build_index
from chiptrail.service.parties import lists as service
from chiptrail.store.migrate import open_database

NAMES = [
    "华为技术有限公司",
    "Sugon Information Industry",
    "ASML Holding N.V.",
    "OOO Gazprom Transgaz",
]


def _run(cmd: list[str]) -> str:
    """Run this Python with fixed arguments; its stdout (exit 1 = a match, as `screen` says)."""
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)  # noqa: S603
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{cmd[:3]} failed ({done.returncode}): {done.stderr[-500:]}")
    return done.stdout


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    files = sorted(
        f for f in (args.shared / "data" / "screening").glob("*.json") if f.name != "lists.json"
    )
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.db"
        db = open_database(f"sqlite:///{db_path}")
        t0 = time.perf_counter()
        for f in files:
            service.load_list(db, f.read_bytes(), now=datetime.now(UTC), source=str(f))
        load_s = time.perf_counter() - t0

        def rebuild() -> None:
            with db.unit() as conn:
                parties = service.load_listed_parties(conn)
            service.screen_names(build_index(parties), [Query("q", NAMES[0])])

        def stored() -> None:
            service.screen_names(service.build_stored_index(db), [Query("q", NAMES[0])])

        index = service.build_stored_index(db)

        def warm() -> None:
            for n in NAMES:
                service.screen_names(index, [Query("q", n)])

        rebuild_ms = _median_ms(rebuild, max(1, args.repeat // 2))
        stored_ms = _median_ms(stored, args.repeat)
        warm_ms = _median_ms(warm, args.repeat) / len(NAMES)
        py = [sys.executable, "-c"]
        bare_ms = _median_ms(lambda: _run([*py, "pass"]), args.repeat)
        import_ms = _median_ms(lambda: _run([*py, "import chiptrail.cli.main"]), args.repeat)
        script = "from chiptrail.cli.main import main; main()"
        cli = [*py, script, "screen", NAMES[0], "--db", str(db_path), "--json"]
        cli_ms = _median_ms(lambda: _run(cli), args.repeat)
        shown = _run(cli)
    print(f"{len(files)} lists loaded (index built and stored at load) in {load_s:.1f} s")
    print(f"rebuild index + screen one name (old path): {rebuild_ms:8.1f} ms")
    print(
        f"stored index + screen one name (new path):  {stored_ms:8.1f} ms  "
        f"({rebuild_ms / stored_ms:.1f}x faster)"
    )
    print(f"screen one name, index in memory (API warm): {warm_ms:8.1f} ms")
    print(f"CLI `chiptrail screen NAME` end to end:      {cli_ms:8.1f} ms")
    first = shown.splitlines()[0][:100] if shown else "(no output)"
    print(f"  its output starts: {first}")
    print(
        f"  of which python start-up {bare_ms:.0f} ms, import chiptrail.cli.main {import_ms:.0f} ms"
    )


if __name__ == "__main__":
    main()
