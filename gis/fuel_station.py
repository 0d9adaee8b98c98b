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


def ungradable_reason(
    gasoline_m3: float | None,
    diesel_m3: float | None,
    max_tank_m3: float | None = None,
) -> str | None:
    """Why a fuel station has no GB 50156 grade (Chinese, with its volumes); ``None`` when it has one.

    Parameters
    ----------
    gasoline_m3, diesel_m3
        Total volume of the gasoline and of the diesel tanks, m³ (``None``: not entered).
    max_tank_m3
        Largest single tank, m³ (``None``: unknown).

    Returns
    -------
    str or None
        E.g. "汽油 200 m³、柴油 100 m³ 超出 GB 50156 一级站容积上限，无法定级（柴油折半后总容积
        250 m³ > 210 m³）"; ``None`` when :func:`station_grade` gives a grade.
    """
    if gasoline_m3 is None and diesel_m3 is None:
        return "未填写汽油、柴油储罐容积，无法按 GB 50156 定级"
    try:
        v = equivalent_volume(gasoline_m3, diesel_m3)
    except ValueError:
        return "储罐容积不是有效的非负数，无法按 GB 50156 定级"
    if v <= 0:
        return "汽油、柴油储罐容积均为 0 m³，无法按 GB 50156 定级"
    if station_grade(gasoline_m3, diesel_m3, max_tank_m3) is not None:
        return None
    parts = []
    if gasoline_m3 is not None:
        parts.append(f"汽油 {float(gasoline_m3):g} m³")
    if diesel_m3 is not None:
        parts.append(f"柴油 {float(diesel_m3):g} m³")
    volumes = "、".join(parts)
    top = GRADE_LIMITS[-1]
    if v > top[1]:
        return f"{volumes} 超出 GB 50156 一级站容积上限，无法定级（柴油折半后总容积 {v:g} m³ > {top[1]:g} m³）"
    return f"单罐容积 {float(max_tank_m3 or 0):g} m³ 超出 GB 50156 单罐上限 {top[2]:g} m³（{volumes}），无法定级"
