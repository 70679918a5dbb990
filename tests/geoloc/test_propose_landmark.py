"""propose_landmark: the one place that best separates a site from its neighbouring places."""

from __future__ import annotations

import math

from chiptrail.geoloc import Landmark, LandmarkSet, Place, propose_landmark
from chiptrail.types import LandmarkId

SITE = Place("site", 1.30, 103.85)  # Singapore
JOHOR = Place("johor 60 km", 1.85, 103.80)
BATAM = Place("batam 100 km", 0.60, 104.40)
KL = Place("kuala lumpur", 3.14, 101.69)
NEXT_DOOR = Place("next door 5 km", 1.34, 103.86)
NONE = LandmarkSet(())


def test_the_deployment_leaves_pairs_open_and_a_near_place_closes_them() -> None:
    tokyo = Place("a site in Tokyo", 35.68, 139.69)
    near = Place("10 km from the site", 1.21, 103.85)
    p = propose_landmark(SITE, [JOHOR, BATAM, KL], NONE, [tokyo], [near])
    # Tokyo separates nothing so close; the point near the site separates all three
    assert p.place == near
    assert not p.preferred
    assert set(p.separated) == {
        "site vs johor 60 km",
        "site vs batam 100 km",
        "site vs kuala lumpur",
    }
    assert p.unseparable == ()
    assert p.margin_km > 0


def test_a_preferred_place_wins_when_it_separates_as_many() -> None:
    host = Place("another party's site 8 km away", 1.37, 103.85)
    near = Place("2 km from the site", 1.32, 103.85)
    p = propose_landmark(SITE, [JOHOR, BATAM], NONE, [host], [near])
    assert (p.place, p.preferred) == (host, True)


def test_what_the_deployment_separates_is_not_asked_again() -> None:
    deployed = LandmarkSet((Landmark(LandmarkId("lm-sg"), 1.29, 103.85),))
    p = propose_landmark(SITE, [JOHOR, KL], deployed, [], [])
    assert set(p.already) == {"site vs johor 60 km", "site vs kuala lumpur"}
    assert p.separated == ()
    assert p.place == SITE
    assert math.isinf(p.margin_km)


def test_too_close_to_separate_is_said_and_the_site_is_the_last_resort() -> None:
    p = propose_landmark(SITE, [NEXT_DOOR, JOHOR], NONE, [], [])
    assert p.place == SITE
    assert p.separated == ("site vs johor 60 km",)
    assert p.unseparable == ("site vs next door 5 km",)


def test_without_neighbours_the_first_preferred_place_or_the_site() -> None:
    host = Place("host", 1.40, 103.90)
    assert propose_landmark(SITE, [], NONE, [host], []).place == host
    assert propose_landmark(SITE, [], NONE, [], []).place == SITE
