"""A synthetic chemical park of N hazard sources for domino tests and benchmarks (marked synthetic).

:func:`synthetic_park` lays out tank farms on a jittered grid (spacing 45–70 m, like a dense
park's tank farms) west of the demo county's industrial park, with a mix of the demo's
substances: LPG spheres/bullets (pressurised, BLEVE + VCE), LNG tanks (VCE), gasoline and
diesel tanks with square dikes (pool fires), solvent warehouses and a few ammonia units
(toxic). Each source is a GeoJSON Feature in lon/lat shaped like a ``hazard_sources`` row,
as ``safemap.api.services.domino.analyse(extra_sources=...)`` takes it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Park origin (lon, lat): inside the demo extent, clear of the demo park's own sources.
ORIGIN = (82.96, 46.15)
M_PER_DEG_LAT = 111_320.0

#: (kind, vessel_type or None, substance, cas, tonnes range, footprint side m range, share)
KINDS: tuple[tuple[str, str | None, str, str, tuple[float, float], tuple[float, float], float], ...] = (
    ("lpg_tank", None, "液化石油气", "68476-85-7", (10.0, 50.0), (0.0, 0.0), 0.25),
    ("storage_tank", "atmospheric", "天然气（液化天然气）", "8006-14-2", (10.0, 30.0), (8.0, 12.0), 0.15),
    ("storage_tank", None, "汽油（乙醇汽油）", "86290-81-5", (100.0, 700.0), (12.0, 30.0), 0.25),
    ("storage_tank", None, "柴油（-35号）", "68334-30-5", (100.0, 700.0), (12.0, 30.0), 0.15),
    ("warehouse", None, "甲醇", "67-56-1", (5.0, 40.0), (15.0, 30.0), 0.15),
    ("process_unit", "auxiliary", "氨（液氨）", "7664-41-7", (2.0, 15.0), (6.0, 10.0), 0.05),
)


def _square(lon: float, lat: float, side_m: float) -> dict[str, Any]:
    half_lat = side_m / 2 / M_PER_DEG_LAT
    half_lon = side_m / 2 / (M_PER_DEG_LAT * math.cos(math.radians(lat)))
    ring = [
        [lon - half_lon, lat - half_lat],
        [lon + half_lon, lat - half_lat],
        [lon + half_lon, lat + half_lat],
        [lon - half_lon, lat + half_lat],
        [lon - half_lon, lat - half_lat],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def synthetic_park(
    n_units: int = 200, seed: int = 18, *, origin: tuple[float, float] = ORIGIN, spacing_m: float = 55.0
) -> list[dict[str, Any]]:
    """``n_units`` hazard-source features (lon/lat) of a synthetic park, reproducible from ``seed``.

    Parameters
    ----------
    n_units
        How many sources (≥ 0).
    seed
        Seed of the random layout and inventory.
    origin
        South-west corner (lon, lat) in degrees.
    spacing_m
        Mean grid spacing between sources, metres (jittered ±25 %).

    Returns
    -------
    list of dict
        GeoJSON Features with ``properties`` ``name``, ``kind``, ``vessel_type``,
        ``max_tank_m3`` (None) and ``substances`` [{name, cas, quantity_t}].
    """
    if n_units < 0:
        raise ValueError("n_units must be ≥ 0")
    rng = np.random.default_rng(seed)
    shares = np.array([k[6] for k in KINDS])
    picks = rng.choice(len(KINDS), size=n_units, p=shares / shares.sum())
    cols = max(1, math.ceil(math.sqrt(n_units)))
    lon0, lat0 = origin
    m_per_deg_lon = M_PER_DEG_LAT * math.cos(math.radians(lat0))
    out = []
    for i, k in enumerate(picks):
        kind, vessel, sub, cas, (q0, q1), (s0, s1), _ = KINDS[int(k)]
        dx = (i % cols) * spacing_m + rng.uniform(-0.25, 0.25) * spacing_m
        dy = (i // cols) * spacing_m + rng.uniform(-0.25, 0.25) * spacing_m
        lon, lat = lon0 + dx / m_per_deg_lon, lat0 + dy / M_PER_DEG_LAT
        side = float(rng.uniform(s0, s1)) if s1 > 0 else 0.0
        geometry = _square(lon, lat, side) if side > 0 else {"type": "Point", "coordinates": [lon, lat]}
        out.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "name": f"合成园区{i + 1}号（{sub}）",
                    "kind": kind,
                    "vessel_type": vessel,
                    "max_tank_m3": None,
                    "substances": [{"name": sub, "cas": cas, "quantity_t": round(float(rng.uniform(q0, q1)), 1)}],
                },
            }
        )
    return out
