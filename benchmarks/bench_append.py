"""Benchmark signed appends to the custody log on SQLite, against the naive-root baseline.

Each submitted event is its own signed envelope (one Ed25519 verification per event); a batch
is one ``submit_envelopes`` call (one transaction) holding B envelopes. Envelopes are signed
before the clock starts, so the figures are the server's cost: parse the envelope, verify the
signature, validate and hash the EPCIS event, append leaf + Merkle nodes + registry rows.

- ours: ``service.ledger.submit_envelopes`` (tree maintained incrementally in the node store);
- baseline: the same submissions, plus the naive log's root computation after every append:
  ``merkle.root_from_leaf_hashes`` over every leaf so far (what a log without a node store must
  do to sign a checkpoint). Run side by side in the same process on fresh databases.
- profile: cProfile of one B=100 run, the share of time inside Ed25519 verification.

Both logs start with ``--prefill`` synthetic leaves (default 100,000) so the baseline pays for a
realistic log; the baseline is timed over its first ``--baseline-batches`` batches and its
per-event cost scaled up (it grows with the log, so this flatters the baseline).

Run: ``PYTHONPATH=. python benchmarks/bench_append.py [--events 10000] [--batches 1,100,10000]``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from chiptrail.crypto import Ed25519Signer, verify_signature
from chiptrail.ledger import merkle
from chiptrail.ledger.submission import parse_envelope, sign_submission
from chiptrail.service.ledger import events as svc
from chiptrail.service.ledger import rows
from chiptrail.store.database import Database
from chiptrail.store.migrate import open_database
from tests.ledger.helpers import chip, document, event

SIGNER = Ed25519Signer(bytes([1]) * 32)


def _fresh_db(folder: Path, name: str) -> Database:
    db = open_database(f"sqlite:///{folder / name}.db")
    now = datetime.now(UTC)
    svc.register_party(db, party_id="vendor", name="V", country="US", kind="Company", now=now)
    svc.add_party_key(db, party_id="vendor", public_key=SIGNER.public_key, now=now)
    return db


def _prefill(db: Database, count: int) -> None:
    """Append ``count`` synthetic leaves (no signatures) so both logs start at a realistic size."""
    now = datetime.now(UTC)
    step = 50_000
    for start in range(0, count, step):
        end = min(count, start + step)
        with db.unit() as conn:
            size = rows.lock_log_head(conn)
            entries = [b"prefill %d" % i for i in range(start, end)]
            rows.insert_leaves(
                conn,
                [
                    {
                        "leaf_index": size + i,
                        "kind": "party",
                        "event_id": None,
                        "party_id": None,
                        "entry": e,
                        "appended_at": now,
                    }
                    for i, e in enumerate(entries)
                ],
            )
            new_size = merkle.append_leaves(
                rows.SqlNodeStore(conn), size, [merkle.hash_leaf(e) for e in entries]
            )
            rows.set_log_size(conn, new_size)


def _envelopes(count: int, offset: int) -> list[bytes | dict[str, object]]:
    now = datetime.now(UTC)
    return [
        sign_submission(
            document(event("commissioning", [chip(offset + i)])),
            party_id="vendor",
            signer=SIGNER,
            nonce=f"bench-{offset + i:09d}",
            signed_at=now,
        ).to_bytes()
        for i in range(count)
    ]


def _naive_root(db: Database) -> bytes:
    with db.unit() as conn:
        size = rows.log_size(conn)
        entries = rows.read_entries(conn, 0, size)
    return merkle.root_from_leaf_hashes([merkle.hash_leaf(e) for e in entries])


def _run(
    db: Database, batches: list[list[bytes | dict[str, object]]], after: Callable[[], object]
) -> float:
    start = time.perf_counter()
    for batch in batches:
        svc.submit_envelopes(db, batch, now=datetime.now(UTC))
        after()
    return time.perf_counter() - start


def _verify_only(count: int) -> float:
    """Ed25519 verifications per second on this machine (the floor of the signed path)."""
    envelopes = [parse_envelope(e) for e in _envelopes(count, 10**8)]
    messages = [e.signing_input() for e in envelopes]
    start = time.perf_counter()
    for env, message in zip(envelopes, messages, strict=True):
        verify_signature(SIGNER.public_key, message, env.signature)
    return count / (time.perf_counter() - start)


def _profile(folder: Path) -> None:
    db = _fresh_db(folder, "profile")
    batches = [_envelopes(100, n * 100) for n in range(20)]
    profiler = cProfile.Profile()
    profiler.enable()
    _run(db, batches, lambda: None)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = max(v[3] for v in stats.stats.values())  # type: ignore[attr-defined]
    verify = sum(
        v[3]
        for k, v in stats.stats.items()
        if k[2] == "verify" and "ed25519" in k[0].lower()  # type: ignore[attr-defined]
    )
    verify = verify or sum(
        v[3]
        for k, v in stats.stats.items()
        if k[2] == "verify_signature"  # type: ignore[attr-defined]
    )
    print(f"\nprofile (B=100, 2,000 events): Ed25519 verify {verify / total:.0%} of {total:.2f} s")
    stats.sort_stats("tottime").print_stats(12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000, help="events per batch size")
    parser.add_argument("--batches", default="1,100,10000", help="batch sizes (envelopes)")
    parser.add_argument("--max-single", type=int, default=2_000, help="events for B=1")
    parser.add_argument("--prefill", type=int, default=100_000, help="leaves already logged")
    parser.add_argument(
        "--baseline-batches", type=int, default=10, help="batches timed for the baseline"
    )
    args = parser.parse_args()
    print("batch | events | ours events/s | baseline events/s | speed-up")
    last_rate = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for size in [int(b) for b in args.batches.split(",")]:
            total = min(args.events, args.max_single) if size == 1 else args.events
            total = max(size, total - total % size)
            signed = _envelopes(total, 0)
            batches = [signed[i : i + size] for i in range(0, total, size)]
            ours_db = _fresh_db(folder, f"ours{size}")
            _prefill(ours_db, args.prefill)
            ours_s = _run(ours_db, batches, lambda: None)
            base_db = _fresh_db(folder, f"base{size}")
            _prefill(base_db, args.prefill)
            base_batches = batches[: args.baseline_batches]
            base_events = sum(len(b) for b in base_batches)
            base_s = _run(base_db, base_batches, lambda db=base_db: _naive_root(db))  # type: ignore[misc]
            base_s *= total / base_events  # per-event cost, scaled to the same number of events
            with ours_db.unit() as conn:
                stored_root = merkle.root_at(rows.SqlNodeStore(conn), rows.log_size(conn))
            if stored_root != _naive_root(ours_db):
                raise SystemExit("the node store root differs from the naive root")
            last_rate = total / ours_s
            print(
                f"{size:>5} | {total:>6} | {total / ours_s:>13,.0f} | {total / base_s:>17,.0f} | "
                f"{base_s / ours_s:.2f}x"
            )
        verify_rate = _verify_only(2_000)
        print(
            f"\nEd25519 verify alone: {verify_rate:,.0f}/s; the last end-to-end run spent "
            f"{last_rate / verify_rate:.0%} of its time verifying signatures"
        )
        _profile(folder)


if __name__ == "__main__":
    main()
