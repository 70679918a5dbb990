"""GS1 identifiers: EPC URNs and GS1 Digital Link URIs turned into canonical Digital Link URIs.

No I/O. Used by the CBV 2.0 event hash (section 8.9, rule: EPC URIs become canonical GS1 Digital
Link URIs with the finest identification level and no query string).
"""

from __future__ import annotations

import re

_DL_HOST = "https://id.gs1.org"
_ESCAPES = {"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B", ",": "%2C", ":": "%3A"}
_SHORT_NAMES = {
    "gtin": "01",
    "itip": "8006",
    "cpid": "8010",
    "gln": "414",
    "party": "417",
    "gsrnp": "8017",
    "gsrn": "8018",
    "gcn": "255",
    "sscc": "00",
    "gdti": "253",
    "ginc": "401",
    "gsin": "402",
    "grai": "8003",
    "giai": "8004",
    "cpv": "22",
    "lot": "10",
    "ser": "21",
}
_PRIMARY_KEYS = (
    "01",
    "8006",
    "8010",
    "414",
    "417",
    "8017",
    "8018",
    "255",
    "00",
    "253",
    "401",
    "402",
    "8003",
    "8004",
)
_DL_RE = re.compile(
    r"^https?://[^/?#]+(?:/[^?#]*)?/(?P<ai>"
    + "|".join(_SHORT_NAMES.keys() | set(_PRIMARY_KEYS))
    # a primary key AI followed by at least 4 characters
    + r")/(?P<rest>\d{4}[^?#]*)(?:\?[^#]*)?(?:#.*)?$"
)
_URN_RE = re.compile(r"^urn:epc:(?P<kind>id|class|idpat):(?P<scheme>[a-z]+):(?P<body>.+)$")


