"""A case to hand on: its ledger proofs and one self-contained HTML case file.

Owns reading the proofs for a case's ledger leaves, gathering what a case file shows and rendering
the HTML form (the PDF form is ``casepdf``); the case itself comes
from ``service/alerts/findings.get_case``, the checkpoint from ``service/ledger/log``. The file
carries the signed checkpoint, each cited log entry's bytes and its RFC 9162 inclusion proof, and
a small script that recomputes every proof in the reader's browser, offline.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from chiptrail.crypto import b64encode
from chiptrail.errors import InvalidInput, NotFound
from chiptrail.ledger import merkle
from chiptrail.service.alerts.findings import get_case
from chiptrail.service.ledger import rows
from chiptrail.service.ledger.log import sign_log_checkpoint
from chiptrail.service.parties.graph import get_party
from chiptrail.service.parties.status import list_provenance
from chiptrail.service.settings import Settings
from chiptrail.store.database import Database
from chiptrail.store.ledger_tables import checkpoints_table

MAX_PROOFS = 200
"""Ledger leaves proven per case (a case citing more shows the first ones in log order)."""


def case_leaves(case: dict[str, Any]) -> list[int]:
    """The ledger leaf indexes a case's evidence cites, in log order."""
    found = {int(e["leaf_index"]) for e in case["evidence"] if e.get("leaf_index") is not None}
    return sorted(found)[:MAX_PROOFS]


def prove_leaves(db: Database, leaves: list[int], size: int | None = None) -> dict[str, Any]:
    """Entries and inclusion proofs of ``leaves`` in the tree of ``size`` leaves (default: the
    latest signed checkpoint's size, else the current log size).

    Returns:
        ``{"size", "root_hash", "proofs": [{"index", "entry", "leaf_hash", "hashes"}]}`` with
        base64 values; leaves at or beyond ``size`` are left out.

    Raises:
        InvalidInput: ``size`` beyond the log.
    """
    with db.unit() as conn:
        current = rows.log_size(conn)
        if size is None:
            signed = conn.execute(
                select(checkpoints_table.c.size).order_by(checkpoints_table.c.size.desc())
            ).first()
            size = int(signed[0]) if signed is not None else current
        if not 0 <= size <= current:
            raise InvalidInput(f"size must be between 0 and {current}", {"field": "size"})
        store = rows.SqlNodeStore(conn)
        wanted = [i for i in leaves if 0 <= i < size]
        entries = rows.leaf_entries(conn, wanted)
        proofs = [
            {
                "index": i,
                "entry": b64encode(entries[i]),
                "leaf_hash": b64encode(merkle.hash_leaf(entries[i])),
                "hashes": [b64encode(h) for h in merkle.inclusion_proof(store, i, size)],
            }
            for i in wanted
            if i in entries
        ]
        root = b64encode(merkle.root_at(store, size)) if size else ""
    return {"size": size, "root_hash": root, "proofs": proofs}


