"""Accelerator models and export classification: TPP, PD, ECCN 3A090/4A090, licence answers.

Pure core: figures and rules are package data (``data/``), read but never written; no database,
no HTTP. Fuzzy party screening is left to ``chiptrail.parties``.
"""

from __future__ import annotations

from chiptrail.hardware.catalogue import Accelerator, Figure, get_model, list_models
from chiptrail.hardware.classify import (
    Classification,
    Eccn,
    HbmClassification,
    SystemClassification,
    classify_hbm,
    classify_item,
    classify_system,
    h100_equivalents,
)
from chiptrail.hardware.license import (
    EXAMPLE_RESTRICTED_PARTIES,
    LicenseAnswer,
    LicenseDecision,
    check_license,
)
from chiptrail.hardware.ruletable import RuleTable, load_rule_table, parse_rule_table
from chiptrail.hardware.tpp import compute_performance_density, compute_tpp

__all__ = [
    "EXAMPLE_RESTRICTED_PARTIES",
    "Accelerator",
    "Classification",
    "Eccn",
    "Figure",
    "HbmClassification",
    "LicenseAnswer",
    "LicenseDecision",
    "RuleTable",
    "SystemClassification",
    "check_license",
    "classify_hbm",
    "classify_item",
    "classify_system",
    "compute_performance_density",
    "compute_tpp",
    "get_model",
    "h100_equivalents",
    "list_models",
    "load_rule_table",
    "parse_rule_table",
]
