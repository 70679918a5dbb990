"""Use cases of location verification from RTTs: locate, verify, plan and map.

The CLI (``chiptrail geoloc ...``) and the HTTP routes (``/v1/geoloc/...``) both end here; the
geometry is ``chiptrail.geoloc``'s. This module owns the cache of the country raster on disk.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from chiptrail.errors import InvalidInput
from chiptrail.geoloc import (
    BorderIndex,
    Calibration,
    DeclaredSite,
    LandmarkPlan,
    LandmarkSet,
    LocateOptions,
    LocateResult,
    LocationVerdict,
    PairSeparation,
    PlacePair,
    RowError,
    RttModel,
    RttTable,
    VettingReport,
    calibrate_landmarks,
    great_circle_km,
    judge_targets,
    landmark_rtt_matrix,
    load_border_index,
    locate_chunks,
    plan_landmarks,
)
from chiptrail.geoloc.borders import (
    border_data_version,
    border_index_from_arrays,
    border_index_to_arrays,
    country_outlines,
)
from chiptrail.geoloc.bounds import LIKELY_FLOOR_SHARE, likely_radius_km, proven_radius_km
from chiptrail.geoloc.formats import parse_landmark_rows, parse_pair_rows, parse_rtt_rows
from chiptrail.geoloc.geojson import region_geojson
from chiptrail.geoloc.mapview import Outline, map_bbox, render_html, render_svg
from chiptrail.geoloc.region import concat_results
from chiptrail.geoloc.vetting import vet_landmarks
from chiptrail.service.settings import Settings

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]
"""Called with (targets done, targets total) after each chunk."""


def load_borders(settings: Settings | None = None) -> BorderIndex:
    """The country raster, cached as ``<data_dir>/cache/<version>.npz`` (built on first use)."""
    if settings is None:
        return load_border_index()
    path = Path(settings.data_dir) / "cache" / f"borders-{border_data_version()}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                return border_index_from_arrays({k: data[k] for k in data.files})
        except (OSError, ValueError, KeyError):
            log.warning("country raster cache %s unreadable; rebuilding", path)
    index = load_border_index()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez_compressed(buf, **border_index_to_arrays(index))  # type: ignore[arg-type]
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(buf.getvalue())
        tmp.replace(path)
    except OSError:
        log.warning("could not cache the country raster under %s", path.parent)
    return index


@dataclass(frozen=True, slots=True)
class LocateRun:
    """Outcome of locating a batch of targets.

    Attributes:
        landmarks: the landmarks used (after vetting).
        rtt: the measurements, restricted to those landmarks.
        result: one row per target.
        calibration: the per-landmark lines used (fallback lines when no calibration input).
        vetting: the vetting report when landmark-to-landmark RTTs were given.
        errors: rejected input rows (and targets left without any measurement).
    """

    landmarks: LandmarkSet
    rtt: RttTable
    result: LocateResult
    calibration: Calibration
    vetting: VettingReport | None
    errors: tuple[RowError, ...]

    def rows(self) -> Iterator[dict[str, object]]:
        """Output lines of ``chiptrail geoloc locate`` (DESIGN.md contract, more keys allowed)."""
        ids = self.landmarks.ids
        for i in range(len(self.result)):
            row = self.result.row(i)
            b = int(self.result.binding_landmark[i])
            row["binding_landmark"] = ids[b] if b >= 0 else None
            yield row


def raise_if_strict(errors: tuple[RowError, ...], strict: bool) -> None:
    """Under ``--strict``, any rejected row fails the run as bad input."""
    if strict and errors:
        shown = "; ".join(str(e) for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise InvalidInput(
            f"{len(errors)} bad input row(s): {shown}{more}",
            {"errors": [str(e) for e in errors[:100]]},
        )


def locate_measurements(
    landmarks: LandmarkSet,
    rtt: RttTable,
    calibration_rtt: RttTable | None = None,
    *,
    errors: tuple[RowError, ...] = (),
    options: LocateOptions | None = None,
    borders: BorderIndex | None = None,
    strict: bool = False,
    progress: ProgressFn | None = None,
    floor_share: float = LIKELY_FLOOR_SHARE,
) -> LocateRun:
    """Vet and calibrate the landmarks (when landmark-to-landmark RTTs are given), then locate.

    Args:
        landmarks: parsed landmarks.
        rtt: parsed target measurements (columns = ``landmarks``).
        calibration_rtt: landmark-to-landmark measurements in the rtt form, or None.
        errors: rows already rejected by the parsers (kept in the run, or raised under strict).
        options: solver knobs.
        borders: the country raster (default: built in-process).
        strict: raise InvalidInput on any rejected row instead of skipping it.
        progress: optional callback after each chunk.
        floor_share: likely radii are at least this share of the fibre distance (0: plain CBG).

    Raises:
        InvalidInput: under ``strict`` when any row was rejected; when no landmark is usable.
    """
    errs = list(errors)
    vetting: VettingReport | None = None
    lm, mat = landmarks, rtt.rtt_ms
    cal_mat: np.ndarray | None = None
    if calibration_rtt is not None:
        cal_mat, cal_errs = landmark_rtt_matrix(calibration_rtt, landmarks)
        errs.extend(cal_errs)
    raise_if_strict(tuple(errs), strict)
    if len(landmarks) == 0:
        raise InvalidInput("no usable landmark: check the landmarks file", {})
    if cal_mat is not None:
        vetting = vet_landmarks(landmarks, cal_mat)
        for ex in vetting.excluded:
            log.warning("landmark %s excluded by vetting: %s", ex.landmark_id, ex.reason)
        keep = vetting.kept_index
        lm, mat = vetting.kept, mat[:, keep]
        lat, lon = lm.lat_deg, lm.lon_deg
        dist = great_circle_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
        calibration = calibrate_landmarks(dist, cal_mat[np.ix_(keep, keep)])
    else:
        calibration = Calibration.fallback(len(lm))
    calibration = replace(calibration, floor_share=floor_share)
    opts = options or LocateOptions()
    index = borders if borders is not None or not opts.with_countries else load_border_index()
    step = max(1, opts.chunk_size)
    parts = []
    total = mat.shape[0]
    chunks = (mat[s : s + step] for s in range(0, total, step))
    done = 0
    for part in locate_chunks(lm, chunks, calibration, options=opts, borders=index):
        parts.append(part)
        done += len(part.status)
        if progress is not None:
            progress(done, total)
    result = concat_results(rtt.target_ids, parts)
    return LocateRun(lm, RttTable(rtt.target_ids, mat), result, calibration, vetting, tuple(errs))


@dataclass(frozen=True, slots=True)
class VerifyRow:
    """One target's verdict (a JSON line of ``chiptrail geoloc verify``)."""

    target_id: str
    site: DeclaredSite
    verdict: LocationVerdict

    def to_json(self) -> dict[str, object]:
        """Wire form: verdict, reason, declared site, countries, estimate and evidence."""
        v = self.verdict
        return {
            "target_id": self.target_id,
            "verdict": v.verdict.value,
            "reason": v.reason,
            "declared": {
                "lat": self.site.lat,
                "lon": self.site.lon,
                "country": self.site.country,
                "radius_km": self.site.radius_km,
            },
            "proven_countries": list(v.proven_countries),
            "likely_countries": list(v.likely_countries),
            "lat": None if np.isnan(v.lat) else round(v.lat, 6),
            "lon": None if np.isnan(v.lon) else round(v.lon, 6),
            "n_landmarks": v.n_landmarks,
            "evidence": [
                {
                    "landmark_id": e.landmark_id,
                    "rtt_ms": round(e.rtt_ms, 6),
                    "bound_km": round(e.bound_km, 3),
                    "distance_km": round(e.distance_km, 3),
                    "kind": e.kind,
                }
                for e in v.evidence
            ],
        }


