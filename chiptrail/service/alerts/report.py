"""The HTML findings report: detection table, map (embedded PNG), ranked cases with timelines.

Offline: matplotlib draws the map (no tiles); the page has no external references.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from chiptrail.rules import Finding
from chiptrail.rules.engine import Case
from chiptrail.rules.view import CustodyEvent, LocationFix
from chiptrail.sim.metrics import Detection
from chiptrail.sim.world import World
from chiptrail.types import Verdict

_MAX_CASES = 40
_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f3f3f3}.critical{color:#b00;font-weight:bold}
.high{color:#c60}.medium{color:#a80}.low,.info{color:#666}details{margin:.4em 0}
code{font-size:90%}img{max-width:100%;border:1px solid #ddd}
"""


# The dashboard's offline outlines (generated from timezonefinder/tzdata data); read as a file so
# the service layer does not import the API package. Missing file: the map has no outlines.
_WORLD = Path(__file__).resolve().parent.parent / "api" / "web" / "world.geojson"
_CONCERN = frozenset({"CN", "HK", "MO", "RU", "BY", "IR", "KP", "SY", "CU", "VE"})


def _draw_outlines(ax: Any) -> None:
    try:
        doc = json.loads(_WORLD.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    rings: list[list[list[float]]] = []
    shaded: list[bool] = []
    for feature in doc.get("features", []):
        geom = feature.get("geometry") or {}
        polys = geom.get("coordinates", [])
        if geom.get("type") == "Polygon":
            polys = [polys]
        concern = feature.get("properties", {}).get("iso2") in _CONCERN
        for poly in polys:
            if poly and len(poly[0]) >= 3:
                rings.append(poly[0])
                shaded.append(concern)
    faces = ["#f6d5d5" if c else "none" for c in shaded]
    ax.add_collection(PolyCollection(rings, facecolors=faces, edgecolors="#bbb", linewidths=0.4))


def _map_png(world: World, fixes: Sequence[LocationFix], found: Sequence[Finding]) -> str:
    fig = Figure(figsize=(11, 5.5), dpi=90)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    _draw_outlines(ax)
    ax.set_xlim(-130, 160)
    ax.set_ylim(-45, 65)
    ax.grid(True, color="#ddd", linewidth=0.5)
    ax.set_xlabel("longitude (degrees)")
    ax.set_ylabel("latitude (degrees)")
    ax.set_title(
        "Sites, landmarks and where flagged chips were located (countries of concern shaded)"
    )
    ax.scatter(
        [m.lon for m in world.landmarks],
        [m.lat for m in world.landmarks],
        marker="^",
        s=30,
        c="#4a7",
        label="landmark",
    )
    for m in world.landmarks:
        ax.annotate(m.landmark_id.split("-", 2)[-1], (m.lon, m.lat), fontsize=6, color="#4a7")
    ax.scatter(
        [s.lon for s in world.site_list],
        [s.lat for s in world.site_list],
        s=12,
        c="#888",
        label="declared site",
    )
    flagged = {f.subject for f in found}
    sites = world.sites
    bad = [f for f in fixes if f.verdict is Verdict.VIOLATION and f.chip_id in flagged]
    for fix in bad[:400]:
        site = sites.get(fix.site_id or "")
        if site is not None:
            ax.plot(
                [site.lon, fix.lon], [site.lat, fix.lat], color="#d33", alpha=0.15, linewidth=0.8
            )
    ax.scatter(
        [f.lon for f in bad],
        [f.lat for f in bad],
        marker="x",
        s=40,
        c="#d33",
        label="VIOLATION fix (chip located here)",
    )
    ax.legend(loc="lower left", fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _detection_table(detection: Detection) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{v.injected}</td><td>{v.caught}</td>"
        f"<td>{v.missed}</td><td>{v.false_alarms}</td>"
        f"<td>{(sum(v.ttd_days) / len(v.ttd_days)) if v.ttd_days else 0:.1f}</td></tr>"
        for k, v in detection.channels.items()
    )
    return (
        "<table><tr><th>channel</th><th>injected</th><th>caught</th><th>missed</th>"
        f"<th>false alarms</th><th>mean days to detect</th></tr>{rows}</table>"
        f"<p>False-alarm rate: {detection.false_alarm_rate:.2%} of "
        f"{detection.legit_chips} legitimate chips.</p>"
    )


def _custody_html(events: Sequence[CustodyEvent]) -> str:
    """A chip's custody as a regulator would read it: when, what, who, where, which log leaf."""
    if not events:
        return ""
    rows = "".join(
        f"<tr><td>{e.at:%Y-%m-%d %H:%M}</td><td>{html.escape(e.biz_step)}</td>"
        f"<td>{html.escape(e.party_id)}</td><td>{html.escape(e.country)}"
        f"{' -> ' + html.escape(e.destination_country) if e.destination_country else ''}</td>"
        f"<td>{html.escape(e.site_id or '')}</td><td>leaf {e.leaf_index}</td></tr>"
        for e in events
    )
    return (
        "<table><tr><th>when (UTC)</th><th>step</th><th>party</th><th>country</th>"
        f"<th>site</th><th>log</th></tr>{rows}</table>"
    )


def _case_html(
    rank: int, case: Case, names: dict[str, str], custody: Sequence[CustodyEvent] = ()
) -> str:
    items = []
    for f in case.findings[:12]:
        ev = "".join(
            f"<li><code>{html.escape(e.ref)}</code> {html.escape(e.detail)}</li>"
            for e in f.evidence[:6]
        )
        items.append(
            f"<p><span class='{f.severity.value}'>{f.severity.value}</span> "
            f"<b>{html.escape(f.rule)}</b> ({html.escape(f.channel)}) on "
            f"{html.escape(names.get(f.subject, f.subject))}, detected "
            f"{f.detected_at:%Y-%m-%d %H:%M} UTC: {html.escape(f.explanation)}</p>"
            f"<ul>{ev}</ul>"
        )
    more = len(case.findings) - len(items)
    timeline = sorted({(f.detected_at.date(), f.rule) for f in case.findings})
    tl = " → ".join(f"{t:%Y-%m-%d} {html.escape(r)}" for t, r in timeline)
    parties = ", ".join(f"{html.escape(names.get(p, p))} ({html.escape(p)})" for p in case.parties)
    chips = f"{len(case.chips)} chips" if case.chips else "no chips"
    return (
        f"<details{' open' if rank <= 5 else ''}><summary>#{rank} "
        f"<span class='{case.severity.value}'>{case.severity.value}</span> "
        f"<b>{html.escape(case.title)}</b> — {html.escape(', '.join(case.channels))}: "
        f"{html.escape(', '.join(case.rules))} (score {case.score:g})</summary>"
        f"<p>Parties: {parties or 'none'}. {chips}"
        f"{': ' + html.escape(', '.join(case.chips[:20])) if case.chips else ''}"
        f"{' …' if len(case.chips) > 20 else ''}.</p>"
        f"<p>Timeline: {tl}</p>{_custody_html(custody)}{''.join(items)}"
        f"{f'<p>… and {more} more findings of this case.</p>' if more > 0 else ''}</details>"
    )


def render_report(
    world: World,
    fixes: Sequence[LocationFix],
    found: Sequence[Finding],
    cases: Sequence[Case],
    detection: Detection,
    events: Sequence[CustodyEvent] = (),
) -> str:
    """The report as one self-contained HTML page; ``events`` give chip cases their custody."""
    png = _map_png(world, fixes, found)
    shown_cases = cases[:_MAX_CASES]
    lead = {c.case_id: (c.chips[0] if c.chips else c.subject) for c in shown_cases}
    wanted = set(lead.values())
    custody: dict[str, list[CustodyEvent]] = {}
    for e in sorted(events, key=lambda e: (e.at, e.leaf_index)):
        for chip in e.chip_ids:
            if chip in wanted:
                custody.setdefault(chip, []).append(e)
    names = {str(pid): p.name for pid, p in world.parties.items()}
    shown = "".join(
        _case_html(i, c, names, custody.get(lead[c.case_id], ()))
        for i, c in enumerate(shown_cases, start=1)
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>chiptrail report</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>chiptrail diversion report</h1><p>World seed {world.seed}, "
        f"{len(world.chip_ids)} chips, as of {world.now:%Y-%m-%d %H:%M} UTC. "
        f"{len(found)} findings in {len(cases)} cases.</p>"
        f"<h2>Detection</h2>{_detection_table(detection)}"
        f"<h2>Map</h2><img alt='map of sites and flagged fixes' src='data:image/png;base64,{png}'>"
        f"<h2>Cases (top {min(len(cases), _MAX_CASES)}, most urgent first; one case per incident: "
        f"findings about the same lot, order, buyer or ownership group)</h2>{shown}"
        "</body></html>"
    )


def write_report(
    path: Path,
    world: World,
    fixes: Sequence[LocationFix],
    found: Sequence[Finding],
    cases: Sequence[Case],
    detection: Detection,
    events: Sequence[CustodyEvent] = (),
) -> Path:
    """Render the report and write it to ``path`` (parents created); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page = render_report(world, fixes, found, cases, detection, events)
    path.write_text(page, encoding="utf-8")
    return path.resolve()
