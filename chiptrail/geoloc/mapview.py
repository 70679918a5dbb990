"""Offline map of one target: regions, disks, landmarks and country outlines as SVG or HTML.

No I/O and no map tiles: the caller passes the GeoJSON of geojson.region_geojson and the country
outlines of borders.country_outlines; this module only draws them (equirectangular view).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

from chiptrail.geoloc.geojson import JsonObj

Outline = tuple[str, np.ndarray, np.ndarray]
"""(ISO2, lat array, lon array) of one country ring."""

_STYLE = {
    "proven_region": ('fill="#d62728" fill-opacity="0.18" stroke="#d62728" stroke-width="1.5"'),
    "likely_region": ('fill="#ff7f0e" fill-opacity="0.35" stroke="#ff7f0e" stroke-width="1.5"'),
    "proven_disk": 'fill="none" stroke="#1f77b4" stroke-width="0.6" stroke-dasharray="4 3"',
}


def map_bbox(fc: JsonObj, pad: float = 0.25) -> tuple[float, float, float, float]:
    """(lon_min, lon_max, lat_min, lat_max) around the proven region, padded."""
    xs: list[float] = []
    ys: list[float] = []
    for f in fc["features"]:  # type: ignore[attr-defined]
        if f["properties"]["kind"] in ("proven_region", "estimate"):
            g = f["geometry"]
            pts = g["coordinates"][0] if g["type"] == "Polygon" else [g["coordinates"]]
            xs += [p[0] for p in pts]
            ys += [p[1] for p in pts]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    w = max(x1 - x0, 0.2)
    h = max(y1 - y0, 0.2)
    return x0 - pad * w, x1 + pad * w, max(y0 - pad * h, -90.0), min(y1 + pad * h, 90.0)


def render_svg(
    fc: JsonObj, outlines: Sequence[Outline], *, width: int = 900, title: str = ""
) -> str:
    """SVG text of a region FeatureCollection with country outlines behind it."""
    x0, x1, y0, y1 = map_bbox(fc)
    kx = np.cos(np.radians((y0 + y1) / 2.0))
    height = int(width * (y1 - y0) / max((x1 - x0) * kx, 1e-9))
    height = max(200, min(height, 1400))

    def pt(lon: float, lat: float) -> str:
        # Longitudes are shifted by whole turns towards the view, for antimeridian regions.
        lon = lon + 360.0 * round(((x0 + x1) / 2.0 - lon) / 360.0)
        return f"{(lon - x0) / (x1 - x0) * width:.1f},{(y1 - lat) / (y1 - y0) * height:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="#eef5fb"/>',
    ]
    for code, lat, lon in outlines:
        pts = " ".join(pt(o, a) for a, o in zip(lat.tolist(), lon.tolist(), strict=True))
        parts.append(
            f'<polygon points="{pts}" fill="#fbfaf3" stroke="#888" stroke-width="0.7">'
            f"<title>{html.escape(code)}</title></polygon>"
        )
    feats = fc["features"]
    for kind in ("proven_disk", "proven_region", "likely_region"):
        for f in feats:  # type: ignore[attr-defined]
            if f["properties"]["kind"] != kind:
                continue
            ring = f["geometry"]["coordinates"][0]
            pts = " ".join(pt(p[0], p[1]) for p in ring)
            label = html.escape(str(f["properties"].get("countries", "")))
            parts.append(
                f'<polygon points="{pts}" {_STYLE[kind]}><title>{kind} {label}</title></polygon>'
            )
    for f in feats:  # type: ignore[attr-defined]
        props = f["properties"]
        if f["geometry"]["type"] != "Point":
            continue
        x, y = (float(v) for v in pt(*f["geometry"]["coordinates"]).split(","))
        if props["kind"] == "estimate":
            parts.append(
                f'<circle cx="{x}" cy="{y}" r="4" fill="black"><title>estimate</title></circle>'
            )
        else:
            name = html.escape(str(props["landmark_id"]))
            parts.append(
                f'<path d="M{x},{y - 6} L{x - 5},{y + 4} L{x + 5},{y + 4} Z" fill="#1f77b4">'
                f"<title>{name}: {props['proven_radius_km']} km</title></path>"
                f'<text x="{x + 6}" y="{y + 4}">{name}</text>'
            )
    if title:
        parts.append(f'<text x="8" y="16" font-size="14">{html.escape(title)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def render_html(fc: JsonObj, outlines: Sequence[Outline], *, title: str = "") -> str:
    """A self-contained HTML page (inline SVG, no scripts, no network) of the map."""
    svg = render_svg(fc, outlines, title=title)
    legend = (
        "<p>Red: proven region (light speed + margins). Orange: likely region (calibrated). "
        "Blue dashed: each landmark's proven disk. Black dot: point estimate.</p>"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body>{svg}{legend}</body></html>"
    )
