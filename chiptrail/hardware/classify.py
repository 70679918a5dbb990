"""ECCN classification of accelerators (3A090.a/.b), servers (4A090) and HBM (3A090.c).

Pure functions over figures; the thresholds come from the rule table (``ruletable.py``), so a
threshold change is a data change. Quantities (total TPP, H100-equivalents) live here too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from chiptrail.errors import InvalidInput
from chiptrail.hardware.catalogue import Accelerator, get_model
from chiptrail.hardware.ruletable import RuleTable, Thresholds, load_rule_table
from chiptrail.hardware.tpp import check_tpp, compute_performance_density

#: Largest order quantity accepted (keeps every total TPP a finite float).
MAX_QUANTITY = 1_000_000_000


class Eccn(StrEnum):
    """Export Control Classification Numbers this engine decides between."""

    A3A090_A = "3A090.a"
    A3A090_B = "3A090.b"
    A3A090_C = "3A090.c"
    A4A090_A = "4A090.a"
    A4A090_B = "4A090.b"
    NOT_3A090 = "not-3A090"


@dataclass(frozen=True, slots=True)
class Classification:
    """Why an integrated circuit is (or is not) 3A090.

    Attributes:
        eccn: the decided class.
        paragraph: the sub-paragraph that caught it (``3A090.a.2``) or that freed it
            (``Note 2 to 3A090``); ``""`` when no paragraph applies.
        tpp: total processing performance.
        performance_density: TPP per mm^2 of applicable die area; None when the area is unknown.
        nac_aca_eligible: License Exception NAC/ACA can be considered (3A090.b, or 3A090.a not
            designed or marketed for data centers).
        reasons: each threshold test that decided, in words.
    """

    eccn: Eccn
    paragraph: str
    tpp: float
    performance_density: float | None
    die_area_mm2: float | None
    designed_for_datacenter: bool
    nac_aca_eligible: bool
    reasons: tuple[str, ...]
    citation: str
    model_id: str | None = None
    name: str | None = None
    memory_bandwidth_gbps: float | None = None


@dataclass(frozen=True, slots=True)
class SystemClassification:
    """A computer or assembly holding ``quantity`` identical accelerators (ECCN 4A090)."""

    eccn: Eccn
    item: Classification
    quantity: int
    total_tpp: float
    h100_equivalents: float
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HbmClassification:
    """A stand-alone high-bandwidth memory stack against 3A090.c."""

    eccn: Eccn
    memory_bandwidth_density_gbps_per_mm2: float
    hbm_exception_eligible: bool
    reasons: tuple[str, ...]


def _decide(
    tpp: float, pd: float | None, datacenter: bool, t: Thresholds
) -> tuple[Eccn, str, tuple[str, ...]]:
    if not datacenter and tpp < t.non_datacenter_tpp_below:
        floor = t.non_datacenter_tpp_below
        why = f"not designed or marketed for data centers and TPP {tpp:g} < {floor:g}"
        return Eccn.NOT_3A090, "Note 2 to 3A090", (why,)
    if tpp >= t.a1_tpp_min:
        return Eccn.A3A090_A, "3A090.a.1", (f"TPP {tpp:g} >= {t.a1_tpp_min:g}",)
    if pd is None:
        if tpp < min(t.a2_tpp_min, t.b1_tpp_min, t.b2_tpp_min):
            return Eccn.NOT_3A090, "", (f"TPP {tpp:g} < {t.b2_tpp_min:g}: below every 3A090 floor",)
        raise InvalidInput(
            f"die_area_mm2: needed to decide an item with TPP {tpp:g} "
            f"(between {t.b2_tpp_min:g} and {t.a1_tpp_min:g} the performance density decides)",
            {"field": "die_area_mm2"},
        )
    if tpp >= t.a2_tpp_min and pd >= t.a2_pd_min:
        why = f"TPP {tpp:g} >= {t.a2_tpp_min:g} and PD {pd:.4g} >= {t.a2_pd_min:g}"
        return Eccn.A3A090_A, "3A090.a.2", (why,)
    if t.b1_tpp_min <= tpp < t.b1_tpp_below and t.b1_pd_min <= pd < t.b_pd_below:
        why = (
            f"{t.b1_tpp_min:g} <= TPP {tpp:g} < {t.b1_tpp_below:g} and "
            f"{t.b1_pd_min:g} <= PD {pd:.4g} < {t.b_pd_below:g}"
        )
        return Eccn.A3A090_B, "3A090.b.1", (why,)
    if tpp >= t.b2_tpp_min and t.b2_pd_min <= pd < t.b_pd_below:
        why = (
            f"TPP {tpp:g} >= {t.b2_tpp_min:g} and {t.b2_pd_min:g} <= PD {pd:.4g} < {t.b_pd_below:g}"
        )
        return Eccn.A3A090_B, "3A090.b.2", (why,)
    why = f"TPP {tpp:g} and PD {pd:.4g} meet neither 3A090.a nor 3A090.b"
    return Eccn.NOT_3A090, "", (why,)


def _resolve(item: Accelerator | str) -> Accelerator:
    return get_model(item) if isinstance(item, str) else item


def classify_item(
    item: Accelerator | str | None = None,
    *,
    tpp: float | None = None,
    die_area_mm2: float | None = None,
    designed_for_datacenter: bool | None = None,
    rules: RuleTable | None = None,
) -> Classification:
    """Classify one integrated circuit against ECCN 3A090.a/.b.

    Either name a catalogue model (``item``) or give custom figures (``tpp`` and, where the
    density matters, ``die_area_mm2``). Custom items count as designed for data centers unless
    ``designed_for_datacenter=False``.

    Thresholds (15 CFR 774 Supp. 1, 3A090; ">=" and "<" exactly as written there):
    a.1 TPP >= 4800; a.2 TPP >= 1600 and PD >= 5.92; b.1 2400 <= TPP < 4800 and
    1.6 <= PD < 5.92; b.2 TPP >= 1600 and 3.2 <= PD < 5.92; Note 2: an item not designed or
    marketed for data centers with TPP < 4800 is not 3A090.

    Raises:
        NotFound: unknown model name.
        InvalidInput: neither a model nor ``tpp``, both, negative figures, or a die area needed
            but missing.
    """
    table = rules or load_rule_table()
    if item is not None:
        if tpp is not None or die_area_mm2 is not None:
            raise InvalidInput(
                "tpp: give either a model or custom figures, not both", {"field": "tpp"}
            )
        model = _resolve(item)
        area = model.die_area_mm2.value
        datacenter = model.designed_for_datacenter
        value = model.tpp
    elif tpp is None:
        raise InvalidInput("tpp: give a model name or a TPP figure", {"field": "tpp"})
    else:
        model = None
        value = check_tpp(float(tpp))
        area = die_area_mm2
        datacenter = True if designed_for_datacenter is None else designed_for_datacenter
    pd = None if area is None else compute_performance_density(value, area)
    eccn, paragraph, reasons = _decide(value, pd, datacenter, table.thresholds)
    return Classification(
        eccn=eccn,
        paragraph=paragraph,
        tpp=value,
        performance_density=pd,
        die_area_mm2=area,
        designed_for_datacenter=datacenter,
        nac_aca_eligible=eccn is Eccn.A3A090_B or (eccn is Eccn.A3A090_A and not datacenter),
        reasons=reasons,
        citation=table.thresholds.citation,
        model_id=None if model is None else model.model_id,
        name=None if model is None else model.name,
        memory_bandwidth_gbps=None if model is None else model.memory_bandwidth_gbps.value,
    )


def check_quantity(quantity: int) -> int:
    """Return ``quantity`` when it is a whole number >= 1.

    Raises:
        InvalidInput: naming the ``quantity`` field.
    """
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not 1 <= quantity <= MAX_QUANTITY
    ):
        raise InvalidInput(
            f"quantity: must be a whole number from 1 to {MAX_QUANTITY:,}, got {quantity!r}",
            {"field": "quantity", "value": quantity},
        )
    return quantity


def reference_tpp(rules: RuleTable | None = None) -> float:
    """TPP of the H100-equivalent reference (the table's ``reference_model``, H100 SXM)."""
    table = rules or load_rule_table()
    return get_model(table.thresholds.reference_model).tpp


def h100_equivalents(
    model: Accelerator | str, quantity: int = 1, *, rules: RuleTable | None = None
) -> float:
    """How many H100 SXM the order is worth: quantity x TPP / TPP(H100 SXM = 15832).

    Raises:
        NotFound: unknown model. InvalidInput: quantity not a whole number >= 1.
    """
    check_quantity(quantity)
    return quantity * _resolve(model).tpp / reference_tpp(rules)


def classify_system(
    model: Accelerator | str | Classification, quantity: int, *, rules: RuleTable | None = None
) -> SystemClassification:
    """Classify a computer or assembly holding ``quantity`` accelerators (ECCN 4A090).

    4A090.a/.b covers computers, "electronic assemblies" and components *containing* ICs that
    meet 3A090.a/.b, so the class follows the contained IC; the summed TPP answers the quantity
    question (it does not turn uncontrolled chips into a 4A090 server).

    Raises:
        NotFound: unknown model. InvalidInput: bad quantity.
    """
    check_quantity(quantity)
    item = model if isinstance(model, Classification) else classify_item(model, rules=rules)
    if not math.isfinite(quantity * item.tpp):
        raise InvalidInput(
            f"quantity: {quantity} x TPP {item.tpp:g} is too large", {"field": "quantity"}
        )
    eccn = {Eccn.A3A090_A: Eccn.A4A090_A, Eccn.A3A090_B: Eccn.A4A090_B}.get(
        item.eccn, Eccn.NOT_3A090
    )
    total = quantity * item.tpp
    why = (
        f"contains {quantity} x {item.eccn.value} IC" + ("s" if quantity > 1 else "")
        if eccn is not Eccn.NOT_3A090
        else f"its ICs are {item.eccn.value}, so 4A090 does not apply"
    )
    return SystemClassification(
        eccn=eccn,
        item=item,
        quantity=quantity,
        total_tpp=total,
        h100_equivalents=total / reference_tpp(rules),
        reasons=(why, f"total TPP {quantity} x {item.tpp:g} = {total:g}"),
    )


def classify_hbm(
    memory_bandwidth_density_gbps_per_mm2: float,
    *,
    co_packaged_with_logic: bool = False,
    rules: RuleTable | None = None,
) -> HbmClassification:
    """Classify a high-bandwidth memory stack against 3A090.c (89 FR 96790, Dec 2024).

    3A090.c: memory bandwidth density > 2 GB/s/mm^2. HBM co-packaged with a logic IC whose
    primary function is processing is excluded (the package is judged by 3A090.a/.b).
    License Exception HBM (15 CFR 740.25) is only for densities < 3.3 GB/s/mm^2.

    Raises:
        InvalidInput: a negative or non-finite density.
    """
    t = (rules or load_rule_table()).thresholds
    density = memory_bandwidth_density_gbps_per_mm2
    if not math.isfinite(density) or density < 0:
        raise InvalidInput(
            f"memory_bandwidth_density_gbps_per_mm2: must be a number >= 0, got {density!r}",
            {"field": "memory_bandwidth_density_gbps_per_mm2", "value": density},
        )
    limit = t.hbm_bandwidth_density_above_gbps_per_mm2
    if co_packaged_with_logic:
        return HbmClassification(
            Eccn.NOT_3A090,
            density,
            False,
            ("co-packaged with a processing IC: 3A090.c excludes it",),
        )
    if density > limit:
        eligible = density < t.hbm_exception_below_gbps_per_mm2
        return HbmClassification(
            Eccn.A3A090_C, density, eligible, (f"density {density:g} > {limit:g} GB/s/mm^2",)
        )
    return HbmClassification(
        Eccn.NOT_3A090, density, False, (f"density {density:g} <= {limit:g} GB/s/mm^2",)
    )
