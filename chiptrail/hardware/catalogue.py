"""The accelerator catalogue: models, their sourced figures, and lookup by name.

No I/O beyond reading the immutable package data file ``data/catalogue.json`` (as
``countries.py`` reads pycountry's data); ``parse_catalogue`` takes text for tests and callers
that ship their own catalogue.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from chiptrail.errors import InvalidInput, NotFound
from chiptrail.hardware.tpp import compute_tpp, tpp_precision

CATALOGUE_RESOURCE = "data/catalogue.json"


@dataclass(frozen=True, slots=True)
class Figure:
    """One published number with where it comes from.

    Attributes:
        value: the number in the unit named by the field holding it; None when unknown.
        sources: URLs that state (or let us derive) the number.
        note: how it was derived or what is disputed.
        estimate: True when no vendor publishes it and the value is an estimate.
    """

    value: float | None
    sources: tuple[str, ...] = ()
    note: str = ""
    estimate: bool = False


@dataclass(frozen=True, slots=True)
class Accelerator:
    """One accelerator package (per GPU, not per server).

    Attributes:
        model_id: stable kebab-case id, e.g. ``h100-sxm``.
        name: the vendor's product name.
        dense_tops: dense (no structured sparsity) peak matrix throughput per precision
            (``fp4 fp6 fp8 int8 fp16 bf16``), in TOPS or TFLOPS, each a sourced ``Figure``.
        die_area_mm2: applicable die area (all logic dies on a non-planar node), mm^2.
        designed_for_datacenter: "designed or marketed for use in datacenters" (Note 2 to 3A090).
        reference_only: listed for comparison (not a US item; the EAR may not apply).
    """

    model_id: str
    name: str
    vendor: str
    architecture: str
    aliases: tuple[str, ...]
    designed_for_datacenter: bool
    dense_tops: Mapping[str, Figure]
    die_area_mm2: Figure
    memory_gb: Figure
    memory_type: str
    memory_bandwidth_gbps: Figure
    notes: str = ""
    reference_only: bool = False

    @property
    def tpp(self) -> float:
        """Total processing performance (max over precisions of dense TOPS x bit length)."""
        return compute_tpp({p: f.value for p, f in self.dense_tops.items() if f.value is not None})

    @property
    def tpp_precision(self) -> str:
        """The precision that gives the TPP (the widest bit length on a tie)."""
        return tpp_precision(
            {p: f.value for p, f in self.dense_tops.items() if f.value is not None}
        )

    def to_dict(self) -> dict[str, object]:
        """Wire form with snake_case keys; figures keep their sources."""

        def fig(f: Figure) -> dict[str, object]:
            return {
                "value": f.value,
                "sources": list(f.sources),
                "note": f.note,
                "estimate": f.estimate,
            }

        return {
            "model_id": self.model_id,
            "name": self.name,
            "vendor": self.vendor,
            "architecture": self.architecture,
            "aliases": list(self.aliases),
            "designed_for_datacenter": self.designed_for_datacenter,
            "reference_only": self.reference_only,
            "dense_tops": {p: fig(f) for p, f in self.dense_tops.items()},
            "die_area_mm2": fig(self.die_area_mm2),
            "memory_gb": fig(self.memory_gb),
            "memory_type": self.memory_type,
            "memory_bandwidth_gbps": fig(self.memory_bandwidth_gbps),
            "notes": self.notes,
        }


@dataclass(frozen=True, slots=True)
class Catalogue:
    """All models of one catalogue file, with its name index."""

    models: tuple[Accelerator, ...]
    compiled_at: str
    index: Mapping[str, Accelerator]

    def get(self, name: str) -> Accelerator:
        """The model whose id, name or alias matches ``name`` (case/punctuation-insensitive).

        Raises:
            NotFound: with up to five close names in ``details["close_matches"]``.
        """
        key = normalise_name(name)
        found = self.index.get(key)
        if found is not None:
            return found
        close_keys = difflib.get_close_matches(key, list(self.index), n=8, cutoff=0.5)
        close: list[str] = []
        for k in close_keys:
            if self.index[k].name not in close:
                close.append(self.index[k].name)
        hint = f"; did you mean: {', '.join(close[:5])}?" if close else ""
        raise NotFound(
            f"model: unknown accelerator {name!r}{hint} (see `chiptrail hardware list`)",
            {"field": "model", "value": name, "close_matches": close[:5]},
        )


def normalise_name(name: str) -> str:
    """Lower-case and drop everything but letters and digits: ``"H100-SXM"`` -> ``"h100sxm"``."""
    return re.sub(r"[^0-9a-z]", "", name.casefold())


def _figure(raw: object, sources: Mapping[str, str], where: str) -> Figure:
    if not isinstance(raw, dict):
        raise InvalidInput(f"catalogue: {where} must be an object", {"field": where})
    value = raw.get("value")
    if value is not None and (not isinstance(value, int | float) or value < 0):
        raise InvalidInput(f"catalogue: {where}.value must be >= 0", {"field": where})
    try:
        urls = tuple(sources[s] for s in raw.get("sources", []))
    except KeyError as exc:
        raise InvalidInput(
            f"catalogue: {where} names unknown source {exc}", {"field": where}
        ) from exc
    return Figure(
        None if value is None else float(value),
        urls,
        str(raw.get("note", "")),
        bool(raw.get("estimate", False)),
    )


def _model(raw: dict[str, object], sources: Mapping[str, str]) -> Accelerator:
    mid = str(raw["id"])
    tops_raw = raw.get("dense_tops")
    if not isinstance(tops_raw, dict):
        raise InvalidInput(f"catalogue: {mid}.dense_tops must be an object", {"field": mid})
    aliases = raw.get("aliases", [])
    return Accelerator(
        model_id=mid,
        name=str(raw["name"]),
        vendor=str(raw["vendor"]),
        architecture=str(raw.get("architecture", "")),
        aliases=tuple(str(a) for a in aliases) if isinstance(aliases, list) else (),
        designed_for_datacenter=bool(raw["designed_for_datacenter"]),
        dense_tops={
            str(p): _figure(f, sources, f"{mid}.dense_tops.{p}") for p, f in tops_raw.items()
        },
        die_area_mm2=_figure(raw["die_area_mm2"], sources, f"{mid}.die_area_mm2"),
        memory_gb=_figure(raw["memory_gb"], sources, f"{mid}.memory_gb"),
        memory_type=str(raw.get("memory_type", "")),
        memory_bandwidth_gbps=_figure(
            raw["memory_bandwidth_gbps"], sources, f"{mid}.memory_bandwidth_gbps"
        ),
        notes=str(raw.get("notes", "")),
        reference_only=bool(raw.get("reference_only", False)),
    )


def parse_catalogue(text: str) -> Catalogue:
    """Parse a catalogue JSON document (the format of ``data/catalogue.json``).

    Raises:
        InvalidInput: malformed JSON, a missing field, a negative figure, an unknown source
            key, or two models sharing a name.
    """
    try:
        doc = json.loads(text)
        sources = {str(k): str(v) for k, v in doc["sources"].items()}
        models = tuple(_model(m, sources) for m in doc["models"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidInput(
            f"catalogue: malformed document ({exc})", {"field": "catalogue"}
        ) from exc
    index: dict[str, Accelerator] = {}
    for m in models:
        for alias in (m.model_id, m.name, *m.aliases):
            key = normalise_name(alias)
            if key in index and index[key] is not m:
                raise InvalidInput(
                    f"catalogue: name {alias!r} is used by {index[key].model_id} and {m.model_id}",
                    {"field": "aliases"},
                )
            index[key] = m
    return Catalogue(models, str(doc.get("compiled_at", "")), index)


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    """The built-in catalogue shipped as package data (parsed once)."""
    text = resources.files("chiptrail.hardware").joinpath(CATALOGUE_RESOURCE).read_text("utf-8")
    return parse_catalogue(text)


def get_model(name: str) -> Accelerator:
    """Look up a built-in model by id, name or alias, ignoring case and punctuation.

    Example: ``get_model("h100 sxm")``, ``get_model("H100-SXM")`` and ``get_model("H100")`` all
    return the H100 SXM5 80GB.

    Raises:
        NotFound: unknown name; the message and ``details["close_matches"]`` list close names.
    """
    return load_catalogue().get(name)


def list_models() -> tuple[Accelerator, ...]:
    """Every built-in model, in catalogue order (vendor, then generation)."""
    return load_catalogue().models
