"""The PDF form of a case file: the same sections as the HTML file, printable, made in Python.

Owns laying out ``casefile.CaseFileParts`` as a PDF with fpdf2 (no browser). A PDF cannot run a
script, so each inclusion proof is checked here when the file is made, and printed with the
``chiptrail audit inclusion`` command that re-checks it offline; the proofs and the signed
checkpoint are also attached to the PDF as ``proofs.json`` and ``checkpoint.txt``. Text is set in
the DejaVu fonts that matplotlib ships; a character those fonts lack prints as ``?``.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import WrapMode
from fpdf.fonts import FontFace

from chiptrail.crypto import b64decode
from chiptrail.errors import InvalidInput, VerificationError
from chiptrail.ledger.merkle import hash_leaf
from chiptrail.ledger.proof import verify_inclusion
from chiptrail.service.alerts.casefile import CaseFileParts, gather_case_file
from chiptrail.service.settings import Settings
from chiptrail.store.database import Database

_MPL = importlib.util.find_spec("matplotlib")
_FONTS = Path(_MPL.origin if _MPL and _MPL.origin else ".").parent / "mpl-data" / "fonts" / "ttf"
"""matplotlib's DejaVu fonts, found without importing matplotlib."""
_SANS, _BOLD, _MONO = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf"
ENTRY_PRINT_LIMIT = 2_000
"""Characters of a log entry printed in the proof section (the attachment has every byte)."""


@cache
def _glyphs(font: str) -> frozenset[int]:
    with TTFont(_FONTS / font, lazy=True) as ttf:
        return frozenset(ttf.getBestCmap())


def printable(text: object, font: str = _SANS) -> str:
    """``text`` with every character the font cannot draw replaced by ``?``."""
    have = _glyphs(font)
    value = "" if text is None else str(text)
    return "".join(c if ord(c) in have or c in "\n\t" else "?" for c in value)


def when(value: object) -> str:
    """An ISO 8601 time as ``YYYY-MM-DD HH:MM:SS`` (UTC, as stored); anything else as given."""
    text = "" if value is None else str(value)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return text
    return at.strftime("%Y-%m-%d %H:%M:%S")


def check_proofs(proofs: dict[str, Any]) -> dict[int, str]:
    """Each proof's result as the PDF prints it: ``verified`` or ``NOT verified: why``."""
    out: dict[int, str] = {}
    root = b64decode(proofs["root_hash"], "root_hash") if proofs["root_hash"] else b""
    for p in proofs["proofs"]:
        try:
            leaf = hash_leaf(b64decode(p["entry"], "entry"))
            path = [b64decode(h, "proof") for h in p["hashes"]]
            verify_inclusion(leaf, int(p["index"]), int(proofs["size"]), path, root)
        except (InvalidInput, VerificationError) as exc:
            out[int(p["index"])] = f"NOT verified: {exc.message}"
        else:
            out[int(p["index"])] = "verified"
    return out


def audit_command(proof: dict[str, Any], size: int, root: str) -> str:
    """The ``chiptrail audit inclusion`` command that re-checks one proof offline."""
    path = ",".join(proof["hashes"])
    return (
        f"chiptrail audit inclusion --index {proof['index']} --size {size} --root {root} "
        f"--leaf-hash {proof['leaf_hash']}" + (f" --proof {path}" if path else "")
    )