def verify_sites(
    run: LocateRun,
    sites: Mapping[str, DeclaredSite],
    *,
    options: LocateOptions | None = None,
    strict: bool = False,
) -> tuple[tuple[VerifyRow, ...], tuple[RowError, ...]]:
    """Judge every located target that has a declared site.

    Targets without a declared site, and sites without measurements, are reported as errors
    (raised under ``strict``).
    """
    errs: list[RowError] = []
    ids = run.result.target_ids
    have = [i for i, t in enumerate(ids) if t in sites]
    errs.extend(
        RowError("sites", 0, f"target {t!r} has measurements but no declared site", t)
        for t in ids
        if t not in sites
    )
    errs.extend(
        RowError("sites", 0, f"target {t!r} has a declared site but no valid measurement", t)
        for t in sites
        if t not in set(ids)
    )
    raise_if_strict(tuple(errs), strict)
    if not have:
        return (), tuple(errs)
    idx = np.array(have, dtype=np.intp)
    sub = run.result.take(idx)
    chosen = [sites[ids[i]] for i in have]
    verdicts = judge_targets(
        run.landmarks, run.rtt.rtt_ms[idx], chosen, run.calibration, located=sub, options=options
    )
    rows = tuple(VerifyRow(ids[i], s, v) for i, s, v in zip(have, chosen, verdicts, strict=True))
    return rows, tuple(errs)


