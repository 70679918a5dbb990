"""Group commit for the custody log: many requests' envelopes appended as one batch.

A request verifies its envelopes first (``prepare_submission``: parsing, EPCIS validation,
Ed25519, with no lock held) and hands them to the log's ``Sequencer``. The sequencer's one
thread takes whatever has queued, appends it in one transaction under the log lock (one tree
update, one head move, one multi-row INSERT per table) and answers each request only after that
transaction committed, so an acknowledgement still means durable and a crash loses only
unacknowledged work. Under the lock it re-checks what may have changed since the request verified
(the key still active and the same, the envelope and nonce not yet used, also across the batch);
a request refused there, or by the custody chain, fails alone and the rest of the batch is
appended without it. Several processes each run a sequencer: the log head's row lock (PostgreSQL
``FOR UPDATE``, SQLite's write lock) makes their batches take turns. The append is planned by
``group.plan_append``, the same code ``submit_envelopes`` runs; its reads and writes go through
``group_pg`` on PostgreSQL and ``group_sql`` elsewhere. The thread keeps one connection and the
tree's frontier between groups (``GroupSession``). On PostgreSQL the round trip that commits a
group also begins the next one's transaction, locks the head and reads for it: the requests that
queued while the group was planned become the next group, so a group costs one round trip.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import IntegrityError

from chiptrail.errors import ChiptrailError, Conflict, InvalidInput, Unavailable
from chiptrail.ledger.keys import KeyRecord
from chiptrail.ledger.submission import parse_envelope
from chiptrail.service.ledger import rows
from chiptrail.service.ledger.events import MAX_ENVELOPES, _verify_envelopes
from chiptrail.service.ledger.group import (
    Checked,
    EventReceipt,
    FrontierCache,
    GroupReads,
    GroupWrites,
    SubmissionResult,
    plan_append,
    refuse_stale,
)
from chiptrail.service.ledger.group_pg import PgGroupStore
from chiptrail.service.ledger.group_sql import SqlGroupStore
from chiptrail.store.database import Database

log = logging.getLogger(__name__)

KEY_CACHE_SIZE = 100_000
"""Key records a sequencer keeps between requests (cleared when full)."""

MAX_GROUP_ENVELOPES = 2_000
"""A batch takes queued requests until it holds this many envelopes (one request may exceed it)."""


@dataclass(frozen=True, slots=True)
class PreparedSubmission:
    """One request's envelopes, parsed and verified, with the public key each was checked with."""

    checked: tuple[Checked, ...]
    keys: Mapping[str, KeyRecord]

    @property
    def events(self) -> int:
        """Number of events the request carries (its receipts)."""
        return sum(len(c.events) for c in self.checked)


def prepare_submission(
    db: Database,
    envelopes: Sequence[bytes | dict[str, object]],
    *,
    now: datetime,
    known_keys: Mapping[str, KeyRecord] | None = None,
) -> PreparedSubmission:
    """Parse and verify a request's envelopes outside the log lock.

    Args:
        known_keys: key records already read (the sequencer's cache); only the others are read
            from the database. A stale record is harmless: the key's status and bytes are
            checked again under the lock before anything is appended.

    Raises:
        InvalidInput: no envelopes, too many, malformed, schema-invalid EPCIS.
        VerificationError: unsigned, badly signed, unknown/revoked key, stale, nonce repeated.
    """
    if not envelopes:
        raise InvalidInput("no envelopes to submit", {"field": "envelopes"})
    if len(envelopes) > MAX_ENVELOPES:
        raise InvalidInput(f"at most {MAX_ENVELOPES} envelopes per batch")
    parsed = [parse_envelope(e) for e in envelopes]
    keys = dict(known_keys or {})
    missing = sorted({e.key_id for e in parsed} - set(keys))
    if missing:
        with db.unit() as conn:
            keys.update(rows.get_keys(conn, missing))
    checked = _verify_envelopes(parsed, keys, now)
    used = {c.envelope.key_id: keys[c.envelope.key_id] for c in checked}
    return PreparedSubmission(tuple(checked), used)


Outcome = SubmissionResult | ChiptrailError


class GroupStore(Protocol):
    """A sequencer's connection: one transaction a group (``group_pg``, ``group_sql``)."""

    def begin(self, checked: Sequence[Checked], frontier: FrontierCache) -> GroupReads:
        """Open a transaction, lock the log head, read for ``checked``."""
        ...

    def commit(
        self,
        writes: GroupWrites,
        reads: GroupReads,
        ahead: Sequence[Checked],
        frontier: FrontierCache,
    ) -> GroupReads | None:
        """Write, commit (durable on return), advance ``frontier``; may begin the next
        group's transaction for ``ahead`` and return its reads."""
        ...

    def rollback(self) -> None:
        """End the open transaction, writing nothing."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


@dataclass
class GroupSession:
    """What a sequencer keeps between groups: its own connection (no pool checkout and
    liveness ping per group), the frontier of the tree it last committed, and, on PostgreSQL,
    the next group's transaction begun in the round trip that committed the last one."""

    db: Database
    frontier: FrontierCache = field(default_factory=FrontierCache)
    store: GroupStore = field(init=False)

    def __post_init__(self) -> None:
        self.store = PgGroupStore(self.db) if self.db.is_postgres else SqlGroupStore(self.db)

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back)."""
        self.store.close()


Take = Callable[[], Sequence["PreparedSubmission"]]
"""Hands over the requests queued for the next group (possibly none)."""


@dataclass
class GroupOutcome:
    """A group's answers and, when its commit read ahead, the next group with its reads."""

    outcomes: list[Outcome]
    ahead: Sequence[PreparedSubmission] = ()
    ahead_reads: GroupReads | None = None


