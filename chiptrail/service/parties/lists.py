"""Use cases of screening: load and update restricted-party lists, screen names.

Each public function is one unit of work behind one CLI command and one HTTP route. A list is
parsed completely before anything is written, then swapped in one transaction, so a half-read file
never replaces a good list. Ownership, party pages and volumes are in ``parties_graph.py``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import httpx
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from chiptrail.crypto import sha256
from chiptrail.errors import Conflict, InvalidInput, Unavailable
from chiptrail.parties.formats.detect import ListFormat, detect_format, parse_list
from chiptrail.parties.formats.ofac import parse_ofac_sdn
from chiptrail.parties.model import Directorship, Ownership, Party, PartySet, from_ftm, to_ftm
from chiptrail.parties.screening import ScreeningIndex, build_index
from chiptrail.service.parties.screen import ScreenResult as ScreenResult
from chiptrail.service.parties.screen import screen_names as screen_names
from chiptrail.service.parties.screen import to_wire as to_wire
from chiptrail.service.parties.stored_index import INDEX_ID, fingerprint_of
from chiptrail.store.database import Database
from chiptrail.store.parties_tables import (
    party_entities,
    party_links,
    party_lists,
    party_screening_index,
)

log = logging.getLogger(__name__)

OFFICIAL_SOURCES: dict[str, tuple[str, ListFormat]] = {
    "us-csl": (
        "https://data.trade.gov/downloadable_consolidated_screening_list/v1/consolidated.csv",
        ListFormat.CSL_CSV,
    ),
    "ofac-sdn": ("https://www.treasury.gov/ofac/downloads/sdn.csv", ListFormat.OFAC_SDN),
}
"""Official downloads fetched by ``chiptrail lists update`` (list id -> URL, format)."""

OFAC_COMPANIONS = {
    "alt": "https://www.treasury.gov/ofac/downloads/alt.csv",
    "add": "https://www.treasury.gov/ofac/downloads/add.csv",
}


@dataclass(frozen=True, slots=True)
class ListInfo:
    """A stored list: id, title, format, where it came from, when, how many entries."""

    list_id: str
    title: str
    format: str
    source: str
    sha256: str
    entry_count: int
    loaded_at: datetime


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What one list load stored, and the warnings met while parsing."""

    list_id: str
    format: str
    entries: int
    ownerships: int
    directorships: int
    warnings: tuple[str, ...]
    replaced: bool


def _countries_cell(party: Party) -> str:
    return ",".join(party.countries)[:300]


def _entity_row(party: Party, list_id: str | None) -> dict[str, object]:
    return {
        "entity_id": party.party_id,
        "schema": party.schema,
        "caption": party.name,
        "list_id": list_id,
        "countries": _countries_cell(party),
        "data": json.dumps(to_ftm(party), ensure_ascii=False, sort_keys=True),
    }


def _link_rows(parsed: PartySet, list_id: str | None) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [
        {
            "link_id": o.link_id,
            "kind": "ownership",
            "source_id": o.owner_id,
            "target_id": o.asset_id,
            "percentage": o.percentage,
            "role": None,
            "list_id": list_id,
        }
        for o in parsed.ownerships
    ]
    rows += [
        {
            "link_id": d.link_id,
            "kind": "directorship",
            "source_id": d.director_id,
            "target_id": d.organization_id,
            "percentage": None,
            "role": d.role,
            "list_id": list_id,
        }
        for d in parsed.directorships
    ]
    return rows


def store_party_set(conn: Connection, parsed: PartySet, list_id: str | None) -> None:
    """Insert parsed parties and links (inside the caller's transaction).

    Raises:
        Conflict: an id is already stored (by another list or as an ordinary party).
    """
    entities = [_entity_row(p, list_id) for p in parsed.parties]
    links = _link_rows(parsed, list_id)
    try:
        for chunk in range(0, len(entities), 1000):
            conn.execute(insert(party_entities), entities[chunk : chunk + 1000])
        if links:
            conn.execute(insert(party_links), links)
    except IntegrityError as exc:
        raise Conflict(
            "a party or link id in this input is already stored (ids must be unique across "
            "lists and parties)",
            {"error": str(exc.orig)[:300]},
        ) from exc


