"""Synthetic company names with country-typical legal forms (no real companies). No I/O."""

from __future__ import annotations

import numpy as np

_FIRST = (
    "Northwind",
    "Bluepeak",
    "Silverline",
    "Cobalt",
    "Redwood",
    "Granite",
    "Harbor",
    "Summit",
    "Aurora",
    "Meridian",
    "Pinecrest",
    "Ironbridge",
    "Lakeshore",
    "Brightwater",
    "Stonegate",
    "Evergreen",
    "Clearview",
    "Riverside",
    "Highland",
    "Westfield",
    "Oakridge",
    "Sunrise",
    "Kingfisher",
    "Falcon",
    "Orchid",
    "Lotus",
    "Sapphire",
    "Crescent",
    "Atlas",
    "Vantage",
)
_SECOND = (
    "Compute",
    "Data",
    "Cloud",
    "Systems",
    "Networks",
    "Analytics",
    "Digital",
    "Infra",
    "Labs",
    "Technologies",
    "Logistics",
    "Trading",
    "Holdings",
    "Solutions",
    "Partners",
)
LEGAL_FORM = {
    "US": "Inc.",
    "CA": "Ltd.",
    "MX": "S.A. de C.V.",
    "BR": "Ltda.",
    "GB": "Ltd",
    "IE": "Ltd",
    "NL": "B.V.",
    "DE": "GmbH",
    "FR": "SAS",
    "CH": "AG",
    "IT": "S.r.l.",
    "ES": "S.L.",
    "SE": "AB",
    "FI": "Oy",
    "PL": "Sp. z o.o.",
    "IL": "Ltd.",
    "SA": "LLC",
    "AE": "FZE",
    "IN": "Pvt. Ltd.",
    "SG": "Pte. Ltd.",
    "MY": "Sdn. Bhd.",
    "TH": "Co., Ltd.",
    "VN": "JSC",
    "ID": "PT",
    "HK": "Limited",
    "TW": "Co., Ltd.",
    "JP": "K.K.",
    "KR": "Co., Ltd.",
    "AU": "Pty Ltd",
    "ZA": "(Pty) Ltd",
    "CN": "Co., Ltd.",
    "RU": "OOO",
}


def company_name(rng: np.random.Generator, country: str, used: set[str]) -> str:
    """A fresh synthetic name ``"<Word> <Word> <legal form>"`` not yet in ``used``."""
    form = LEGAL_FORM.get(country, "Ltd.")
    for _ in range(200 if len(used) < 400 else 0):
        base = f"{_FIRST[rng.integers(len(_FIRST))]} {_SECOND[rng.integers(len(_SECOND))]}"
        name = f"PT {base}" if form == "PT" else f"{base} {form}"
        if base not in used:
            used.add(base)
            return name
    n = len(used)
    used.add(f"#{n}")
    return f"Entity {n} {form}"
