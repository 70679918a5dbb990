"""`chiptrail screen NAME` as a fresh process after `lists load`: wall and CPU time, before/after.

For each source tree (this one, and with --before DIR an older checkout, e.g. from
`git archive COMMIT | tar -x -C DIR`), loads the list files of shared/data/screening into a fresh
SQLite database with that tree's own `chiptrail lists load`, then runs
`chiptrail screen NAME --db DB` (the console script's entry, `chiptrail.cli.main:main`) for
each name, alternating the trees, and reports the median wall time and the median CPU time
(user + system, less sensitive to other load on the machine) per name, next to a bare
`python -c pass`. It also says whether both trees printed the same JSON (`--json`) for each name.
Each tree's modules are compiled to bytecode first, as an installed package's are.

Usage: python benchmarks/bench_screen_cli.py [--before DIR] [--repeat 10] [--shared ../shared]
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NAMES = [
    "ASML Holding N.V.",
    "Sugon Information Industry",
    "OMAROW, Mohamed",
    "150 Aircraft Repair Plant",
    "华为技术有限公司",
    "中芯国际集成电路制造(北京)有限公司",
]
ENTRY = "import sys; sys.argv[0] = 'chiptrail'; from chiptrail.cli.main import main; main()"


def _run(tree: Path, args: list[str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds and stdout of one `chiptrail ARGS` process on ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree), "CHIPTRAIL_CREATE_DB": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - this Python, fixed arguments
        [sys.executable, "-c", ENTRY, *args],
        env=env,
        cwd=tree,  # `python -c` puts the working directory first on sys.path
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{tree}: chiptrail {args[:2]} failed: {done.stderr[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def _bare(repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    here = Path(__file__).resolve().parents[1]
    ap.add_argument("--shared", type=Path, default=here.parent / "shared")
    ap.add_argument("--before", type=Path, help="an older source tree to compare with")
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    found = (args.shared / "data" / "screening").glob("*.json")
    files = sorted(str(f) for f in found if f.name != "lists.json")
    trees = {"after": here, **({"before": args.before.resolve()} if args.before else {})}
    for tree in trees.values():
        # As `pip install` does: bytecode compiled ahead (this shell may set
        # PYTHONDONTWRITEBYTECODE, and then every run would compile every module from source).
        compileall.compile_dir(tree / "chiptrail", quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        dbs = {}
        for label, tree in trees.items():
            dbs[label] = str(Path(tmp) / f"{label}.db")
            wall, _, _ = _run(tree, ["lists", "load", *files, "--db", dbs[label]])
            print(f"{label}: {len(files)} lists loaded in {wall:.1f} s ({tree})")
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        same: dict[str, bool] = {}
        for name in NAMES:
            outputs = {
                label: _run(tree, ["screen", name, "--db", dbs[label], "--json"])[2]
                for label, tree in trees.items()
            }
            same[name] = len(set(outputs.values())) == 1
            for _ in range(args.repeat):
                for label, tree in trees.items():
                    wall, cpu, _ = _run(tree, ["screen", name, "--db", dbs[label]])
                    times.setdefault((label, name), []).append((wall, cpu))
        bare_wall, bare_cpu = _bare(args.repeat)
    load = os.getloadavg()[0]
    labels = list(trees)
    print(f"\nmedians of {args.repeat} runs, load average {load:.1f} at the end")
    head = " | ".join(f"{lab} wall | {lab} CPU" for lab in reversed(labels))
    print(f"| `chiptrail screen NAME` | {head} | same JSON |")
    print("|---|" + "---|" * (2 * len(labels) + 1))
    for name in NAMES:
        cells = []
        for label in reversed(labels):
            runs = times[(label, name)]
            wall = statistics.median(w for w, _ in runs) * 1000
            cpu = statistics.median(c for _, c in runs) * 1000
            cells.append(f"{wall:,.0f} ms | {cpu:,.0f} ms")
        shown = ("yes" if same[name] else "no") if len(labels) > 1 else "-"
        print(f"| {name} | {' | '.join(cells)} | {shown} |")
    print(f"| `python -c pass` | {bare_wall * 1000:,.0f} ms | {bare_cpu * 1000:,.0f} ms |")


if __name__ == "__main__":
    main()
