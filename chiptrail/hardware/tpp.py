"""Total processing performance (TPP) and performance density (PD) as ECCN 3A090 defines them.

Pure arithmetic; classification against thresholds lives in ``classify.py``.

Technical Note to 3A090.a/.b (15 CFR part 774, Supplement No. 1): TPP = 2 x MacTOPS x bit
length of the operation, aggregated over all processing units; where several bit lengths are
supported the highest value counts. A datasheet's dense TOPS/TFLOPS figure already counts a
multiply-accumulate as two operations (TOPS = 2 x MacTOPS), so TPP = dense TOPS x bit length.
Sparse ("with sparsity") figures must not be used. PD = TPP / applicable die area (mm^2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from chiptrail.errors import InvalidInput

#: Bit length of each precision's operands. TF32 is left out on purpose: its bit length is
#: ambiguous (19 significant bits in 32-bit words) and counting it at 32 bits never changes a
#: classification in the catalogue (see docs/export-controls.md).
BIT_LENGTHS: Mapping[str, int] = {
    "fp4": 4,
    "fp6": 6,
    "fp8": 8,
    "int8": 8,
    "fp16": 16,
    "bf16": 16,
    "fp32": 32,
    "fp64": 64,
}


def _checked(dense_tops: Mapping[str, float]) -> dict[str, float]:
    if not dense_tops:
        raise InvalidInput(
            "dense_tops: give at least one precision's dense TOPS/TFLOPS",
            {"field": "dense_tops"},
        )
    out: dict[str, float] = {}
    for precision, tops in dense_tops.items():
        key = precision.strip().lower()
        if key not in BIT_LENGTHS:
            raise InvalidInput(
                f"dense_tops: unknown precision {precision!r} (expected one of "
                f"{', '.join(BIT_LENGTHS)})",
                {"field": f"dense_tops.{precision}"},
            )
        value = float(tops)
        if not math.isfinite(value) or value < 0:
            raise InvalidInput(
                f"dense_tops.{precision}: must be a finite number >= 0, got {tops!r}",
                {"field": f"dense_tops.{precision}", "value": tops},
            )
        out[key] = value
    return out


def compute_tpp(dense_tops: Mapping[str, float]) -> float:
    """TPP: the maximum over precisions of dense TOPS (or TFLOPS) x bit length.

    Args:
        dense_tops: precision (``fp4 fp6 fp8 int8 fp16 bf16 fp32 fp64``) -> dense peak
            throughput in TOPS/TFLOPS, without structured sparsity.

    Returns:
        TPP (dimensionless, as the EAR uses it), e.g. 15832.0 for H100 SXM (FP8 1979 x 8).

    Raises:
        InvalidInput: no precision, an unknown precision, or a negative/non-finite figure.
    """
    tops = _checked(dense_tops)
    return max(v * BIT_LENGTHS[p] for p, v in tops.items())


def tpp_precision(dense_tops: Mapping[str, float]) -> str:
    """The precision giving the TPP; on a tie the one with the most bits (e.g. fp16 over fp8)."""
    tops = _checked(dense_tops)
    return max(tops, key=lambda p: (tops[p] * BIT_LENGTHS[p], BIT_LENGTHS[p]))


def compute_performance_density(tpp: float, die_area_mm2: float) -> float:
    """PD = TPP / applicable die area in mm^2 (all logic dies on a non-planar node).

    Raises:
        InvalidInput: negative TPP or a die area that is not > 0.
    """
    check_tpp(tpp)
    if not math.isfinite(die_area_mm2) or die_area_mm2 <= 0:
        raise InvalidInput(
            f"die_area_mm2: must be a number > 0, got {die_area_mm2!r}",
            {"field": "die_area_mm2", "value": die_area_mm2},
        )
    density = tpp / die_area_mm2
    if not math.isfinite(density):
        raise InvalidInput(
            f"die_area_mm2: {die_area_mm2!r} mm² is too small for TPP {tpp:g}",
            {"field": "die_area_mm2", "value": die_area_mm2},
        )
    return density


def check_tpp(tpp: float, field: str = "tpp") -> float:
    """Return ``tpp`` when it is a finite number >= 0.

    Raises:
        InvalidInput: naming ``field``.
    """
    if not math.isfinite(tpp) or tpp < 0:
        raise InvalidInput(
            f"{field}: must be a finite number >= 0, got {tpp!r}", {"field": field, "value": tpp}
        )
    return tpp
