"""The county's wind: the rose as stored, its prevailing direction, and the 建标152 wind check.

The rose is the ``wind_rose`` standards table (:mod:`safemap.layers.wind_tables`), edited by an
admin; this module reads it at every call (it is 17 rows), so an edit takes effect at once.

- :func:`prevailing_wind` — the rose, the prevailing wind (from-direction, degrees, Chinese
  name), calm share, sources and warnings (sum not ≈ 100 %, duplicate sectors, synthetic or
  unverified rows).
- :func:`default_wind_from` — the prevailing from-direction and the sentence saying where it
  came from, for the consequence models' default wind.
- :func:`fire_station_wind_checks` — the upwind/crosswind check of a proposed or existing fire
  station against every hazardous-chemical site nearby (one record per site, see
  :func:`safemap.gis.wind.siting_check`).
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from safemap.api.services.problems import invalid
from safemap.api.services.safety import SafetyData
from safemap.api.services.safety import load as load_safety
from safemap.gis import wind as wind_mod
from safemap.gis.numbers import finite
from safemap.gis.separation import hazard_profiles
from safemap.layers.store import FeatureStore

LAYER = "wind_rose"
UNVERIFIED = "【未核实】"


def prevailing_wind(store: FeatureStore) -> dict[str, Any]:
    """The county's wind rose and its prevailing wind, as stored now.

    Parameters
    ----------
    store
        The feature store holding the ``wind_rose`` table.

    Returns
    -------
    dict
        ``rose``: 16 rows (``sector``, ``name`` e.g. 西北风, ``from_deg``, ``frequency_pct``,
        ``mean_speed_m_s`` or None), clockwise from north; ``calm_pct``; ``total_pct``;
        ``prevailing``: ``None`` when the rose is empty or all calm, else ``sector``,
        ``sectors`` (several when tied), ``from_deg`` (degrees, direction the wind blows
        from), ``towards_deg``, ``name`` (西北风), ``label`` (西北风（315°）),
        ``frequency_pct``, ``tied``, ``mean_speed_m_s``; ``source`` (the rows' sources
        joined), ``synthetic`` and ``unverified`` (any row says so); ``warnings`` (Chinese);
        ``description`` (按县域主导风向 西北风（315°）…).
    """
    frame = store.to_geodataframe(LAYER)
    freqs: dict[str, float] = {}
    speeds: dict[str, float] = {}
    calm = 0.0
    warnings: list[str] = []
    sources: list[str] = []
    seen: set[str] = set()
    for row in frame.drop(columns="geometry", errors="ignore").to_dict("records"):
        code = row.get("sector")
        value = finite(row.get("frequency_pct")) or 0.0
        if row.get("source") and row["source"] not in sources:
            sources.append(str(row["source"]))
        if code in seen:
            warnings.append(f"风向方位 {code} 有多行，频率已相加，请合并为一行")
        seen.add(str(code))
        if code == wind_mod.CALM:
            calm += value
        elif code in wind_mod.SECTORS:
            freqs[code] = freqs.get(code, 0.0) + value
            speed = finite(row.get("mean_speed_m_s"))
            if speed is not None:
                speeds[code] = speed
    rose = wind_mod.WindRose(freqs, calm, speeds)
    if len(frame) == 0:
        warnings.append("县域风向玫瑰表为空：请管理员在“标准与参数 → 县域风向玫瑰”中填写")
    else:
        missing = [s for s in wind_mod.SECTORS if s not in seen]
        if missing:
            warnings.append(f"缺少方位 {'、'.join(missing)}，按 0% 计")
        warnings.extend(rose.warnings())
    prev = wind_mod.prevailing(rose)
    if prev is None and len(frame):
        warnings.append("全部为静风或频率为 0：无主导风向")
    if prev is not None and prev.tied:
        warnings.append(f"主导风向并列：{prev.label()}；后果模型默认取第一个，消防站选址按最不利者核查")
    text = "；".join(sources)
    synthetic = "synthetic" in text.lower() or "合成" in text
    unverified = UNVERIFIED in text
    prevailing = None
    description = "县域风向玫瑰无主导风向（为空或全为静风）"
    if prev is not None:
        prevailing = {
            "sector": prev.sector,
            "sectors": list(prev.sectors),
            "from_deg": prev.from_deg,
            "towards_deg": (prev.from_deg + 180.0) % 360.0,
            "name": prev.name,
            "label": prev.label(),
            "frequency_pct": prev.frequency_pct,
            "tied": prev.tied,
            "mean_speed_m_s": speeds.get(prev.sector),
        }
        flags = "，合成示例数据" if synthetic else ""
        flags += "，未核实" if unverified else ""
        description = f"按县域主导风向 {wind_mod.wind_name(prev.sector)}（{prev.from_deg:g}°）（风向玫瑰表{flags}）"
    return {
        "rose": [
            {
                "sector": s,
                "name": wind_mod.wind_name(s),
                "from_deg": wind_mod.sector_deg(s),
                "frequency_pct": freqs.get(s, 0.0),
                "mean_speed_m_s": speeds.get(s),
            }
            for s in wind_mod.SECTORS
        ],
        "calm_pct": calm,
        "total_pct": round(rose.total_pct(), 3),
        "prevailing": prevailing,
        "source": text,
        "synthetic": synthetic,
        "unverified": unverified,
        "warnings": warnings,
        "description": description,
        "convention": "风向为来向（风从该方向吹来），正北为 0°，顺时针",
    }


def default_wind_from(store: FeatureStore) -> tuple[float, dict[str, Any]] | None:
    """The prevailing from-direction (degrees) and where it came from; ``None`` without one.

    Returns
    -------
    tuple or None
        ``(from_deg, wind)`` where ``wind`` is ``{"from_deg", "name", "origin": "county_prevailing",
        "description", "source", "warnings"}`` for the consequence answer.
    """
    summary = prevailing_wind(store)
    prev = summary["prevailing"]
    if prev is None:
        return None
    return prev["from_deg"], {
        "from_deg": prev["from_deg"],
        "name": wind_mod.wind_name(prev["sector"]),
        "origin": "county_prevailing",
        "description": summary["description"],
        "source": summary["source"],
        "warnings": summary["warnings"],
    }


def _geometry(value: BaseGeometry | dict[str, Any] | None) -> BaseGeometry | None:
    if value is None:
        return None
    if isinstance(value, BaseGeometry):
        geom = value
    else:
        try:
            geom = shape(value)
        except Exception:
            raise invalid("geometry", "不是有效的 GeoJSON 几何") from None
    return None if geom.is_empty else geom


def fire_station_wind_checks(
    store_or_data: FeatureStore | SafetyData,
    station_geometry_lonlat: BaseGeometry | dict[str, Any] | None,
    vicinity_m: float = 1000.0,
    *,
    wind: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """建标152 upwind/crosswind check of a fire station against each hazardous-chemical site nearby.

    Parameters
    ----------
    store_or_data
        The store, or its loaded :class:`~safemap.api.services.safety.SafetyData`. With
        ``SafetyData`` pass ``wind`` too (the data carry no wind rose): without it every
        record is ``cannot_check``.
    station_geometry_lonlat
        The proposed or existing station (Point, or the plot as a Polygon), WGS 84 lon/lat,
        as a shapely geometry or a GeoJSON mapping. ``None`` or empty: one ``cannot_check``.
    vicinity_m
        Hazardous-chemical sites within this distance (metres, edge to edge) are checked.
    wind
        :func:`prevailing_wind`'s answer, when already at hand.

    Returns
    -------
    list of dict
        One record per hazardous-chemical site (hazard sources that fall under the
        ``hazchem_site`` rule family of :func:`safemap.gis.separation.hazard_profiles`)
        within ``vicinity_m``, nearest first: ``rule``, ``standard`` (建标152-2017),
        ``clause``, ``status`` (``pass`` | ``fail`` | ``cannot_check``), ``reason``,
        ``target_id``, ``target_name``, ``bearing_deg`` (site centroid → station, degrees
        from true north), ``distance_m`` (edge to edge), ``relation`` (``upwind`` |
        ``crosswind`` | ``downwind``), ``relation_label``, ``wind_from_deg``, ``wind_name``,
        ``angle_to_downwind_deg``, ``convention``, ``site_lonlat`` (the centroid the bearing
        starts from, [lon, lat]), ``wind_source``. Empty when no such site
        is within ``vicinity_m`` (the rule does not apply).
    """
    if vicinity_m is None or not math.isfinite(vicinity_m) or vicinity_m < 0:
        raise invalid("vicinity_m", "应为不小于 0 的距离（米）")
    if isinstance(store_or_data, SafetyData):
        data = store_or_data
    else:
        data = load_safety(store_or_data)
        if wind is None:
            wind = prevailing_wind(store_or_data)
    prev = None
    if wind is not None and wind.get("prevailing"):
        p = wind["prevailing"]
        prev = wind_mod.Prevailing(tuple(p["sectors"]), float(p["frequency_pct"]))
    source = (wind or {}).get("source") or None
    geom = _geometry(station_geometry_lonlat)
    if geom is None:
        rec = wind_mod.siting_check(prev, site_lonlat=None, station_lonlat=None, distance_m=None)
        return [rec | {"site_lonlat": None, "wind_source": source}]
    station = gpd.GeoSeries([geom], crs=4326).to_crs(data.crs).iloc[0]
    hazards = data.hazards
    if not len(hazards):
        return []
    profiles = hazard_profiles(hazards, data.props)
    positions = sorted(set(profiles.loc[profiles["hazard_category"] == "hazchem_site", "pos"].astype(int)))
    out: list[dict[str, Any]] = []
    station_ll = _lonlat(data, station.centroid)
    for pos in positions:
        h = hazards.iloc[pos]
        hgeom = h.geometry
        if hgeom is None or hgeom.is_empty:
            rec = wind_mod.siting_check(
                prev,
                site_lonlat=None,
                station_lonlat=station_ll,
                distance_m=None,
                target_id=_plain(h.get("id")),
                target_name=h.get("name"),
            )
            out.append(rec | {"site_lonlat": None, "wind_source": source})
            continue
        distance = float(shapely.distance(station, hgeom))
        if distance > vicinity_m:
            continue
        site_ll = _lonlat(data, hgeom.centroid)
        rec = wind_mod.siting_check(
            prev,
            site_lonlat=site_ll,
            station_lonlat=station_ll,
            distance_m=distance,
            target_id=_plain(h.get("id")),
            target_name=h.get("name"),
        )
        out.append(rec | {"site_lonlat": [round(site_ll[0], 7), round(site_ll[1], 7)], "wind_source": source})
    out.sort(key=lambda r: (r["distance_m"] is None, r["distance_m"] or 0.0))
    return out


def _lonlat(data: SafetyData, point: BaseGeometry) -> tuple[float, float]:
    p = gpd.GeoSeries([point], crs=data.crs).to_crs(4326).iloc[0]
    return (float(p.x), float(p.y))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
