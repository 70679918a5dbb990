"""Findings rendered as interchange text: JSON lines (alerts) and CSV.

No I/O: returns strings; the edges write them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from chiptrail.rules.finding import Finding

CSV_COLUMNS = (
    "id",
    "rule",
    "channel",
    "severity",
    "subject_kind",
    "subject",
    "detected_at",
    "explanation",
    "evidence",
)


def to_jsonl(findings: Iterable[Finding]) -> str:
    """One JSON object per line with ``rule``, ``severity``, ``subject``, ``evidence`` and more."""
    return "".join(json.dumps(f.to_dict(), ensure_ascii=False) + "\n" for f in findings)


def to_csv(findings: Iterable[Finding]) -> str:
    """CSV with a header; ``evidence`` is the refs joined by ``;``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for f in findings:
        d = f.to_dict()
        refs = ";".join(e.ref for e in f.evidence)
        writer.writerow([*(d[c] for c in CSV_COLUMNS[:-1]), refs])
    return buf.getvalue()