def plan_deployment(
    deployed: LandmarkSet,
    candidates: LandmarkSet,
    pairs: tuple[PlacePair, ...],
    model: RttModel | None = None,
) -> LandmarkPlan:
    """Which pairs the deployment separates, and the greedy addition from the candidates."""
    if not pairs:
        raise InvalidInput("plan: at least one pair of places is needed", {})
    return plan_landmarks(deployed, candidates, pairs, model)


def plan_to_json(plan: LandmarkPlan) -> dict[str, object]:
    """Wire form of a plan."""

    def sep(items: tuple[PairSeparation, ...]) -> list[dict[str, object]]:
        return [
            {
                "pair": s.pair.label,
                "separated": s.separated,
                "landmark_id": s.landmark_id,
                "margin_km": round(s.margin_km, 3) if np.isfinite(s.margin_km) else None,
            }
            for s in items
        ]

    return {
        "current": sep(plan.current),
        "additions": list(plan.additions),
        "planned": sep(plan.planned),
        "unseparable": list(plan.unseparable),
    }


def target_geojson(run: LocateRun, target_id: str) -> dict[str, object]:
    """GeoJSON FeatureCollection of one located target (regions, disks, landmarks)."""
    ids = run.result.target_ids
    if target_id not in ids:
        raise InvalidInput(f"target {target_id!r} has no valid measurement", {"target": target_id})
    i = ids.index(target_id)
    r = run.result
    if np.isnan(r.lat_deg[i]):
        raise InvalidInput(f"target {target_id!r} has no region ({r.status[i].value})", {})
    rtt = run.rtt.rtt_ms[i]
    proven = proven_radius_km(rtt, run.landmarks.uncertainty_km)
    likely = np.minimum(likely_radius_km(rtt, run.calibration, proven), proven)
    t = float(np.nan_to_num(r.widened[i]))
    likely = likely + t * (proven - likely)
    return region_geojson(
        run.landmarks,
        proven,
        likely,
        float(r.lat_deg[i]),
        float(r.lon_deg[i]),
        target_id=target_id,
        proven_countries=r.proven_countries[i],
        likely_countries=r.likely_countries[i],
    )


def render_target(run: LocateRun, target_id: str, suffix: str) -> bytes:
    """Map of one target as ``.html``, ``.svg``, ``.png`` (matplotlib) or ``.geojson`` bytes."""
    fc = target_geojson(run, target_id)
    if suffix == ".geojson":
        return (json.dumps(fc, indent=1) + "\n").encode()
    i = run.result.target_ids.index(target_id)
    r = run.result
    codes = sorted(set(r.proven_countries[i]) | set(r.likely_countries[i]))
    x0, x1, y0, y1 = map_bbox(fc)
    outlines = country_outlines(codes, (x0, x1, y0, y1))
    title = f"{target_id}: proven {', '.join(r.proven_countries[i]) or '-'}"
    if suffix == ".svg":
        return render_svg(fc, outlines, title=title).encode()
    if suffix in (".html", ".htm"):
        return render_html(fc, outlines, title=title).encode()
    if suffix == ".png":
        return _render_png(fc, outlines, title)
    raise InvalidInput(
        f"map: unknown output type {suffix!r}; use .html, .svg, .png or .geojson", {}
    )