def case_proofs(db: Database, case_id: str, size: int | None = None) -> dict[str, Any]:
    """The inclusion proofs of every ledger leaf a case cites (see ``prove_leaves``).

    Raises:
        NotFound: no such case. InvalidInput: ``size`` beyond the log.
    """
    return prove_leaves(db, case_leaves(get_case(db, case_id)), size)


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1000px;padding:0 1em;
color:#1d2330}table{border-collapse:collapse;width:100%;margin:.5em 0}td,th{border:1px solid
#ccd;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}th{background:#eef}
.critical,.high{color:#b00;font-weight:bold}.medium{color:#a60}.ok{color:#176b2c;font-weight:bold}
.bad{color:#b00;font-weight:bold}pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f6f6;
padding:.5em}code{overflow-wrap:anywhere}
"""

# RFC 9162 section 2.1.3.2, the same steps as chiptrail.ledger.proof.verify_inclusion.
_VERIFY_JS = """
"use strict";
const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const cat = (...xs) => { const o = new Uint8Array(xs.reduce((n, x) => n + x.length, 0));
  let i = 0; for (const x of xs) { o.set(x, i); i += x.length; } return o; };
const sha = async (b) => new Uint8Array(await crypto.subtle.digest("SHA-256", b));
const eq = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
async function verify(p, size, root) {
  let r = await sha(cat(new Uint8Array([0]), b64(p.entry)));
  let fn = p.index, sn = size - 1;
  for (const h of p.hashes.map(b64)) {
    if (sn === 0) return false;
    if ((fn & 1) || fn === sn) {
      r = await sha(cat(new Uint8Array([1]), h, r));
      while (!(fn & 1) && fn !== 0) { fn >>= 1; sn >>= 1; }
    } else r = await sha(cat(new Uint8Array([1]), r, h));
    fn >>= 1; sn >>= 1;
  }
  return sn === 0 && eq(r, root);
}
(async () => {
  const data = JSON.parse(document.getElementById("proofs").textContent);
  const root = b64(data.root_hash);
  for (const p of data.proofs) {
    const ok = await verify(p, data.size, root).catch(() => false);
    const cell = document.getElementById(`proof-${p.index}`);
    cell.textContent = ok ? "verified" : "NOT verified";
    cell.className = ok ? "ok" : "bad";
  }
})();
"""


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _rows(items: list[list[object]]) -> str:
    return "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in r) + "</tr>" for r in items)


def render_case_file(parts: CaseFileParts) -> str:
    """The case file as one HTML page with no external reference (styles and script inline)."""
    case, proofs, checkpoint, provenance = (
        parts.case,
        parts.proofs,
        parts.checkpoint,
        parts.provenance,
    )
    names = case.get("party_names", {})
    parties = [[p, names.get(p, ""), parts.statuses.get(p, "")] for p in case["parties"]]
    findings = [
        [f["detected_at"], f["severity"], f["rule"], f["channel"], f["subject"], f["explanation"]]
        for f in case["findings"]
    ]
    evidence = [[e["at"], e["kind"], e["ref"], e["detail"]] for e in case["evidence"]]
    lists = [
        [
            m["party_id"],
            m["list_id"],
            m["entry_name"],
            f"{m['score']:.2f}",
            m["list_sha256"][:16],
            m["list_loaded_at"] or "",
            m["explanation"],
        ]
        for m in provenance
    ]
    proof_rows = "".join(
        f"<tr><td>leaf {p['index']}</td><td><code>{_esc(p['leaf_hash'])}</code></td>"
        f"<td>{len(p['hashes'])} hashes</td><td id='proof-{p['index']}'>not checked "
        "(needs a browser with JavaScript)</td></tr>"
        for p in proofs["proofs"]
    )
    history = [[h["at"], h["actor"], h["action"], h["detail"]] for h in case["history"]]
    comments = [[c["created_at"], c["author"], c["body"]] for c in case["comments"]]
    data = json.dumps(proofs).replace("</", "<\\/")
    head = (
        "<tr><th>when (UTC)</th><th>severity</th><th>rule</th><th>channel</th><th>subject</th>"
        "<th>explanation</th></tr>"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>chiptrail case {_esc(case['id'])}</title><style>{_CSS}</style></head><body>"
        f"<h1>Case: {_esc(case['title'])}</h1>"
        f"<p>Case <code>{_esc(case['id'])}</code> · <span class='{_esc(case['severity'])}'>"
        f"{_esc(case['severity'])}</span> · priority {_esc(case['priority'])} · status "
        f"{_esc(case['status'])} · owner {_esc(case['assignee'] or 'nobody')} · channels "
        f"{_esc(', '.join(case['channels']))}</p>"
        f"<h2>Chips ({len(case['chips'])})</h2><p>{_esc(', '.join(case['chips']) or 'none')}</p>"
        f"<h2>Parties</h2><table><tr><th>id</th><th>name</th><th>status</th></tr>{_rows(parties)}"
        f"</table><h2>Timeline of findings</h2><table>{head}{_rows(findings)}</table>"
        "<h2>Evidence in time order</h2><table><tr><th>when</th><th>kind</th><th>source</th>"
        f"<th>detail</th></tr>{_rows(evidence)}</table>"
        "<h2>List provenance</h2><table><tr><th>party</th><th>list</th><th>entry</th>"
        "<th>score</th><th>list version (sha256)</th><th>list date</th><th>why</th></tr>"
        f"{_rows(lists)}</table>"
        f"<h2>Merkle proofs (tree of {proofs['size']} leaves)</h2>"
        "<p>Each cited log entry is included below with its RFC 9162 inclusion proof; the script "
        "in this file recomputes each proof offline and compares it with the root of the signed "
        "checkpoint. Check the checkpoint's signature with <code>chiptrail audit checkpoint"
        "</code> and the log's verifier key.</p>"
        f"<pre id='checkpoint'>{_esc(checkpoint)}</pre>"
        "<table><tr><th>entry</th><th>leaf hash</th><th>proof</th><th>result</th></tr>"
        f"{proof_rows}</table>"
        f"<h2>Triage history</h2><table><tr><th>when</th><th>who</th><th>action</th><th>detail</th>"
        f"</tr>{_rows(history)}</table><h2>Comments</h2><table><tr><th>when</th><th>who</th>"
        f"<th>comment</th></tr>{_rows(comments)}</table>"
        f"<script type='application/json' id='proofs'>{data}</script>"
        f"<script>{_VERIFY_JS}</script></body></html>"
    )


def party_statuses(db: Database, ids: list[str]) -> dict[str, str]:
    """Each party's restricted status as ``parties show`` and ``/v1/parties`` give it (listed, or
    owned 50% or more by restricted parties), in words."""
    out: dict[str, str] = {}
    for pid in ids:
        try:
            view = get_party(db, pid)
        except NotFound:
            out[pid] = "not a stored party"
            continue
        why = view.restrictions[0].explanation if view.restrictions else None
        out[pid] = f"restricted: {why}" if why else "not restricted"
    return out


@dataclass(frozen=True, slots=True)
class CaseFileParts:
    """What a case file shows, in whatever form: the case, the signed checkpoint it is proven
    against, the inclusion proofs at the checkpoint's size, the list provenance and each party's
    restricted status."""

    case: dict[str, Any]
    checkpoint: str
    proofs: dict[str, Any]
    provenance: list[dict[str, Any]]
    statuses: dict[str, str]


def gather_case_file(
    db: Database, settings: Settings, case_id: str, *, now: datetime
) -> CaseFileParts:
    """Sign a checkpoint at the current size, prove every leaf the case cites against it and read
    the list provenance of the case's parties.

    Raises:
        NotFound: no such case (nothing is signed then).
    """
    case = get_case(db, case_id)
    checkpoint = sign_log_checkpoint(db, settings, now=now)
    size = int(checkpoint.splitlines()[1])
    proofs = prove_leaves(db, case_leaves(case), size)
    parties = list(case["parties"])
    return CaseFileParts(
        case, checkpoint, proofs, list_provenance(db, parties), party_statuses(db, parties)
    )


def build_case_file(db: Database, settings: Settings, case_id: str, *, now: datetime) -> str:
    """The HTML case file of ``case_id`` (see ``gather_case_file``).

    Raises:
        NotFound: no such case.
    """
    return render_case_file(gather_case_file(db, settings, case_id, now=now))
