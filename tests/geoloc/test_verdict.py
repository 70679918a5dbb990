"""Verdicts against declared sites, table-driven with human ids, and their evidence."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from chiptrail.geoloc import (
    BorderIndex,
    DeclaredSite,
    LandmarkSet,
    LocateOptions,
    judge_location,
    judge_targets,
)
from chiptrail.types import Country, Verdict
from tests.geoloc.fixtures import PLACES, asia_landmarks, rtt_from

LM = asia_landmarks()


def honest(place: str) -> np.ndarray:
    return rtt_from(LM, *PLACES[place])


def relay_at_c(place: str) -> np.ndarray:
    """The best an adversary can do: answer at exactly light speed from where the chip really is."""
    return rtt_from(LM, *PLACES[place], speed_share=1.0, extra_ms=0.0)


def only(names: tuple[str, ...], rtt: np.ndarray) -> np.ndarray:
    out = np.full_like(rtt, np.nan)
    for n in names:
        j = LM.index_of(n)
        out[j] = rtt[j]
    return out


CASES: list[tuple[str, Callable[[], np.ndarray], DeclaredSite, Verdict, str | None]] = [
    (
        "relay at c from Shenzhen claims Johor",
        lambda: relay_at_c("shenzhen"),
        DeclaredSite(*PLACES["johor"], Country("MY")),
        Verdict.VIOLATION,
        "hong_kong",
    ),
    (
        "honest Shenzhen chip claims Johor",
        lambda: honest("shenzhen"),
        DeclaredSite(*PLACES["johor"], Country("MY")),
        Verdict.VIOLATION,
        "hong_kong",
    ),
    (
        "Shenzhen chip seen only from Singapore claims Johor",
        lambda: only(("singapore",), honest("shenzhen")),
        DeclaredSite(*PLACES["johor"], Country("MY")),
        Verdict.UNVERIFIED,
        None,
    ),
    (
        "Taipei chip claims Fuzhou",
        lambda: honest("taipei"),
        DeclaredSite(*PLACES["fuzhou"], Country("CN")),
        Verdict.VIOLATION,
        "taipei",
    ),
    (
        "2.5 ms to Singapore leaves Kuala Lumpur within light but not fibre reach",
        lambda: only(("singapore",), np.full(len(LM), 2.5)),
        DeclaredSite(*PLACES["kuala_lumpur"], Country("MY")),
        Verdict.SUSPECT,
        "singapore",
    ),
    (
        "honest Johor chip within 100 km of its site",
        lambda: honest("johor"),
        DeclaredSite(*PLACES["johor"], Country("MY"), radius_km=100.0),
        Verdict.VERIFIED,
        None,
    ),
    (
        "honest Taipei chip in its licensed country",
        lambda: only(("taipei",), rtt_from(LM, 25.05, 121.53, extra_ms=0.05)),
        DeclaredSite(25.05, 121.53, Country("TW")),
        Verdict.VERIFIED,
        None,
    ),
    (
        "no measurements at all",
        lambda: np.full(len(LM), np.nan),
        DeclaredSite(*PLACES["singapore"], Country("SG")),
        Verdict.UNVERIFIED,
        None,
    ),
]


@pytest.mark.parametrize(
    ("make_rtt", "site", "expected", "landmark"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_verdicts(
    borders: BorderIndex,
    make_rtt: Callable[[], np.ndarray],
    site: DeclaredSite,
    expected: Verdict,
    landmark: str | None,
) -> None:
    v = judge_location(LM, make_rtt(), site, borders=borders)
    assert v.verdict is expected, v.reason
    if landmark is not None:
        assert v.evidence[0].landmark_id == landmark
    if expected in (Verdict.VIOLATION, Verdict.SUSPECT):
        first = v.evidence[0]
        assert first.distance_km > first.bound_km
        assert first.kind == ("proven" if expected is Verdict.VIOLATION else "likely")
        assert first.landmark_id in v.reason


def test_violation_evidence_is_physics(borders: BorderIndex) -> None:
    v = judge_location(
        LM, relay_at_c("shenzhen"), DeclaredSite(*PLACES["johor"], Country("MY")), borders=borders
    )
    hk = next(e for e in v.evidence if e.landmark_id == "hong_kong")
    # The HK landmark measured a few hundred microseconds: at most ~tens of km at light speed,
    # while Johor is ~2,600 km away.
    assert hk.rtt_ms < 1.0
    assert hk.bound_km < 100.0
    assert hk.distance_km > 2500.0
    assert "CN" in v.proven_countries or "HK" in v.proven_countries


def test_judge_targets_many_and_min_landmarks(borders: BorderIndex) -> None:
    rtt = np.stack([honest("shenzhen"), honest("johor")])
    sites = [DeclaredSite(*PLACES["johor"], Country("MY"))] * 2
    v = judge_targets(LM, rtt, sites, borders=borders)
    assert [x.verdict for x in v] == [Verdict.VIOLATION, Verdict.UNVERIFIED]
    strict = judge_targets(LM, rtt, sites, borders=borders, min_landmarks=6)
    assert all(x.verdict is Verdict.UNVERIFIED for x in strict)


def test_landmark_set_subset_keeps_ids() -> None:
    sub = LM.subset([1, 0])
    assert sub.ids == ("hong_kong", "singapore")
    assert isinstance(sub, LandmarkSet)
    assert LocateOptions().max_liars == 0
