"""The simulator's round-trip-time model: fibre at 2/3 c, route inflation, last mile, queueing.

Constants were fitted by ``benchmarks/fit_latency.py`` on real RIPE Atlas anchor-to-anchor minimum
RTTs (../shared/data/latency, 1,099 pairs, April 2023); the simulator never reads that data.
Fit (pairs over 500 km): lower-envelope inflation 1.48 with a 1.03 ms intercept; log(inflation)
mean 0.752, sd 0.288 (median inflation 2.03 over the straight fibre path).
No I/O; randomness comes from the caller's ``numpy.random.Generator``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

C_KM_PER_MS = 299.792458
"""Speed of light in vacuum, km per ms."""
FIBRE_KM_PER_MS = C_KM_PER_MS * 2 / 3
"""Signal speed in optical fibre (about 2/3 c), km per ms."""
LAST_MILE_MS = 1.03
"""Fitted intercept: access links and processing, ms of RTT."""
LOG_INFLATION_MEAN = 0.752
"""Fitted mean of log(route inflation) over the straight fibre path."""
LOG_INFLATION_SD = 0.288
"""Fitted standard deviation of log(route inflation)."""
QUEUE_MEAN_MS = 0.5
"""Mean of the exponential queueing delay added to each minimum RTT, ms (not fitted: the data
holds minimums of three pings, which hide most queueing)."""
EARTH_RADIUS_KM = 6371.0088

FloatArray = npt.NDArray[np.float64]


def distance_km(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    """Vectorised haversine distance in km; inputs in degrees, broadcast together."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    out: FloatArray = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return out


def simulate_rtt_ms(distance: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Honest minimum RTTs (ms) over ``distance`` km: never faster than fibre allows.

    Args:
        distance: great-circle distances in km, any shape.
        rng: the caller's seeded generator.

    Returns:
        RTTs in ms, same shape: 2 d / v_fibre * inflation + last mile + queueing.
    """
    d = np.asarray(distance, dtype=np.float64)
    inflation = np.maximum(1.0, rng.lognormal(LOG_INFLATION_MEAN, LOG_INFLATION_SD, d.shape))
    # Short paths are mostly metro fibre: damp the long-haul inflation below ~200 km.
    inflation = np.where(d < 200.0, 1.0 + (inflation - 1.0) * d / 200.0, inflation)
    queue = rng.exponential(QUEUE_MEAN_MS, d.shape)
    rtt: FloatArray = 2 * d / FIBRE_KM_PER_MS * inflation + LAST_MILE_MS + queue
    return rtt