def load_list(
    db: Database,
    data: bytes,
    *,
    now: datetime,
    fmt: ListFormat | None = None,
    list_id: str | None = None,
    title: str | None = None,
    source: str = "file",
    parsed: PartySet | None = None,
    index: bool = True,
) -> LoadResult:
    """Parse a list file completely, then replace the stored list of that id in one transaction.

    Args:
        db: the database.
        data: the file's bytes.
        now: load time (UTC).
        fmt: the format; detected from the bytes when None.
        list_id: the list's id (default: from the file or the format).
        title: a human title (default: the list id).
        source: where the bytes came from (path or URL), recorded with the list.
        parsed: an already parsed form of ``data`` (OFAC with companions).
        index: rebuild and store the screening index in the same transaction (False: the caller
            loads more lists and stores the index once, see ``load_lists``).

    Raises:
        InvalidInput: unreadable file; nothing is stored. Conflict: ids collide with another list.
    """
    fmt = fmt or detect_format(data)
    result = parsed or parse_list(data, fmt, list_id)
    if not result.parties:
        raise InvalidInput("the list file holds no entries; the stored list is left unchanged")
    lid = list_id or result.parties[0].list_id or fmt.value
    result = replace(result, parties=tuple(replace(p, list_id=lid) for p in result.parties))
    with db.unit() as conn:
        existed = conn.execute(
            select(party_lists.c.list_id).where(party_lists.c.list_id == lid)
        ).first()
        conn.execute(delete(party_links).where(party_links.c.list_id == lid))
        conn.execute(delete(party_entities).where(party_entities.c.list_id == lid))
        conn.execute(delete(party_lists).where(party_lists.c.list_id == lid))
        conn.execute(
            insert(party_lists).values(
                list_id=lid,
                title=title or lid,
                format=fmt.value,
                source=source[:1000],
                sha256=sha256(data).hex(),
                entry_count=len(result.parties),
                loaded_at=now,
            )
        )
        store_party_set(conn, result, lid)
        if index:
            store_index(conn, now=now)
    for w in result.warnings:
        log.warning("%s: %s", lid, w)
    return LoadResult(
        lid,
        fmt.value,
        len(result.parties),
        len(result.ownerships),
        len(result.directorships),
        result.warnings,
        existed is not None,
    )


def load_ofac_sdn(
    db: Database,
    sdn: bytes,
    *,
    now: datetime,
    alt: bytes | None = None,
    add: bytes | None = None,
    list_id: str = "ofac-sdn",
    source: str = "file",
) -> LoadResult:
    """Load OFAC's ``sdn.csv`` with its ``alt.csv`` (aliases) and ``add.csv`` (addresses).

    Raises:
        InvalidInput: any of the three files is malformed; nothing is stored.
    """
    parsed = parse_ofac_sdn(sdn, alt, add, list_id=list_id)
    return load_list(
        db, sdn, now=now, fmt=ListFormat.OFAC_SDN, list_id=list_id, source=source, parsed=parsed
    )


