"""is-informed-export: orders and shipments to a party BIS named in an "is informed" letter."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chiptrail.rules.finding import SubjectKind
from chiptrail.rules.view import InformedLetter, Licence, Order, OwnershipEdge
from chiptrail.types import Country, PartyId, Severity
from tests.rules._world import PARTIES, ago, ev, party, run, view

LAB = PartyId("lab-ae")
FRONT = PartyId("front-ae")
LETTER = InformedLetter("BIS-1", PartyId("vendor"), LAB, ago(200), items="3A090")
PARTIES_X = {**PARTIES, LAB: party("lab-ae", "AE"), FRONT: party("front-ae", "AE")}
LICENCE = Licence("L-7", LAB, Country("AE"), (), 64, valid_from=ago(300))


def _ship(days: float, to: PartyId, licence: str | None = None) -> object:
    return ev(
        1,
        "shipping",
        days,
        ["c1"],
        "vendor",
        "US",
        destination_party=to,
        destination_country=Country("AE"),
        licence_id=licence,
    )


@pytest.mark.parametrize(
    ("days", "to", "licence", "fires"),
    [
        (100, LAB, None, True),
        (250, LAB, None, False),
        (100, LAB, "L-7", False),
        (100, LAB, "EXC-1", True),
        (100, FRONT, None, True),
        (100, PartyId("op-us"), None, False),
    ],
    ids=[
        "after the letter, no licence",
        "before the letter",
        "under a licence naming it",
        "under a licence exception",
        "to a company it controls",
        "to someone else",
    ],
)
def test_shipments_to_an_informed_party(
    days: float, to: PartyId, licence: str | None, fires: bool
) -> None:
    exception = replace(LICENCE, licence_id="EXC-1", kind="exception", exception_code="NAC")
    v = view(
        parties=PARTIES_X,
        ownership=(OwnershipEdge(LAB, FRONT, 0.6),),
        informed=(LETTER,),
        licences={"L-7": LICENCE, "EXC-1": exception},
        events=(_ship(days, to, licence),),  # type: ignore[arg-type]
    )
    found = run("is-informed-export", v)
    assert [f.subject for f in found] == (["lab-ae"] if fires else [])
    if fires:
        assert found[0].severity is Severity.CRITICAL
        assert found[0].subject_kind is SubjectKind.PARTY
        assert [e.ref for e in found[0].evidence] == ["is-informed:BIS-1", "leaf:1"]


def test_orders_and_the_letters_end() -> None:
    order = Order("PO-9", FRONT, PartyId("vendor"), 8, ago(50))
    v = view(
        parties=PARTIES_X,
        ownership=(OwnershipEdge(LAB, FRONT, 0.6),),
        informed=(LETTER,),
        orders=(order,),
    )
    [found] = run("is-informed-export", v)
    assert found.detected_at == ago(50)
    assert "order:PO-9" in {e.ref for e in found.evidence}
    ended = replace(LETTER, valid_until=ago(60))
    assert run("is-informed-export", replace(v, informed=(ended,))) == []
    licensed = replace(order, licence_id="L-7")
    lic = replace(LICENCE, consignees=(FRONT,))
    assert run("is-informed-export", replace(v, orders=(licensed,), licences={"L-7": lic})) == []
