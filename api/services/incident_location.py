"""Where an incident is: typed coordinates (decimal or 度分秒) or a named place on the map.

A caller at 3 a.m. reads coordinates off a phone or a vehicle GPS, in whatever notation it
shows: ``82.98, 46.20``, ``46.20 82.98`` (latitude first), ``82°59′06″E 46°12′18″N`` with
full-width or ASCII marks, ``82 59 06 E, 46 12 18 N``. :func:`parse_coordinates` reads all of
them; a pair that only makes sense swapped (latitude first) is swapped when the hemisphere
letters or the county's extent say so, and the answer says it did.

CGCS2000 (国家大地坐标系) and WGS 84 differ by centimetres to decimetres for geographic
coordinates (same ellipsoid to 0.1 mm of semi-minor axis; the frames agree to a few cm at
epoch 2000), far below what a typed position can carry, so CGCS2000 lon/lat are taken as
WGS 84 unchanged; the answer says so.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from shapely.geometry import shape

from safemap.api.services.problems import invalid
from safemap.layers.store import FeatureStore

#: Layers an incident may be placed on by choosing a feature.
PLACE_LAYERS = ("enterprises", "hazard_sources", "townships", "protected_targets", "roads", "settlements")
CRS_NOTE = {
    "WGS84": "WGS 84 经纬度",
    "CGCS2000": "CGCS2000 经纬度（与 WGS 84 相差厘米至分米级，按 WGS 84 直接使用）",
}

_FULLWIDTH = str.maketrans(
    {
        "°": "°",
        "º": "°",
        "˚": "°",
        "度": "°",
        "′": "'",
        "’": "'",
        "‘": "'",
        "＇": "'",
        "分": "'",
        "″": '"',
        "”": '"',
        "“": '"',
        "＂": '"',
        "秒": '"',
        "，": ",",
        "、": ",",
        "；": ",",
        ";": ",",
        "．": ".",
        "－": "-",
        "−": "-",
        "东": "E",
        "西": "W",
        "南": "S",
        "北": "N",
        "　": " ",
    }
)
_FULL_DIGITS = str.maketrans("０１２３４５６７８９ＥＷＳＮｅｗｓｎ", "0123456789EWSNewsn")
_NUMBER = r"\d+(?:\.\d+)?"
_PART = re.compile(
    rf"""\s*(?P<hem1>[NSEW])?\s*
    (?P<sign>[-+])?\s*
    (?P<deg>{_NUMBER})\s*(?:°\s*)?
    (?:(?P<min>{_NUMBER})\s*(?:'|'')?\s*)?
    (?:(?P<sec>{_NUMBER})\s*(?:"|'')?\s*)?
    (?P<hem2>[NSEW])?\s*$""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Located:
    """Where an incident is and how it was found.

    Attributes
    ----------
    lon, lat
        Degrees, WGS 84.
    text
        What to store as ``location_text`` (as typed, or 企业：某某).
    notes
        Sentences for the dispatcher (swapped, CGCS2000 taken as WGS 84 …).
    enterprise_id, hazard_source_id
        Filled when the place chosen was one.
    township
        The place's township, when known.
    """

    lon: float
    lat: float
    text: str | None = None
    notes: tuple[str, ...] = ()
    enterprise_id: int | None = None
    hazard_source_id: int | None = None
    township: str | None = None


def _split(text: str) -> list[str]:
    for word, letter in (("东经", "E"), ("西经", "W"), ("北纬", "N"), ("南纬", "S")):
        text = text.replace(word, letter)
    t = text.translate(_FULLWIDTH).translate(_FULL_DIGITS).upper().strip()
    if "," in t:
        parts = [p for p in t.split(",") if p.strip()]
    else:
        # No comma: split after a hemisphere letter, else into two halves of the numbers.
        found = re.findall(r"[^NSEW]*[NSEW]", t)
        if len(found) == 2 and "".join(found).replace(" ", "") == t.replace(" ", ""):
            parts = found
        else:
            tokens = t.split()
            if len(tokens) % 2:
                raise ValueError("无法分出经度和纬度，请用逗号分隔，如 82.98, 46.20")
            half = len(tokens) // 2
            parts = [" ".join(tokens[:half]), " ".join(tokens[half:])]
    if len(parts) != 2:
        raise ValueError("应为两个坐标（经度、纬度），如 82.98, 46.20 或 82°59′06″E 46°12′18″N")
    return parts


def _degrees(part: str) -> tuple[float, str | None]:
    m = _PART.match(part.replace("''", '"'))
    if not m:
        raise ValueError(f"无法识别坐标“{part.strip()}”")
    if m["hem1"] and m["hem2"]:
        raise ValueError(f"坐标“{part.strip()}”中有两个方位字母")
    deg, mins, secs = float(m["deg"]), float(m["min"] or 0), float(m["sec"] or 0)
    if mins >= 60 or secs >= 60:
        raise ValueError(f"坐标“{part.strip()}”的分或秒应小于 60")
    if (m["min"] or m["sec"]) and deg != int(deg):
        raise ValueError(f"坐标“{part.strip()}”：度分秒写法中度应为整数")
    value = deg + mins / 60 + secs / 3600
    hem = m["hem1"] or m["hem2"]
    if m["sign"] == "-" or hem in ("S", "W"):
        value = -value
    return value, hem


def parse_coordinates(
    text: str, crs: str = "WGS84", extent: tuple[float, float, float, float] | None = None
) -> tuple[float, float, tuple[str, ...]]:
    """Longitude and latitude (degrees, WGS 84) from typed text, and notes on how it was read.

    Parameters
    ----------
    text
        Decimal degrees or 度分秒 with ASCII or full-width marks; longitude first unless
        hemisphere letters (E/N, 东经/北纬) say otherwise.
    crs
        ``WGS84`` or ``CGCS2000`` (taken as WGS 84, see the module docstring).
    extent
        The service area; a pair outside it but inside when swapped is swapped.

    Returns
    -------
    tuple
        ``(lon, lat, notes)``.

    Raises
    ------
    ValueError
        Unreadable text, an unknown CRS, or values outside ±180/±90.
    """
    if crs not in CRS_NOTE:
        raise ValueError(f"坐标系应为 WGS84 或 CGCS2000，收到“{crs}”")
    (a, ha), (b, hb) = (_degrees(p) for p in _split(text))
    notes = [f"按{CRS_NOTE[crs]}读取"]
    if ha in ("N", "S") or hb in ("E", "W"):
        a, b = b, a
        notes.append("按方位字母识别为纬度在前，已调换")
    elif not (ha or hb) and extent is not None:
        inside = extent[0] <= a <= extent[2] and extent[1] <= b <= extent[3]
        swapped = extent[0] <= b <= extent[2] and extent[1] <= a <= extent[3]
        if swapped and not inside:
            a, b = b, a
            notes.append("经度与纬度似乎写反（纬度在前），已按服务范围调换")
    if not (-180 <= a <= 180 and -90 <= b <= 90) or not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"经纬度超出范围：经度 {a:g}，纬度 {b:g}")
    return a, b, tuple(notes)


def _point(geom: Any) -> tuple[float, float]:
    g = shape(geom) if isinstance(geom, dict) else geom
    p = g if g.geom_type == "Point" else (g.interpolate(0.5, normalized=True) if "Line" in g.geom_type else None)
    if p is None:
        p = g.representative_point()
    return float(p.x), float(p.y)


def place_location(store: FeatureStore, layer: str, fid: int | None, name: str | None) -> Located:
    """The incident at a chosen feature: by id, or by exact name (then unique substring).

    Raises
    ------
    Unprocessable
        Unknown layer, no such feature, or a name matching several.
    """
    if layer not in PLACE_LAYERS:
        raise invalid("place.layer", f"地点图层应为 {'、'.join(PLACE_LAYERS)} 之一，收到“{layer}”")
    label = store.layer(layer).label
    if fid is not None:
        page = store.query(layer, ids=[fid], limit=1, count=False, children=False)
        if not page.rows:
            raise invalid("place.id", f"{label}中没有编号为 {fid} 的要素")
    elif name:
        page = store.query(layer, q=name.strip(), limit=50, count=False, children=False)
        exact = [i for i, r in enumerate(page.rows) if r.get("name") == name.strip()]
        picks = exact or list(range(len(page.rows)))
        if not picks:
            raise invalid("place.name", f"{label}中没有名称含“{name}”的要素")
        if len(picks) > 1:
            names = "、".join(str(page.rows[i]["name"]) for i in picks[:5])
            raise invalid("place.name", f"{label}中有 {len(picks)} 个名称含“{name}”：{names}；请写全名或给出编号")
        page.rows = [page.rows[picks[0]]]
        page.geometries = page.geometries[picks[0] : picks[0] + 1]
    else:
        raise invalid("place", "请给出地点的编号 id 或名称 name")
    row, geom = page.rows[0], page.geometries[0]
    lon, lat = _point(geom)
    notes = [f"位于{label}“{row['name']}”" + ("" if geom.geom_type == "Point" else "（取其代表点）")]
    ent = int(row["id"]) if layer == "enterprises" else None
    hz = int(row["id"]) if layer == "hazard_sources" else None
    if hz is not None:
        ent = row.get("enterprise_id")
    return Located(
        lon,
        lat,
        text=f"{label}：{row['name']}（编号 {row['id']}）",
        notes=tuple(notes),
        enterprise_id=ent,
        hazard_source_id=hz,
        township=row.get("township") if layer != "townships" else row.get("name"),
    )