def download(url: str, *, timeout_s: float) -> bytes:
    """GET ``url`` and return the body.

    Raises:
        Unavailable: offline, DNS failure, timeout or an HTTP error status.
    """
    try:
        response = httpx.get(url, timeout=timeout_s, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise Unavailable(
            f"cannot download {url}: {exc.__class__.__name__}: {exc}. This machine may be "
            "offline: download the file elsewhere and run `chiptrail lists update --from FILE`",
            {"url": url},
        ) from exc
    return response.content


def update_lists(
    db: Database, *, now: datetime, list_ids: Sequence[str] = (), timeout_s: float = 30.0
) -> list[LoadResult]:
    """Download the official list files and load each (all downloads first, then the loads;
    the screening index is built once, with the last list).

    Raises:
        Unavailable: a download failed (nothing is changed). InvalidInput: unknown list id.
    """
    wanted = list(list_ids) or list(OFFICIAL_SOURCES)
    unknown = [lid for lid in wanted if lid not in OFFICIAL_SOURCES]
    if unknown:
        raise InvalidInput(
            f"no official download for {', '.join(unknown)}; known: {', '.join(OFFICIAL_SOURCES)}"
        )
    fetched = {lid: download(OFFICIAL_SOURCES[lid][0], timeout_s=timeout_s) for lid in wanted}
    extra = {}
    if "ofac-sdn" in fetched:
        extra = {k: download(u, timeout_s=timeout_s) for k, u in OFAC_COMPANIONS.items()}

    def load(lid: str, data: bytes) -> Loader:
        url, fmt = OFFICIAL_SOURCES[lid]
        parsed = None
        if fmt is ListFormat.OFAC_SDN:
            parsed = parse_ofac_sdn(data, extra.get("alt"), extra.get("add"), list_id=lid)
        return lambda index: load_list(
            db, data, now=now, fmt=fmt, list_id=lid, source=url, parsed=parsed, index=index
        )

    return _store_each(db, [load(lid, data) for lid, data in fetched.items()], now=now)


def list_lists(db: Database) -> list[ListInfo]:
    """Every stored list, by id."""
    with db.unit() as conn:
        rows = conn.execute(select(party_lists).order_by(party_lists.c.list_id)).all()
    return [
        ListInfo(r.list_id, r.title, r.format, r.source, r.sha256, r.entry_count, r.loaded_at)
        for r in rows
    ]


def party_from_row(data: str, list_id: str | None) -> Party | Ownership | Directorship | None:
    """Rebuild a stored entity (FtM JSON) with its list id."""
    value = from_ftm(json.loads(data))
    if isinstance(value, Party):
        return replace(value, list_id=list_id)
    return value


def load_listed_parties(conn: Connection) -> list[Party]:
    """Every stored list entry."""
    rows = conn.execute(
        select(party_entities.c.data, party_entities.c.list_id)
        .where(party_entities.c.list_id.is_not(None))
        .order_by(party_entities.c.entity_id)
    ).all()
    out = []
    for r in rows:
        value = party_from_row(r.data, r.list_id)
        if isinstance(value, Party):
            out.append(value)
    return out


def lists_fingerprint(conn: Connection) -> str:
    """Names the stored lists (ids, file hashes, load times) and the index format: an index
    stored under another fingerprint is stale."""
    rows = conn.execute(
        select(party_lists.c.list_id, party_lists.c.sha256, party_lists.c.loaded_at).order_by(
            party_lists.c.list_id
        )
    ).all()
    return fingerprint_of((r[0], r[1], r[2]) for r in rows)


def store_index(conn: Connection, *, now: datetime) -> ScreeningIndex | None:
    """Build the index over every stored list and store it (inside the caller's transaction).

    Returns None (and stores nothing) when no list is loaded.
    """
    parties = load_listed_parties(conn)
    conn.execute(delete(party_screening_index))
    if not parties:
        return None
    index = build_index(parties)
    conn.execute(
        insert(party_screening_index).values(
            index_id=INDEX_ID,
            fingerprint=lists_fingerprint(conn),
            built_at=now,
            data=index.to_bytes(),
        )
    )
    return index


def build_stored_index(db: Database, *, now: datetime | None = None) -> ScreeningIndex:
    """The screening index over every stored list: the one stored at ``lists load`` when it is
    current (milliseconds), else rebuilt and stored again (seconds).

    Args:
        db: the database.
        now: when a rebuilt index is stamped as built (default: the lists' latest load time).

    Raises:
        InvalidInput: no list is loaded yet.
    """
    with db.unit() as conn:
        fingerprint = lists_fingerprint(conn)
        row = conn.execute(
            select(party_screening_index.c.fingerprint, party_screening_index.c.data).where(
                party_screening_index.c.index_id == INDEX_ID
            )
        ).first()
        if row is not None and row.fingerprint == fingerprint:
            try:
                return ScreeningIndex.from_bytes(bytes(row.data))
            except InvalidInput as exc:
                log.warning("stored screening index unreadable (%s); rebuilding", exc.message)
        latest = conn.execute(
            select(party_lists.c.loaded_at).order_by(party_lists.c.loaded_at.desc())
        ).first()
        built_at = now or (latest[0] if latest else None)
        index = store_index(conn, now=built_at) if built_at is not None else None
    if index is None:
        raise InvalidInput(
            "no screening list is loaded: run `chiptrail lists update` (online) or "
            "`chiptrail lists load FILE`, or pass --list FILE"
        )
    return index


def build_file_index(data: bytes, fmt: ListFormat | None = None) -> ScreeningIndex:
    """A screening index over one list file (not stored)."""
    parsed = parse_list(data, fmt)
    if not parsed.parties:
        raise InvalidInput("the list file holds no entries")
    return build_index(parsed.parties)


def load_lists(
    db: Database,
    files: Sequence[tuple[str, bytes]],
    *,
    now: datetime,
    fmt: ListFormat | None = None,
    list_id: str | None = None,
    title: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[LoadResult]:
    """Parse every ``(source, bytes)`` file first, then store each list (``load_list``) and build
    the screening index once, in the last list's transaction (not once per list).

    A file that does not parse (an index file, an empty list) stops the load before anything is
    stored, and the error names it. When storing a list fails (ids that collide with another
    list), the lists stored before it keep their place and the index is built over them before
    the error is raised.

    Raises:
        InvalidInput: a file does not parse, naming it; nothing is stored.
    """
    say = progress or (lambda _msg: None)
    parsed: list[tuple[str, bytes, ListFormat, PartySet]] = []
    for n, (source, data) in enumerate(files, start=1):
        say(f"parsing {n}/{len(files)}: {source}")
        try:
            kind = fmt or detect_format(data)
            result = parse_list(data, kind, list_id)
            if not result.parties:
                raise InvalidInput("the list file holds no entries")
        except InvalidInput as exc:
            raise InvalidInput(
                f"{source}: {exc.message}; nothing was stored", {**exc.details, "file": source}
            ) from exc
        parsed.append((source, data, kind, result))

    def load(n: int, source: str, data: bytes, kind: ListFormat, result: PartySet) -> Loader:
        def run(index: bool) -> LoadResult:
            say(f"storing {n}/{len(parsed)}: {source} ({len(result.parties)} entries)")
            return load_list(
                db,
                data,
                now=now,
                fmt=kind,
                list_id=list_id,
                title=title,
                source=source,
                parsed=result,
                index=index,
            )

        return run

    return _store_each(db, [load(n, *p) for n, p in enumerate(parsed, start=1)], now=now)


Loader = Callable[[bool], LoadResult]
"""Stores one list; the argument says whether to build the screening index with it."""


def _store_each(db: Database, loads: Sequence[Loader], *, now: datetime) -> list[LoadResult]:
    """Run list loads in order, building the screening index with the last one only. When a load
    fails, the index is built over the lists stored before it, then the error is raised."""
    out: list[LoadResult] = []
    for n, load in enumerate(loads, start=1):
        try:
            out.append(load(n == len(loads)))
        except Exception:
            if out:
                with db.unit() as conn:
                    store_index(conn, now=now)
            raise
    return out
