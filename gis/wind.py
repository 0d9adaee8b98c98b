"""Prevailing wind from a 16-sector wind rose and the 建标152 upwind/crosswind siting test.

Directions are compass bearings in degrees, clockwise from north. A wind direction is where
the wind blows *from* (meteorological convention: 西北风 blows from 315° towards 135°).

Wind rose
    16 sectors N, NNE, … NNW centred on 0°, 22.5°, … 337.5°, each with a frequency in %,
    plus calm (静风). The prevailing wind (常年主导风向) is the sector of highest frequency.
    Several sectors may share the highest frequency (a tie): every one of them is returned
    and the siting test checks the station against each (the conservative reading).

Siting (建标152-2017 第十五条第三款 — the 2017 clause number as the separation_rules table
gives it, 【未核实】; 2011 edition 第十四条第三款: "辖区内有生产、贮存危险化学品单位的，消防站应设置
在常年主导风向的上风或侧风处，其边界距上述危险部位一般不宜小于200m", quoted at
https://ascsdubai.com/jianchuankuaixun/1182.html)
    The standard names the sides but gives no angles. Convention used here (【约定】, not from
    the standard): let δ be the angle between the bearing from the hazardous site to the
    station and the direction the prevailing wind blows *towards* (from + 180°).

    - 下风 (downwind): δ ≤ 45° — the 90° quadrant centred on the downwind direction. The
      boundary belongs to downwind, so a station exactly at 45° fails (never a false pass);
      δ is judged as reported, rounded to 0.01°, so float noise cannot flip a boundary case.
    - 侧风 (crosswind): 45° < δ < 135°.
    - 上风 (upwind): δ ≥ 135° — the 90° quadrant centred on the upwind direction.

    The same ±45° quadrants are used by the dispatch approach (``gis/approach.wind_sector``).
    A station at the site itself (distance 0 m: on or inside the site's outline) fails: it
    is in the site's plume whatever the wind. No rose, an all-calm rose or missing inputs
    give ``cannot_check`` with the reason.

Bearings are geodesic (WGS 84 ellipsoid, :class:`pyproj.Geod`) from lon/lat, so they are
true bearings, not grid bearings of a projected CRS.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pyproj import Geod

#: The 16 sectors, clockwise from north.
SECTORS: tuple[str, ...] = (
    "N",
    "NNE",
    "NE",
    "ENE",
    "E",
    "ESE",
    "SE",
    "SSE",
    "S",
    "SSW",
    "SW",
    "WSW",
    "W",
    "WNW",
    "NW",
    "NNW",
)
#: Code of the calm row of a rose table.
CALM = "C"
SECTOR_WIDTH_DEG = 22.5
#: Chinese names of the 16 directions (surface-observation convention).
SECTOR_NAMES: dict[str, str] = {
    "N": "北",
    "NNE": "北东北",
    "NE": "东北",
    "ENE": "东东北",
    "E": "东",
    "ESE": "东东南",
    "SE": "东南",
    "SSE": "南东南",
    "S": "南",
    "SSW": "南西南",
    "SW": "西南",
    "WSW": "西西南",
    "W": "西",
    "WNW": "西西北",
    "NW": "西北",
    "NNW": "北西北",
}
#: Half-width of the downwind and upwind quadrants, degrees (【约定】, see the module docstring).
DOWNWIND_HALF_ANGLE_DEG = 45.0
#: A rose whose sectors and calm sum this far from 100 % (percentage points) is reported.
SUM_TOLERANCE_PCT = 1.0

RULE = "消防站应位于危险化学品场所的上风或侧风方向"
STANDARD = "建标152-2017"
CLAUSE = "第十五条第三款（2011版第十四条第三款）"
RELATION_LABELS = {"upwind": "上风", "crosswind": "侧风", "downwind": "下风"}
_SEVERITY = {"upwind": 0, "crosswind": 1, "downwind": 2}

_GEOD = Geod(ellps="WGS84")


def sector_deg(code: str) -> float:
    """Centre of sector ``code`` in degrees clockwise from north (``N`` → 0, ``NW`` → 315)."""
    return SECTORS.index(code) * SECTOR_WIDTH_DEG


def sector_of(bearing_deg: float) -> str:
    """The 16-sector code of a bearing (sectors span ±11.25° about their centre; 11.25° → NNE)."""
    return SECTORS[math.floor(((bearing_deg % 360.0) + SECTOR_WIDTH_DEG / 2) / SECTOR_WIDTH_DEG) % 16]


def wind_name(code: str) -> str:
    """Chinese name of a wind from sector ``code``: ``NW`` → 西北风."""
    return SECTOR_NAMES[code] + "风"


@dataclass(frozen=True)
class WindRose:
    """Frequencies (%) of the wind from each of the 16 sectors, calm (%) and mean speeds (m/s).

    ``frequencies`` and ``speeds`` are keyed by sector code; a missing sector counts as 0 %.
    """

    frequencies: Mapping[str, float]
    calm_pct: float = 0.0
    speeds: Mapping[str, float] = field(default_factory=dict)

    def total_pct(self) -> float:
        """Sum of the 16 sector frequencies and calm, %."""
        return float(sum(self.frequencies.get(s, 0.0) for s in SECTORS) + self.calm_pct)

    def warnings(self) -> list[str]:
        """What is wrong with the rose as data (Chinese), empty when it is consistent."""
        out = []
        unknown = sorted(set(self.frequencies) - set(SECTORS))
        if unknown:
            out.append(f"未知的风向方位：{'、'.join(unknown)}")
        bad = [s for s, v in self.frequencies.items() if not (v >= 0)] + (["静风"] if not self.calm_pct >= 0 else [])
        if bad:
            out.append(f"频率不能为负或缺失：{'、'.join(bad)}")
        total = self.total_pct()
        if abs(total - 100.0) > SUM_TOLERANCE_PCT:
            out.append(
                f"16个方位与静风频率合计 {total:.1f}%，应约为 100%（允许 ±{SUM_TOLERANCE_PCT:g}%），请核对风向玫瑰表"
            )
        return out


@dataclass(frozen=True)
class Prevailing:
    """The prevailing wind of a rose: the sector(s) of highest frequency."""

    sectors: tuple[str, ...]
    frequency_pct: float

    @property
    def sector(self) -> str:
        """The first prevailing sector clockwise from north (the only one unless tied)."""
        return self.sectors[0]

    @property
    def from_deg(self) -> float:
        """Direction the prevailing wind blows from, degrees."""
        return sector_deg(self.sector)

    @property
    def tied(self) -> bool:
        """Whether several sectors share the highest frequency."""
        return len(self.sectors) > 1

    @property
    def name(self) -> str:
        """Chinese name, e.g. ``西北风``; tied sectors joined by ``、``."""
        return "、".join(wind_name(s) for s in self.sectors)

    def label(self) -> str:
        """``西北风（315°）``; tied sectors each with their degrees."""
        return "、".join(f"{wind_name(s)}（{sector_deg(s):g}°）" for s in self.sectors)


def prevailing(rose: WindRose | None, *, tolerance_pct: float = 1e-9) -> Prevailing | None:
    """The prevailing wind of ``rose``; ``None`` when there is no wind (empty or all calm).

    Parameters
    ----------
    rose
        Sector frequencies in %.
    tolerance_pct
        Sectors within this many percentage points of the highest are tied with it.

    Returns
    -------
    Prevailing or None
        All sectors of the highest frequency, clockwise from north.
    """
    if rose is None:
        return None
    values = {s: float(rose.frequencies.get(s, 0.0) or 0.0) for s in SECTORS}
    values = {s: v for s, v in values.items() if math.isfinite(v)}
    top = max(values.values(), default=0.0)
    if top <= 0:
        return None
    return Prevailing(tuple(s for s in SECTORS if s in values and values[s] >= top - tolerance_pct), top)


def bearing_deg(from_lonlat: tuple[float, float], to_lonlat: tuple[float, float]) -> float:
    """Geodesic bearing (degrees clockwise from true north, 0–360) from one lon/lat point to another."""
    azimuth, _back, _dist = _GEOD.inv(from_lonlat[0], from_lonlat[1], to_lonlat[0], to_lonlat[1])
    return float(azimuth % 360.0)


def angle_between(a_deg: float, b_deg: float) -> float:
    """Smallest angle between two bearings, 0–180 degrees."""
    d = abs((a_deg - b_deg) % 360.0)
    return min(d, 360.0 - d)


def relation(bearing_site_to_station_deg: float, wind_from_deg: float) -> str:
    """``upwind``, ``crosswind`` or ``downwind``: where the station lies relative to the site.

    Parameters
    ----------
    bearing_site_to_station_deg
        Bearing from the hazardous site to the station, degrees.
    wind_from_deg
        Direction the wind blows from, degrees.

    Returns
    -------
    str
        ``downwind`` when the station is within 45° (inclusive) of the direction the wind
        blows towards, ``upwind`` within 45° (inclusive) of where it comes from, else
        ``crosswind``.
    """
    return band(angle_between(bearing_site_to_station_deg, (wind_from_deg + 180.0) % 360.0))


def band(angle_to_downwind_deg: float) -> str:
    """``downwind`` for δ ≤ 45°, ``upwind`` for δ ≥ 135°, else ``crosswind`` (δ in degrees, 0–180)."""
    if angle_to_downwind_deg <= DOWNWIND_HALF_ANGLE_DEG:
        return "downwind"
    if angle_to_downwind_deg >= 180.0 - DOWNWIND_HALF_ANGLE_DEG:
        return "upwind"
    return "crosswind"


def _record(status: str, reason: str, target_id: Any, target_name: Any, **extra: Any) -> dict[str, Any]:
    return {
        "rule": RULE,
        "standard": STANDARD,
        "clause": CLAUSE,
        "status": status,
        "reason": reason,
        "target_id": target_id,
        "target_name": target_name,
        "bearing_deg": extra.pop("bearing_deg", None),
        "distance_m": extra.pop("distance_m", None),
        **extra,
    }


def siting_check(
    prevailing_wind: Prevailing | None,
    *,
    site_lonlat: tuple[float, float] | None,
    station_lonlat: tuple[float, float] | None,
    distance_m: float | None,
    target_id: Any = None,
    target_name: Any = None,
) -> dict[str, Any]:
    """建标152 check of one fire station against one hazardous-chemical site.

    Parameters
    ----------
    prevailing_wind
        The county's prevailing wind (:func:`prevailing`); ``None``: no wind data or all calm.
    site_lonlat
        A point of the site (its centroid), lon/lat degrees; the bearing starts here.
    station_lonlat
        The station, lon/lat degrees.
    distance_m
        Distance between the station and the site's outline, metres (0: on or inside it).
    target_id, target_name
        The hazardous site's id and name, copied into the record.

    Returns
    -------
    dict
        ``rule``, ``standard``, ``clause``, ``status`` (``pass`` | ``fail`` | ``cannot_check``),
        ``reason`` (Chinese), ``target_id``, ``target_name``, ``bearing_deg`` (site → station),
        ``distance_m``, ``relation`` (``upwind`` | ``crosswind`` | ``downwind`` | ``None``),
        ``relation_label`` (上风/侧风/下风), ``wind_from_deg`` and ``wind_name`` of the
        prevailing wind, ``angle_to_downwind_deg`` (δ) and ``convention`` (the bands used).
    """
    convention = (
        f"下风：与下风方向夹角 ≤ {DOWNWIND_HALF_ANGLE_DEG:g}°；上风：与上风方向夹角 ≤ {DOWNWIND_HALF_ANGLE_DEG:g}°；"
        "其余为侧风（标准未规定角度，本系统约定）"
    )
    base: dict[str, Any] = {"relation": None, "relation_label": None, "convention": convention}
    if prevailing_wind is not None:
        base |= {"wind_from_deg": prevailing_wind.from_deg, "wind_name": prevailing_wind.name}
    else:
        base |= {"wind_from_deg": None, "wind_name": None}
    if prevailing_wind is None:
        return _record(
            "cannot_check", "县域风向玫瑰为空或全为静风，无主导风向，无法核查", target_id, target_name, **base
        )
    if site_lonlat is None or station_lonlat is None or distance_m is None or not math.isfinite(distance_m):
        return _record("cannot_check", "缺少消防站或危险化学品场所的位置，无法核查", target_id, target_name, **base)
    if distance_m <= 0:
        return _record(
            "fail",
            "消防站位于危险化学品场所范围内或与其相接（距离 0 m），任何风向下均处于其影响范围",
            target_id,
            target_name,
            distance_m=0.0,
            **base,
        )
    bearing = bearing_deg(site_lonlat, station_lonlat)
    # Against every tied prevailing sector; the least favourable relation decides. δ is judged
    # as reported (0.01°), so a station shown at 45.00° from downwind is downwind.
    deltas = [round(angle_between(bearing, (sector_deg(c) + 180.0) % 360.0), 2) for c in prevailing_wind.sectors]
    worst, worst_delta = max(((band(d), d) for d in deltas), key=lambda pair: (_SEVERITY[pair[0]], -pair[1]))
    where = f"消防站在该场所{SECTOR_NAMES[sector_of(bearing)]}侧（方位角 {bearing:.1f}°）"
    tie = f"（主导风向并列：{prevailing_wind.label()}，按最不利者判定）" if prevailing_wind.tied else ""
    wind = f"常年主导风向 {prevailing_wind.label()}{tie}"
    label = RELATION_LABELS[worst]
    status = "fail" if worst == "downwind" else "pass"
    verdict = "不符合" if status == "fail" else "符合"
    reason = f"{where}，{wind}，处于{label}方向（与下风方向夹角 {worst_delta:.1f}°）：{verdict}"
    return _record(
        status,
        reason,
        target_id,
        target_name,
        bearing_deg=round(bearing, 2),
        distance_m=round(float(distance_m), 2),
        **(base | {"relation": worst, "relation_label": label, "angle_to_downwind_deg": round(worst_delta, 2)}),
    )