def append_group(
    db: Database,
    group: Sequence[PreparedSubmission],
    *,
    now: datetime,
    session: GroupSession | None = None,
) -> list[Outcome]:
    """Append every request of ``group`` that still passes, in one transaction; one outcome each.

    A request refused under the lock (key revoked since, replayed envelope or nonce, a custody
    claim the chain refuses) gets its error; the others are appended without it. When a failure
    cannot be traced to one request, each is appended alone (the old per-request path).
    """
    own = session is None
    session = session or GroupSession(db)
    try:
        return append_group_on(session, group, now).outcomes
    finally:
        if own:
            session.close()


def append_group_on(
    session: GroupSession,
    group: Sequence[PreparedSubmission],
    now: datetime,
    reads: GroupReads | None = None,
    take: Take | None = None,
) -> GroupOutcome:
    """``append_group`` on a sequencer's ``session``.

    Args:
        reads: read in the session's open transaction for ``group`` (by the previous group's
            commit, ``GroupOutcome.ahead_reads``); None: this call begins the transaction.
        take: hands over the next group; this group's commit begins its transaction and reads
            for it where the store can (PostgreSQL), else the next call begins afresh.
    """
    store = session.store
    outcomes: dict[int, Outcome] = {}
    live = list(range(len(group)))
    while live:
        owners = [(i, pos) for i in live for pos in range(len(group[i].checked))]
        try:
            if reads is None:
                reads = store.begin([c for i in live for c in group[i].checked], session.frontier)
            refused = refuse_stale(reads, [(group[i].checked, group[i].keys) for i in live])
            outcomes.update({live[j]: exc for j, exc in refused.items()})
            live = [i for j, i in enumerate(live) if j not in refused]
            if not live:
                store.rollback()
                break
            owners = [(i, pos) for i in live for pos in range(len(group[i].checked))]
            flat = [c for i in live for c in group[i].checked]
            result, writes = plan_append(flat, reads, now)
        except ChiptrailError as exc:
            store.rollback()
            reads = None
            culprit = _owner(exc, owners)
            if culprit is None and len(live) > 1:
                return GroupOutcome(_one_by_one(session, group, live, outcomes, now))
            culprit = live[0] if culprit is None else culprit
            outcomes[culprit] = exc
            live = [i for i in live if i != culprit]
            continue
        except BaseException:
            store.rollback()
            raise
        ahead = take() if take is not None else ()
        try:
            ahead_reads = store.commit(
                writes, reads, [c for p in ahead for c in p.checked], session.frontier
            )
        except (ChiptrailError, IntegrityError) as exc:  # a write or the commit failed
            store.rollback()
            if len(live) > 1:  # a concurrent writer beat the checks, or an odd value
                return GroupOutcome(_one_by_one(session, group, live, outcomes, now), ahead)
            if isinstance(exc, ChiptrailError):
                outcomes[live[0]] = exc
            else:
                conflict = Conflict("conflicting concurrent submission; retry")
                conflict.__cause__ = exc
                outcomes[live[0]] = conflict
            return GroupOutcome(_answers(outcomes, group), ahead)
        except BaseException:
            store.rollback()
            raise
        outcomes.update(_split(result, group, live))
        return GroupOutcome(_answers(outcomes, group), ahead, ahead_reads)
    return GroupOutcome(_answers(outcomes, group))


def _answers(outcomes: Mapping[int, Outcome], group: Sequence[PreparedSubmission]) -> list[Outcome]:
    return [outcomes[i] for i in range(len(group))]


def _one_by_one(
    session: GroupSession,
    group: Sequence[PreparedSubmission],
    live: Sequence[int],
    outcomes: dict[int, Outcome],
    now: datetime,
) -> list[Outcome]:
    for i in live:
        outcomes[i] = append_group_on(session, [group[i]], now).outcomes[0]
    return _answers(outcomes, group)


def _owner(exc: ChiptrailError, owners: Sequence[tuple[int, int]]) -> int | None:
    """The request whose envelope the error names (``details["envelope"]``, a flat position),
    with the position rewritten to the request's own numbering."""
    position = exc.details.get("envelope")
    if not isinstance(position, int) or not 0 <= position < len(owners):
        return None
    request, own = owners[position]
    exc.details["envelope"] = own
    return request