def _render_png(fc: dict[str, object], outlines: list[Outline], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x0, x1, y0, y1 = map_bbox(fc)
    fig, ax = plt.subplots(figsize=(8, 6), dpi=110)
    for _code, lat, lon in outlines:
        ax.fill(lon, lat, facecolor="#fbfaf3", edgecolor="#888", linewidth=0.6)
    styles: dict[str, dict[str, Any]] = {
        "proven_disk": {"fill": False, "edgecolor": "#1f77b4", "linestyle": "--", "linewidth": 0.6},
        "proven_region": {"facecolor": "#d62728", "alpha": 0.25, "edgecolor": "#d62728"},
        "likely_region": {"facecolor": "#ff7f0e", "alpha": 0.4, "edgecolor": "#ff7f0e"},
    }
    feats: list[dict[str, Any]] = fc["features"]  # type: ignore[assignment]
    for kind, style in styles.items():
        for f in feats:
            if f["properties"]["kind"] == kind:
                ring = np.asarray(f["geometry"]["coordinates"][0])
                ax.fill(ring[:, 0], ring[:, 1], **style)
    for f in feats:
        if f["geometry"]["type"] == "Point":
            x, y = f["geometry"]["coordinates"]
            if f["properties"]["kind"] == "estimate":
                ax.plot(x, y, "ko")
            else:
                ax.plot(x, y, "^", color="#1f77b4")
                ax.annotate(str(f["properties"]["landmark_id"]), (x, y), fontsize=7)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_facecolor("#eef5fb")
    ax.set_title(title)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def locate_rows(
    landmark_rows: list[dict[str, object]],
    measurement_rows: list[dict[str, object]],
    calibration_rows: list[dict[str, object]] | None,
    *,
    settings: Settings | None = None,
    options: LocateOptions | None = None,
    strict: bool = False,
) -> dict[str, object]:
    """``POST /v1/geoloc/locate``: the locate use case on JSON rows, answered as JSON.

    Returns:
        ``{"results": [locate rows], "errors": [...], "excluded_landmarks": [...]}``.
    """
    lm, e1 = parse_landmark_rows(enumerate(landmark_rows, start=1))
    table, e2 = parse_rtt_rows(enumerate(measurement_rows, start=1), lm)
    cal = None
    e3: tuple[RowError, ...] = ()
    if calibration_rows is not None:
        cal, e3 = parse_rtt_rows(enumerate(calibration_rows, start=1), lm, source="calibration")
    opts = options or LocateOptions()
    borders = load_borders(settings) if opts.with_countries else None
    run = locate_measurements(
        lm, table, cal, errors=e1 + e2 + e3, options=opts, borders=borders, strict=strict
    )
    excluded = [] if run.vetting is None else run.vetting.excluded
    return {
        "results": list(run.rows()),
        "errors": [
            {"source": e.source, "row": e.line, "message": e.message, "target_id": e.target_id}
            for e in run.errors
        ],
        "excluded_landmarks": [
            {
                "landmark_id": x.landmark_id,
                "reason": x.reason,
                "required_uncertainty_km": round(x.required_uncertainty_km, 3),
            }
            for x in excluded
        ],
    }


def plan_rows(
    deployed_rows: list[dict[str, object]],
    candidate_rows: list[dict[str, object]],
    pair_rows: list[dict[str, object]],
    model: RttModel | None = None,
) -> dict[str, object]:
    """``POST /v1/geoloc/plan``: the planning use case on JSON rows; bad rows are bad input."""
    dep, e1 = parse_landmark_rows(enumerate(deployed_rows, start=1))
    cand, e2 = parse_landmark_rows(enumerate(candidate_rows, start=1))
    pairs, e3 = parse_pair_rows(enumerate(pair_rows, start=1))
    raise_if_strict(e1 + e2 + e3, strict=True)
    return plan_to_json(plan_deployment(dep, cand, pairs, model))
