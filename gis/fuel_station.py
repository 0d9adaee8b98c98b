"""Fuel-station grade under GB 50156 from its tank volumes (diesel counted at half).

Table (reference/safety-standards.md §6.1, GB 50156-2012/2021 表3.0.9):

===== ===================== ==============================
grade total volume V (m³)    single tank (m³)
===== ===================== ==============================
一级   150 < V ≤ 210         ≤ 50
二级   90 < V ≤ 150          ≤ 50
三级   V ≤ 90                gasoline ≤ 30, diesel ≤ 50
===== ===================== ==============================

V = gasoline + diesel / 2 (柴油罐容积可折半计入油罐总容积).
"""

from __future__ import annotations

import math

GRADE_LABELS = {1: "一级", 2: "二级", 3: "三级"}
#: (grade, largest V in m³, largest single tank in m³) from the table above.
GRADE_LIMITS = ((3, 90.0, 50.0), (2, 150.0, 50.0), (1, 210.0, 50.0))
GRADE3_GASOLINE_TANK_MAX = 30.0


def equivalent_volume(gasoline_m3: float | None, diesel_m3: float | None) -> float:
    """Total tank volume for grading, m³: gasoline plus half the diesel."""
    g = float(gasoline_m3 or 0.0)
    d = float(diesel_m3 or 0.0)
    if g < 0 or d < 0 or not (math.isfinite(g) and math.isfinite(d)):
        raise ValueError("tank volumes must be finite and ≥ 0 m³")
    return g + d / 2.0


def station_grade(
    gasoline_m3: float | None,
    diesel_m3: float | None,
    max_tank_m3: float | None = None,
) -> int | None:
    """Grade 1, 2 or 3 of a fuel station; ``None`` when it exceeds a grade-1 station (V > 210 m³).

    Parameters
    ----------
    gasoline_m3, diesel_m3
        Total volume of the gasoline and of the diesel tanks, m³.
    max_tank_m3
        Largest single tank, m³ (unknown: not checked). Without the fuel of that tank,
        a tank over 30 m³ at a station with gasoline is taken as a gasoline tank, which
        rules out grade 3 — the stricter reading, since a higher grade needs larger distances.
    """
    v = equivalent_volume(gasoline_m3, diesel_m3)
    single = None if max_tank_m3 is None else float(max_tank_m3)
    for grade, v_max, single_max in GRADE_LIMITS:
        if v > v_max:
            continue
        if single is not None and single > single_max:
            continue
        if grade == 3 and single is not None and (gasoline_m3 or 0) > 0 and single > GRADE3_GASOLINE_TANK_MAX:
            continue
        return grade
    return None