def _split(
    result: SubmissionResult, group: Sequence[PreparedSubmission], live: Sequence[int]
) -> dict[int, Outcome]:
    """The batch's receipts cut back into each request's (they are in request order), and each
    anomaly given to the request whose new leaf it names."""
    out: dict[int, Outcome] = {}
    start = 0
    by_leaf: dict[int, int] = {}
    cuts: dict[int, tuple[EventReceipt, ...]] = {}
    for i in live:
        n = group[i].events
        cuts[i] = result.receipts[start : start + n]
        start += n
        by_leaf.update({r.leaf_index: i for r in cuts[i] if not r.duplicate})
    for i in live:
        anomalies = tuple(a for a in result.anomalies if by_leaf.get(a.leaf_index) == i)
        out[i] = SubmissionResult(cuts[i], result.size, anomalies)
    return out


# --- the sequencer thread ----------------------------------------------------------------------


@dataclass
class _Job:
    prepared: PreparedSubmission
    future: Future[SubmissionResult] = field(default_factory=Future)


class Sequencer:
    """The one appender of a log in this process: a thread that group-commits queued requests.

    ``submit`` returns a future that completes once the request's batch committed (or with the
    request's own refusal). The thread starts on first use and stops on ``close``.
    """

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime],
        max_group_envelopes: int = MAX_GROUP_ENVELOPES,
    ) -> None:
        self._db = db
        self._clock = clock
        self._max = max_group_envelopes
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._keys: dict[str, KeyRecord] = {}
        self._ahead: list[_Job] = []  # the next group (sequencer thread only)
        self._stopping = False
        self.batches = 0
        self.requests = 0

    def prepare(
        self, envelopes: Sequence[bytes | dict[str, object]], *, now: datetime
    ) -> PreparedSubmission:
        """``prepare_submission`` with this process's cache of key records (keys are checked
        again under the lock, so a record revoked since is refused there)."""
        ids = set()
        for e in envelopes:
            key_id = e.get("key_id") if isinstance(e, dict) else None
            if isinstance(key_id, str):
                ids.add(key_id)
        with self._lock:
            known = {k: self._keys[k] for k in ids if k in self._keys}
        prepared = prepare_submission(self._db, envelopes, now=now, known_keys=known)
        with self._lock:
            if len(self._keys) > KEY_CACHE_SIZE:
                self._keys.clear()
            self._keys.update(prepared.keys)
        return prepared

    def submit(self, prepared: PreparedSubmission) -> Future[SubmissionResult]:
        """Queue a verified request; the future answers once its batch is durable.

        Raises:
            Unavailable: the sequencer was closed.
        """
        job = _Job(prepared)
        with self._lock:
            if self._closed:
                raise Unavailable("the log's sequencer is shut down")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="chiptrail-log-sequencer", daemon=True
                )
                self._thread.start()
            self._queue.put(job)
        return job.future

    def _forget(self, keys: Mapping[str, KeyRecord]) -> None:
        with self._lock:
            for key_id in keys:
                self._keys.pop(key_id, None)

    def close(self, timeout_s: float = 30.0) -> None:
        """Append what has queued, then stop the thread."""
        with self._lock:
            self._closed = True
            thread = self._thread
            self._queue.put(None)
        if thread is not None:
            thread.join(timeout_s)

    def _take(self, first: _Job | None) -> tuple[list[_Job], bool]:
        """``first`` and whatever has queued behind it, up to the group size; and whether the
        stop sign was met."""
        jobs = [] if first is None else [first]
        n = sum(len(j.prepared.checked) for j in jobs)
        while n < self._max:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
            n += len(job.prepared.checked)
        return jobs, False

    def _run(self) -> None:
        session = GroupSession(self._db)
        try:
            self._serve(session)
        finally:
            session.close()

    def _take_ahead(self) -> list[PreparedSubmission]:
        """The next group, handed to the commit of the current one (its reads come back with
        that commit); kept in ``_ahead`` until answered."""
        if self._stopping:
            return []
        more, self._stopping = self._take(None)
        self._ahead.extend(more)
        return [j.prepared for j in more]

    def _serve(self, session: GroupSession) -> None:
        reads: GroupReads | None = None
        while self._ahead or not self._stopping:
            if self._ahead:
                jobs, self._ahead = self._ahead, []
            else:
                first = self._queue.get()
                if first is None:
                    return
                jobs, self._stopping = self._take(first)
            group = [j.prepared for j in jobs]
            try:
                done = append_group_on(session, group, self._clock(), reads, self._take_ahead)
            except Exception as exc:  # every waiting request must get an answer
                log.exception("group append failed")
                for job in jobs:
                    job.future.set_exception(exc)
                reads = None
                continue
            self.batches += 1
            self.requests += len(jobs)
            reads = done.ahead_reads
            for job, outcome in zip(jobs, done.outcomes, strict=True):
                if isinstance(outcome, ChiptrailError):
                    self._forget(job.prepared.keys)  # maybe revoked: read them again
                    job.future.set_exception(outcome)
                else:
                    job.future.set_result(outcome)
