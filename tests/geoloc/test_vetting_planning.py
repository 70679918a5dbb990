"""Landmark vetting (lying landmarks), planning, parsers and GeoJSON."""

from __future__ import annotations

import numpy as np
import pytest

from chiptrail.errors import InvalidInput
from chiptrail.geoloc import (
    Landmark,
    LandmarkSet,
    Place,
    PlacePair,
    RttModel,
    great_circle_km,
    parse_landmarks_csv,
    parse_pairs_csv,
    parse_rtt_csv,
    parse_sites_csv,
    plan_landmarks,
    proven_radius_km,
    region_geojson,
    region_outline,
    to_position,
    vet_landmarks,
)
from chiptrail.types import LandmarkId
from tests.geoloc.fixtures import PLACES

C_KM_PER_MS = 299.792458


def _mesh(names: list[str], true_pos: dict[str, tuple[float, float]]) -> np.ndarray:
    """Honest mutual RTTs (fibre, 1.5x stretch) from where the landmarks really are."""
    lat = np.array([true_pos[n][0] for n in names])
    lon = np.array([true_pos[n][1] for n in names])
    d = great_circle_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    rtt = 2 * d * 1.5 / (C_KM_PER_MS * 2 / 3) + 0.2
    np.fill_diagonal(rtt, np.nan)
    return rtt


def test_a_landmark_lying_about_its_position_is_excluded() -> None:
    names = ["singapore", "hong_kong", "taipei", "kuala_lumpur", "tokyo"]
    truth = {n: PLACES[n] for n in names}
    stated = dict(truth)
    stated["tokyo"] = PLACES["frankfurt"]  # claims Frankfurt, answers from Tokyo
    lm = LandmarkSet.of(Landmark(LandmarkId(n), *stated[n]) for n in names)
    report = vet_landmarks(lm, _mesh(names, truth))
    assert [x.landmark_id for x in report.excluded] == ["tokyo"]
    assert report.kept.ids == ("singapore", "hong_kong", "taipei", "kuala_lumpur")
    ex = report.excluded[0]
    # Hong Kong and Taipei are too close (in RTT) to Tokyo for "Frankfurt"; Singapore and
    # Kuala Lumpur are far enough from both places that their RTTs cannot tell.
    assert {c.b for c in ex.contradictions} == {"hong_kong", "taipei"}
    assert "faster-than-light" in ex.reason
    # Widening its uncertainty by the reported amount would also remove every contradiction.
    wide = LandmarkSet.of(
        Landmark(
            LandmarkId(n),
            *stated[n],
            uncertainty_km=ex.required_uncertainty_km if n == "tokyo" else 0.0,
        )
        for n in names
    )
    assert vet_landmarks(wide, _mesh(names, truth)).excluded == ()


def test_honest_landmarks_are_all_kept_and_bad_input_refused() -> None:
    names = ["singapore", "hong_kong", "taipei"]
    lm = LandmarkSet.of(Landmark(LandmarkId(n), *PLACES[n]) for n in names)
    rep = vet_landmarks(lm, _mesh(names, {n: PLACES[n] for n in names}))
    assert rep.excluded == ()
    assert rep.contradictions == ()
    with pytest.raises(InvalidInput):
        vet_landmarks(lm, np.zeros((2, 2)))


def test_plan_separates_with_the_fewest_additions() -> None:
    deployed = LandmarkSet.of([Landmark(LandmarkId("sg"), 1.29, 103.85)])
    candidates = LandmarkSet.of(
        [
            Landmark(LandmarkId("kul"), 3.14, 101.69),
            Landmark(LandmarkId("tpe"), 25.03, 121.56),
            Landmark(LandmarkId("hk"), 22.28, 114.16),
        ]
    )
    place = {n: Place(n, *PLACES[n]) for n in PLACES}
    pairs = [
        PlacePair(place["johor"], place["shenzhen"]),
        PlacePair(place["taipei"], place["fuzhou"]),
        PlacePair(place["kinmen"], place["xiamen"]),
        PlacePair(place["singapore"], place["batam"]),
    ]
    plan = plan_landmarks(deployed, candidates, pairs)
    # A landmark in downtown Singapore separates it from Batam (33 km away), just.
    assert [s.separated for s in plan.current] == [True, False, False, True]
    assert plan.additions == ("tpe",)
    assert plan.planned[1].landmark_id == "tpe"
    # Kinmen-Xiamen (~30 km): no candidate near enough.
    assert plan.unseparable == ("kinmen vs xiamen",)
    # With no overhead and a landmark on Kinmen, the pair separates.
    kinmen = LandmarkSet.of([Landmark(LandmarkId("km"), *PLACES["kinmen"])])
    plan = plan_landmarks(kinmen, candidates, pairs[2:3], RttModel(overhead_ms=0.0))
    assert plan.current[0].separated


def test_parsers_report_rows() -> None:
    lm, errs = parse_landmarks_csv(
        "landmark_id,lat,lon,country\na,1,2,SG\nb,91,2,\na,0,0,\nc,x,0,\nd,0,0,ZZ\n"
    )
    assert lm.ids == ("a",)
    assert [e.line for e in errs] == [3, 4, 5, 6]
    table, errs = parse_rtt_csv("target_id,landmark_id,rtt_ms\nt,a,2\nt,a,1\nt,zz,1\nu,a,-1\n", lm)
    assert table.target_ids == ("t",)
    assert table.rtt_ms.tolist() == [[1.0]]
    assert {e.target_id for e in errs} == {"t", "u"}
    with pytest.raises(InvalidInput):
        parse_rtt_csv("target,landmark,rtt\n", lm)
    sites, errs = parse_sites_csv("target_id,lat,lon,country,radius_km\nt,1,2,sg,5\nu,1,2,XX,\n")
    assert sites["t"].country == "SG"
    assert sites["t"].radius_km == 5.0
    assert len(errs) == 1
    pairs, errs = parse_pairs_csv(
        "a_name,a_lat,a_lon,b_name,b_lat,b_lon\nA,1,2,B,3,4\nC,100,2,D,3,4\n"
    )
    assert pairs[0].label == "A vs B"
    assert len(errs) == 1


def test_geojson_is_lon_lat_and_outline_stays_in_the_disks() -> None:
    assert to_position(1.5, 103.8) == [103.8, 1.5]
    lm = LandmarkSet.of(
        [Landmark(LandmarkId("a"), 1.29, 103.85), Landmark(LandmarkId("b"), 3.14, 101.69)]
    )
    radii = np.array([300.0, 250.0])
    lat, lon = region_outline(lm, radii, 2.0, 102.9)
    d = great_circle_km(lat[:, None], lon[:, None], lm.lat_deg, lm.lon_deg)
    assert np.all(d <= radii + 0.01)
    assert np.allclose(np.min(radii - d, axis=1), 0.0, atol=0.01)  # on the boundary
    fc = region_geojson(lm, radii, radii * 0.8, 2.0, 102.9, target_id="t")
    ring = fc["features"][0]["geometry"]["coordinates"][0]  # type: ignore[index]
    assert ring[0] == ring[-1]
    assert 100 < ring[0][0] < 106  # longitude first
    assert float(proven_radius_km(0.0)) == 0.0