class _Doc(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.case_title = title
        self.add_font("sans", "", _FONTS / _SANS)
        self.add_font("sans", "B", _FONTS / _BOLD)
        self.add_font("mono", "", _FONTS / _MONO)
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(15, 15, 15)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("sans", "", 7)
        self.set_text_color(110)
        self.cell(0, 5, printable(f"chiptrail case file · {self.case_title}"), align="L")
        self.cell(0, 5, f"page {self.page_no()}/{{nb}}", align="R")
        self.set_text_color(0)

    def heading(self, text: str) -> None:
        self.ln(3)
        self.set_font("sans", "B", 12)
        self.multi_cell(0, 7, printable(text), new_x="LMARGIN", new_y="NEXT", align="L")
        self.set_font("sans", "", 8.5)

    def para(self, text: str, *, mono: bool = False, size: float = 8.5) -> None:
        font = _MONO if mono else _SANS
        self.set_font("mono" if mono else "sans", "", size)
        self.multi_cell(
            0,
            size * 0.5,
            printable(text, font),
            new_x="LMARGIN",
            new_y="NEXT",
            align="L",
            wrapmode=WrapMode.CHAR if mono else WrapMode.WORD,
        )
        self.set_font("sans", "", 8.5)

    def grid(
        self, head: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[int]
    ) -> None:
        if not rows:
            self.para("none")
            return
        self.set_font("sans", "", 7.5)
        with self.table(
            col_widths=tuple(widths),
            headings_style=FontFace(emphasis="BOLD", fill_color=(238, 238, 255)),
            line_height=3.6,
            text_align="LEFT",
        ) as table:
            header = table.row()
            for h in head:
                header.cell(h)
            for r in rows:
                row = table.row()
                for c in r:
                    row.cell(printable(c))
        self.set_font("sans", "", 8.5)


def render_case_pdf(parts: CaseFileParts, *, made_at: datetime) -> bytes:
    """The case file as PDF bytes (see the module docstring for what it holds)."""
    case, proofs = parts.case, parts.proofs
    names = case.get("party_names", {})
    doc = _Doc(str(case["title"]))
    doc.set_title(printable(f"chiptrail case {case['id']}: {case['title']}"))
    doc.set_creator("chiptrail")
    doc.set_creation_date(made_at)
    doc.add_page()
    doc.set_font("sans", "B", 16)
    doc.multi_cell(
        0, 8, printable(f"Case: {case['title']}"), new_x="LMARGIN", new_y="NEXT", align="L"
    )
    doc.para(
        f"Case {case['id']} · {case['severity']} · priority {case['priority']} · status "
        f"{case['status']} · owner {case['assignee'] or 'nobody'} · channels "
        f"{', '.join(case['channels'])} · rules {', '.join(case['rules'])} · "
        f"made {made_at.isoformat(timespec='seconds')}"
    )
    doc.heading(f"Chips ({len(case['chips'])})")
    doc.para(", ".join(case["chips"]) or "none", mono=True, size=7.5)
    doc.heading("Parties")
    doc.grid(
        ["id", "name", "status"],
        [[p, names.get(p, ""), parts.statuses.get(p, "")] for p in case["parties"]],
        [3, 4, 6],
    )
    doc.heading("Timeline of findings")
    doc.grid(
        ["when (UTC)", "severity", "rule", "subject", "explanation"],
        [
            [when(f["detected_at"]), f["severity"], f["rule"], f["subject"], f["explanation"]]
            for f in case["findings"]
        ],
        [3, 2, 3, 4, 9],
    )
    doc.heading("Evidence in time order")
    doc.grid(
        ["when (UTC)", "kind", "source", "detail"],
        [[when(e["at"]), e["kind"], e["ref"], e["detail"]] for e in case["evidence"]],
        [3, 2, 4, 9],
    )
    doc.heading("List provenance")
    doc.grid(
        ["party", "list", "entry", "score", "list version (sha256)", "list date", "why"],
        [
            [
                m["party_id"],
                m["list_id"],
                m["entry_name"],
                f"{m['score']:.2f}",
                m["list_sha256"][:16],
                when(m["list_loaded_at"] or ""),
                m["explanation"],
            ]
            for m in parts.provenance
        ],
        [3, 3, 3, 1, 3, 3, 5],
    )
    _proof_section(doc, parts)
    doc.heading("Triage history")
    doc.grid(
        ["when (UTC)", "who", "action", "detail"],
        [[when(h["at"]), h["actor"], h["action"], h["detail"]] for h in case["history"]],
        [3, 3, 2, 8],
    )
    doc.heading("Comments")
    doc.grid(
        ["when (UTC)", "who", "comment"],
        [[when(c["created_at"]), c["author"], c["body"]] for c in case["comments"]],
        [3, 3, 10],
    )
    doc.embed_file(
        bytes=json.dumps(proofs, indent=1).encode(),
        basename="proofs.json",
        modification_date=made_at,
    )
    doc.embed_file(
        bytes=parts.checkpoint.encode(), basename="checkpoint.txt", modification_date=made_at
    )
    return bytes(doc.output())


def _proof_section(doc: _Doc, parts: CaseFileParts) -> None:
    proofs = parts.proofs
    size, root = int(proofs["size"]), str(proofs["root_hash"])
    results = check_proofs(proofs)
    doc.heading(f"Merkle proofs (tree of {size} leaves)")
    doc.para(
        "Each cited log entry is listed with its RFC 9162 inclusion proof against the root of the "
        "signed checkpoint below; each was checked when this file was made. To check one offline, "
        "run the command printed under it. Check the checkpoint's signature with `chiptrail "
        "audit checkpoint checkpoint.txt --key KEY` and the log's verifier key. The proofs "
        "(entries in full) and the checkpoint are attached to this PDF as proofs.json and "
        "checkpoint.txt."
    )
    doc.para(f"root hash: {root}", mono=True, size=7.5)
    doc.para(parts.checkpoint.rstrip("\n"), mono=True, size=7)
    for p in proofs["proofs"]:
        doc.ln(1.5)
        doc.set_font("sans", "B", 8.5)
        doc.multi_cell(
            0, 4.5, f"leaf {p['index']}: {results[int(p['index'])]}", new_x="LMARGIN", new_y="NEXT"
        )
        doc.para(f"leaf hash: {p['leaf_hash']}", mono=True, size=7)
        doc.para(
            f"audit path ({len(p['hashes'])} hashes): {' '.join(p['hashes'])}", mono=True, size=7
        )
        entry = b64decode(p["entry"], "entry").decode("utf-8", "replace")
        cut = entry[:ENTRY_PRINT_LIMIT] + (" [...]" if len(entry) > ENTRY_PRINT_LIMIT else "")
        doc.para(f"entry: {cut}", mono=True, size=6.5)
        doc.para(audit_command(p, size, root), mono=True, size=6.5)
    if not proofs["proofs"]:
        doc.para("This case cites no log entry.")


def build_case_pdf(db: Database, settings: Settings, case_id: str, *, now: datetime) -> bytes:
    """The PDF case file of ``case_id`` (see ``casefile.gather_case_file``).

    Raises:
        NotFound: no such case.
    """
    return render_case_pdf(gather_case_file(db, settings, case_id, now=now), made_at=now)
