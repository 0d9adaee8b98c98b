"""Pasquill atmospheric stability (A–F) from wind speed, day or night and cloud cover.

A dispatcher at 3 a.m. knows the wind and whether it is cloudy, not a stability class. This
module turns what they know into the class the Gaussian plume (:mod:`safemap.gis.plume`) needs.

The key is Pasquill's (1961) as printed by Turner, *Workbook of Atmospheric Dispersion
Estimates* (US EPA, AP-26, 1970), Table 1 "Key to stability categories" — the same table as
Seinfeld & Pandis, *Atmospheric Chemistry and Physics*, Table 18.3:

=============  ===========================  =============================
surface wind   day: incoming solar          night
(10 m), m/s    radiation                    (thinly overcast or   ≤ 3/8
               strong   moderate  slight    ≥ 4/8 low cloud)      cloud
=============  ======   ========  ======    ====================  =====
< 2            A        A–B       B         (F)                   (F)
2 – 3          A–B      B         C         E                     F
3 – 5          B        B–C       C         D                     E
5 – 6          C        C–D       D         D                     D
> 6            C        D         D         D                     D
=============  ======   ========  ======    ====================  =====

"The neutral class, D, should be assumed for overcast conditions during day or night"
(Turner, note to Table 1). Choices made here, each on the safe side for people downwind:

* A two-class cell (A–B, B–C, C–D) gives the **more stable** class: a more stable atmosphere
  dilutes a ground-level release less, so its toxic footprint is longer.
* Turner leaves night with wind < 2 m/s blank (the plume model is unreliable in near calm);
  F, the most stable class the model knows, is returned.
* Wind speeds on a boundary go to the faster row (2.0 m/s is "2 – 3").
* Incoming radiation from the sun's elevation (Turner 1964 insolation classes): > 60° strong,
  35–60° moderate, 15–35° slight, 0–15° slight too; the sun at or below the horizon is night.
  Cloud of 5–7 oktas lowers a day's radiation one step (strong → moderate → slight); 8 oktas
  (overcast) is D by day and by night.
* Night columns: ≥ 4 oktas is "thinly overcast", ≤ 3 oktas the clear column.

Cloud cover is in oktas (eighths of the sky, 0–8) or a Chinese forecast word, taken as the
China Meteorological Administration's sky states: 晴 (low/mid cloud < 1 tenth) → 0 oktas,
少云 (1–3 tenths) → 2, 多云 (4–7 tenths) → 5, 阴 (≥ 8 tenths, overcast) → 8.

The sun's elevation follows NOAA's "General Solar Position Calculations" (fractional year,
equation of time and declination after Spencer 1971), good to about 0.5° — ample for
classes 20° wide.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

#: Chinese sky-state words and the oktas they are taken as (see the module docstring).
CLOUD_WORDS: dict[str, int] = {"晴": 0, "少云": 2, "多云": 5, "阴": 8}

#: Turner's Table 1, day columns (strong, moderate, slight), by wind row; pairs as "AB".
_DAY: tuple[tuple[str, str, str], ...] = (
    ("A", "AB", "B"),  # < 2 m/s
    ("AB", "B", "C"),  # 2–3
    ("B", "BC", "C"),  # 3–5
    ("C", "CD", "D"),  # 5–6
    ("C", "D", "D"),  # > 6
)
#: Night columns (≥ 4/8 cloud, ≤ 3/8 cloud) by wind row; row < 2 is blank in Turner (F here).
_NIGHT: tuple[tuple[str, str], ...] = (("F", "F"), ("E", "F"), ("D", "E"), ("D", "D"), ("D", "D"))
_ROW_EDGES_M_S = (2.0, 3.0, 5.0, 6.0)
INSOLATION_LABELS = {"strong": "强", "moderate": "中等", "slight": "弱", "night": "夜间", "overcast": "阴天"}


@dataclass(frozen=True)
class StabilityResult:
    """The class and how it was found.

    Attributes
    ----------
    stability
        Pasquill class, one of ``A``–``F``.
    table_cell
        The cell of Turner's table, e.g. ``A–B`` before the more stable class was taken.
    insolation
        ``strong``, ``moderate``, ``slight``, ``night`` or ``overcast``.
    sun_elevation_deg
        The sun's elevation above the horizon, degrees (negative below it).
    cloud_oktas
        Cloud cover used, eighths of the sky.
    explanation
        One Chinese sentence for the dispatcher (e.g. 白天 太阳高度角 43° 中等日照，风速 2.5 m/s → B).
    """

    stability: str
    table_cell: str
    insolation: str
    sun_elevation_deg: float
    cloud_oktas: int
    explanation: str


def cloud_oktas(value: int | float | str) -> int:
    """Cloud cover as oktas (0–8) from a number or a Chinese sky word.

    Raises
    ------
    ValueError
        Not 0–8, nor one of 晴/少云/多云/阴.
    """
    if isinstance(value, str):
        word = value.strip()
        if word in CLOUD_WORDS:
            return CLOUD_WORDS[word]
        raise ValueError(f"云量应为 0–8（八分量）或 晴/少云/多云/阴，收到“{value}”")
    if isinstance(value, bool) or not math.isfinite(float(value)) or not 0 <= float(value) <= 8:
        raise ValueError(f"云量应为 0–8（八分量），收到 {value}")
    return round(float(value))


def sun_elevation_deg(when: dt.datetime, lon: float, lat: float) -> float:
    """The sun's elevation above the horizon at ``when`` seen from (``lon``, ``lat``), degrees.

    Parameters
    ----------
    when
        An aware datetime (any zone).
    lon, lat
        Degrees, east and north positive.

    Returns
    -------
    float
        Elevation in degrees, refraction ignored (NOAA General Solar Position Calculations).
    """
    if when.tzinfo is None:
        raise ValueError("when must carry a time zone")
    utc = when.astimezone(dt.UTC)
    day_of_year = utc.timetuple().tm_yday
    hours = utc.hour + utc.minute / 60 + utc.second / 3600
    days_in_year = 366 if (utc.year % 4 == 0 and (utc.year % 100 != 0 or utc.year % 400 == 0)) else 365
    g = 2 * math.pi / days_in_year * (day_of_year - 1 + (hours - 12) / 24)
    eqtime = 229.18 * (
        0.000075
        + 0.001868 * math.cos(g)
        - 0.032077 * math.sin(g)
        - 0.014615 * math.cos(2 * g)
        - 0.040849 * math.sin(2 * g)
    )
    decl = (
        0.006918
        - 0.399912 * math.cos(g)
        + 0.070257 * math.sin(g)
        - 0.006758 * math.cos(2 * g)
        + 0.000907 * math.sin(2 * g)
        - 0.002697 * math.cos(3 * g)
        + 0.00148 * math.sin(3 * g)
    )
    true_solar_min = hours * 60 + eqtime + 4 * lon
    hour_angle = math.radians(true_solar_min / 4 - 180)
    phi = math.radians(lat)
    cos_zenith = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(hour_angle)
    return 90.0 - math.degrees(math.acos(max(-1.0, min(1.0, cos_zenith))))


def _row(wind_m_s: float) -> int:
    return sum(wind_m_s >= edge for edge in _ROW_EDGES_M_S)


def insolation(elevation_deg: float, oktas: int) -> str:
    """Turner's incoming-radiation column: ``strong``, ``moderate``, ``slight``, ``night`` or ``overcast``."""
    if oktas >= 8:
        return "overcast"
    if elevation_deg <= 0:
        return "night"
    step = 0 if elevation_deg > 60 else 1 if elevation_deg > 35 else 2
    if oktas >= 5:
        step = min(step + 1, 2)
    return ("strong", "moderate", "slight")[step]