def check_digit(digits: str) -> str:
    """GS1 mod-10 check digit for a string of digits (weights 3, 1, 3 ... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def _escape(text: str) -> str:
    for char, code in _ESCAPES.items():
        text = text.replace(char, code)
    return text


def _gtin(company: str, item: str) -> str:
    raw = item[:1] + company + item[1:]
    return raw + check_digit(raw)


def _digits(*parts: str, total: int) -> bool:
    joined = "".join(parts)
    return joined.isdigit() and len(joined) == total and 6 <= len(parts[0]) <= 12


def _from_epc_id(scheme: str, parts: list[str]) -> str | None:
    n = len(parts)
    if scheme == "sgtin" and n == 3 and _digits(parts[0], parts[1], total=13):
        return f"{_DL_HOST}/01/{_gtin(parts[0], parts[1])}/21/{_escape(parts[2])}"
    if scheme == "sscc" and n == 2 and _digits(parts[0], parts[1], total=17):
        raw = parts[1][:1] + parts[0] + parts[1][1:]
        return f"{_DL_HOST}/00/{raw}{check_digit(raw)}"
    if scheme == "sgln" and n == 3 and _digits(parts[0], parts[1], total=12):
        gln = parts[0] + parts[1]
        gln += check_digit(gln)
        ext = "" if parts[2] == "0" else f"/254/{_escape(parts[2])}"
        return f"{_DL_HOST}/414/{gln}{ext}"
    if scheme == "grai" and n == 3 and _digits(parts[0], parts[1], total=12):
        raw = "0" + parts[0] + parts[1]
        return f"{_DL_HOST}/8003/{raw}{check_digit(raw)}{_escape(parts[2])}"
    if scheme in ("giai", "ginc") and n >= 2 and parts[0].isdigit():
        ai = "8004" if scheme == "giai" else "401"
        return f"{_DL_HOST}/{ai}/{parts[0]}{_escape('.'.join(parts[1:]))}"
    if scheme in ("gsrn", "gsrnp") and n == 2 and _digits(parts[0], parts[1], total=17):
        raw = parts[0] + parts[1]
        ai = "8018" if scheme == "gsrn" else "8017"
        return f"{_DL_HOST}/{ai}/{raw}{check_digit(raw)}"
    if scheme in ("gdti", "sgcn") and n == 3 and _digits(parts[0], parts[1], total=12):
        raw = parts[0] + parts[1]
        ai = "253" if scheme == "gdti" else "255"
        return f"{_DL_HOST}/{ai}/{raw}{check_digit(raw)}{_escape(parts[2])}"
    if scheme == "cpi" and n == 3 and parts[0].isdigit():
        return f"{_DL_HOST}/8010/{_escape(parts[0] + parts[1])}/8011/{parts[2]}"
    if scheme == "gsin" and n == 2 and _digits(parts[0], parts[1], total=16):
        raw = parts[0] + parts[1]
        return f"{_DL_HOST}/402/{raw}{check_digit(raw)}"
    if scheme == "itip" and n == 5 and _digits(parts[0], parts[1], total=13):
        gtin = _gtin(parts[0], parts[1])
        return f"{_DL_HOST}/8006/{gtin}{parts[2]}{parts[3]}/21/{_escape(parts[4])}"
    if scheme == "upui" and n == 3 and _digits(parts[0], parts[1], total=13):
        return f"{_DL_HOST}/01/{_gtin(parts[0], parts[1])}/235/{_escape(parts[2])}"
    if scheme == "pgln" and n == 2 and _digits(parts[0], parts[1], total=12):
        raw = parts[0] + parts[1]
        return f"{_DL_HOST}/417/{raw}{check_digit(raw)}"
    return None


def _from_epc_pattern(scheme: str, parts: list[str]) -> str | None:
    if not parts or parts[-1] != "*":
        return None
    if scheme in ("sgtin", "upui") and len(parts) == 3 and _digits(parts[0], parts[1], total=13):
        return f"{_DL_HOST}/01/{_gtin(parts[0], parts[1])}"
    if scheme == "itip" and len(parts) == 5 and _digits(parts[0], parts[1], total=13):
        return f"{_DL_HOST}/8006/{_gtin(parts[0], parts[1])}{parts[2]}{parts[3]}"
    if scheme == "grai" and len(parts) == 3 and _digits(parts[0], parts[1], total=12):
        raw = "0" + parts[0] + parts[1]
        return f"{_DL_HOST}/8003/{raw}{check_digit(raw)}"
    if scheme in ("gdti", "sgcn") and len(parts) == 3 and _digits(parts[0], parts[1], total=12):
        raw = parts[0] + parts[1]
        ai = "253" if scheme == "gdti" else "255"
        return f"{_DL_HOST}/{ai}/{raw}{check_digit(raw)}"
    if scheme == "cpi" and len(parts) == 3:
        return f"{_DL_HOST}/8010/{_escape(parts[0] + parts[1])}"
    return None


def _from_epc_urn(uri: str) -> str | None:
    found = _URN_RE.match(uri)
    if found is None:
        return None
    kind, scheme, body = found["kind"], found["scheme"], found["body"]
    if kind == "id":
        # the serial (last part) may itself contain dots only for giai/ginc (handled there)
        head = body.split(".", 2) if scheme not in ("itip", "giai", "ginc") else body.split(".")
        if scheme == "itip":
            head = body.split(".", 4)
        return _from_epc_id(scheme, head)
    if kind == "class" and scheme == "lgtin":
        parts = body.split(".", 2)
        if len(parts) == 3 and _digits(parts[0], parts[1], total=13):
            return f"{_DL_HOST}/01/{_gtin(parts[0], parts[1])}/10/{_escape(parts[2])}"
        return None
    return _from_epc_pattern(scheme, body.split("."))


def _from_dl_uri(uri: str) -> str | None:
    found = _DL_RE.match(uri)
    if found is None:
        return None
    ai = _SHORT_NAMES.get(found["ai"], found["ai"])
    if ai not in _PRIMARY_KEYS:
        return None
    segments = found["rest"].rstrip("/").split("/")
    segments = [_SHORT_NAMES.get(s, s) if i % 2 == 1 else s for i, s in enumerate(segments)]
    key = segments[0]
    if ai == "01" and key.isdigit() and len(key) in (8, 12, 13):
        key = key.zfill(14)
    pairs = dict(zip(segments[1::2], segments[2::2], strict=False))
    pairs.pop("22", None)  # consumer product variant is not an identity level
    if "21" in pairs:
        pairs.pop("10", None)  # finest level only: a serial makes the lot redundant
    tail = "".join(f"/{k}/{v}" for k, v in pairs.items())
    return f"{_DL_HOST}/{ai}/{key}{tail}"


def to_canonical_dl(uri: str) -> str | None:
    """The canonical GS1 Digital Link URI for an EPC URN or a Digital Link URI.

    Args:
        uri: ``urn:epc:id:...``, ``urn:epc:class:lgtin:...``, ``urn:epc:idpat:...`` or an
            ``http(s)://<any host>/01/...`` Digital Link URI.

    Returns:
        ``https://id.gs1.org/<AI>/<key>[/<qualifier AI>/<value>]`` or None when ``uri`` carries no
        GS1 key this module knows.
    """
    if uri.startswith("urn:epc:"):
        return _from_epc_urn(uri)
    if uri.startswith(("http://", "https://")):
        return _from_dl_uri(uri)
    return None
