"""Use cases of the hardware capability: list and classify accelerators, answer licence questions.

One function per CLI command and HTTP route; no database is needed (the catalogue and rule
table are package data). Rendering is left to the edges; ``to_wire`` gives the JSON shape.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, is_dataclass
from enum import Enum

from chiptrail.hardware import (
    Accelerator,
    LicenseAnswer,
    RuleTable,
    check_license,
    classify_hbm,
    classify_item,
    classify_system,
    get_model,
    list_models,
    load_rule_table,
    parse_rule_table,
)
from chiptrail.hardware.classify import reference_tpp


@dataclass(frozen=True, slots=True)
class HardwareRow:
    """One catalogue model with its classification, as listed by CLI and HTTP."""

    model_id: str
    name: str
    vendor: str
    designed_for_datacenter: bool
    reference_only: bool
    tpp: float
    tpp_precision: str
    die_area_mm2: float | None
    die_area_is_estimate: bool
    performance_density: float | None
    eccn: str
    paragraph: str
    system_eccn: str
    h100_equivalents: float
    memory_gb: float | None
    memory_bandwidth_gbps: float | None


def to_wire(obj: object) -> object:
    """JSON-ready value: dataclasses as dicts, enums as their values, tuples as lists."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return to_wire(asdict(obj))
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): to_wire(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_wire(v) for v in obj]
    return obj


def _row(model: Accelerator, table: RuleTable) -> HardwareRow:
    cls = classify_item(model, rules=table)
    system = classify_system(cls, 1, rules=table)
    return HardwareRow(
        model_id=model.model_id,
        name=model.name,
        vendor=model.vendor,
        designed_for_datacenter=model.designed_for_datacenter,
        reference_only=model.reference_only,
        tpp=cls.tpp,
        tpp_precision=model.tpp_precision,
        die_area_mm2=model.die_area_mm2.value,
        die_area_is_estimate=model.die_area_mm2.estimate,
        performance_density=cls.performance_density,
        eccn=cls.eccn.value,
        paragraph=cls.paragraph,
        system_eccn=system.eccn.value,
        h100_equivalents=cls.tpp / reference_tpp(table),
        memory_gb=model.memory_gb.value,
        memory_bandwidth_gbps=model.memory_bandwidth_gbps.value,
    )


def list_hardware() -> list[HardwareRow]:
    """Every built-in model with TPP, PD, ECCN and H100-equivalents (catalogue order)."""
    table = load_rule_table()
    return [_row(m, table) for m in list_models()]


def catalogue_report() -> dict[str, object]:
    """The whole catalogue classified, with the rule table date: ``chiptrail classify --json``."""
    table = load_rule_table()
    return {
        "rules_as_of": table.rules_as_of.isoformat(),
        "reference_model": table.thresholds.reference_model,
        "reference_tpp": reference_tpp(table),
        "models": to_wire(list_hardware()),
    }


def describe_hardware(model: str, quantity: int = 1) -> dict[str, object]:
    """One model: every sourced figure, its 3A090 classification and, for ``quantity``, 4A090.

    Raises:
        NotFound: unknown model (close names in the details). InvalidInput: bad quantity.
    """
    table = load_rule_table()
    found = get_model(model)
    system = classify_system(found, quantity, rules=table)
    return {
        "model": found.to_dict(),
        "tpp_precision": found.tpp_precision,
        "classification": to_wire(system.item),
        "system": to_wire({k: v for k, v in asdict(system).items() if k != "item"}),
        "rules_as_of": table.rules_as_of.isoformat(),
    }


def classify_figures(
    tpp: float | None,
    die_area_mm2: float | None,
    *,
    designed_for_datacenter: bool = True,
    quantity: int = 1,
) -> dict[str, object]:
    """Classify custom figures (an unlisted chip, or a what-if).

    Raises:
        InvalidInput: missing or negative figures, naming the field.
    """
    table = load_rule_table()
    cls = classify_item(
        tpp=tpp,
        die_area_mm2=die_area_mm2,
        designed_for_datacenter=designed_for_datacenter,
        rules=table,
    )
    system = classify_system(cls, quantity, rules=table)
    return {
        "classification": to_wire(cls),
        "system": to_wire({k: v for k, v in asdict(system).items() if k != "item"}),
        "rules_as_of": table.rules_as_of.isoformat(),
    }


def classify_memory(
    memory_bandwidth_density_gbps_per_mm2: float, *, co_packaged_with_logic: bool = False
) -> dict[str, object]:
    """Classify a stand-alone HBM stack against 3A090.c.

    Raises:
        InvalidInput: a negative density.
    """
    table = load_rule_table()
    result = classify_hbm(
        memory_bandwidth_density_gbps_per_mm2,
        co_packaged_with_logic=co_packaged_with_logic,
        rules=table,
    )
    return {"classification": to_wire(result), "rules_as_of": table.rules_as_of.isoformat()}


def check_order(
    item: str,
    quantity: int,
    destination: str,
    *,
    end_user: str | None = None,
    end_user_headquarters: str | None = None,
    end_user_listed: bool | None = None,
    restricted_parties: Collection[str] | None = None,
    rules_text: str | None = None,
) -> LicenseAnswer:
    """Answer a licence question for an order of catalogue accelerators.

    Args:
        rules_text: a rule table JSON document replacing the built-in one (what-if analysis).

    Raises:
        NotFound: unknown model. InvalidInput: bad quantity, country code or rule table.
    """
    table = load_rule_table() if rules_text is None else parse_rule_table(rules_text)
    return check_license(
        item,
        quantity,
        destination,
        end_user=end_user,
        end_user_headquarters=end_user_headquarters,
        end_user_listed=end_user_listed,
        restricted_parties=restricted_parties,
        rules=table,
    )