def pasquill_class(
    wind_m_s: float, when: dt.datetime, lon: float, lat: float, cloud: int | float | str
) -> StabilityResult:
    """The Pasquill stability class for a wind, a moment, a place and a cloud cover.

    Parameters
    ----------
    wind_m_s
        Surface (10 m) wind speed, m/s, ≥ 0.
    when
        The moment (aware datetime).
    lon, lat
        The place, degrees (for the sun's elevation).
    cloud
        Cloud cover: oktas 0–8, or 晴/少云/多云/阴.

    Returns
    -------
    StabilityResult
        The class (A–F), the table cell, the insolation and a Chinese explanation.

    Raises
    ------
    ValueError
        A negative or non-finite wind, or an unreadable cloud cover.
    """
    return classify(wind_m_s, sun_elevation_deg(when, lon, lat), cloud)


def classify(wind_m_s: float, elevation: float, cloud: int | float | str) -> StabilityResult:
    """Turner's table for a wind (m/s), the sun's elevation (degrees) and a cloud cover (see :func:`pasquill_class`)."""
    if not math.isfinite(wind_m_s) or wind_m_s < 0:
        raise ValueError(f"风速应为不小于 0 的数（m/s），收到 {wind_m_s}")
    oktas = cloud_oktas(cloud)
    column = insolation(elevation, oktas)
    row = _row(wind_m_s)
    if column == "overcast":
        cell = "D"
    elif column == "night":
        cell = _NIGHT[row][0 if oktas >= 4 else 1]
    else:
        cell = _DAY[row][("strong", "moderate", "slight").index(column)]
    chosen = cell[-1]  # the more stable of a pair
    shown = "–".join(cell)
    when_text = "夜间" if column == "night" else "阴天" if column == "overcast" else "白天"
    explanation = (
        f"{when_text}（太阳高度角 {elevation:.0f}°，云量 {oktas}/8"
        + (f"，{INSOLATION_LABELS[column]}日照" if column in ("strong", "moderate", "slight") else "")
        + f"），风速 {wind_m_s:g} m/s → 帕斯奎尔稳定度 {chosen}"
        + (f"（表中为 {shown}，取较稳定者）" if len(cell) > 1 else "")
        + "；依据 Turner (1970) 表1"
    )
    return StabilityResult(chosen, shown, column, round(elevation, 2), oktas, explanation)
