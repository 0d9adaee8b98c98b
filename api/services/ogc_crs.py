"""Coordinate reference systems served by the OGC API (Features Part 2, "CRS by reference").

The store holds lon/lat (CRS84; CGCS2000 equals WGS 84 to the centimetre). A response may be
asked in CGCS2000 (EPSG:4490, what 天地图 and Chinese clients use), WGS 84 (EPSG:4326), Web
Mercator (EPSG:3857) or the county's CGCS2000 3-degree Gauss–Krüger zone (e.g. EPSG:4537,
central meridian 84°E, for 裕民县). Coordinates are written in each CRS's own axis order, as
Part 2 requires (/req/crs/crs-action): EPSG:4326 and EPSG:4490 are latitude, longitude; the
Gauss–Krüger zones are northing (X), easting (Y); CRS84 and EPSG:3857 are east, north.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import shapely
from pyproj import CRS, Transformer

from safemap.layers.errors import BadQuery
from safemap.layers.gauss_kruger import central_meridian, gk_crs

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
#: Central meridians (°E) of the CGCS2000 3-degree zones that have EPSG codes (4534–4554).
_GK3_FIRST_CM, _GK3_LAST_CM = 75, 135

Bbox = tuple[float, float, float, float]
_CRS84 = CRS.from_user_input("OGC:CRS84")


@dataclass(frozen=True)
class ServedCrs:
    """A CRS a response may be written in."""

    uri: str
    label: str
    crs: CRS
    #: Lon/lat numbers equal to the stored ones (CRS84, WGS 84, CGCS2000): only the axis order may differ.
    lonlat: bool = False

    @property
    def north_first(self) -> bool:
        """True when the CRS's first axis points north (lat/lon, or Gauss–Krüger X = northing)."""
        return self.crs.axis_info[0].direction.lower() in ("north", "south")

    @property
    def is_crs84(self) -> bool:
        """True for the storage CRS (no change to the coordinates)."""
        return self.uri == CRS84


def county_gk_epsg(extent: Bbox) -> int | None:
    """The CGCS2000 3-degree Gauss–Krüger zone (no zone prefix) holding the centre of ``extent``."""
    cm = central_meridian((extent[0] + extent[2]) / 2, 3)
    if not _GK3_FIRST_CM <= cm <= _GK3_LAST_CM:
        return None
    return int(gk_crs(cm, prefixed=False, width=3)[0].removeprefix("EPSG:"))


@cache
def _served(gk_epsg: int | None) -> tuple[ServedCrs, ...]:
    choices = [
        (CRS84, "WGS 84 经度/纬度（CRS84，默认）", "OGC:CRS84"),
        (EPSG_URI.format(4490), "CGCS2000 国家大地坐标系（纬度, 经度）", "EPSG:4490"),
        (EPSG_URI.format(4326), "WGS 84（纬度, 经度）", "EPSG:4326"),
        (EPSG_URI.format(3857), "Web 墨卡托（米）", "EPSG:3857"),
    ]
    if gk_epsg is not None:
        crs = CRS.from_epsg(gk_epsg)
        choices.append((EPSG_URI.format(gk_epsg), f"{crs.name}（X 北, Y 东，米）", f"EPSG:{gk_epsg}"))
    geographic = {"OGC:CRS84", "EPSG:4326", "EPSG:4490"}
    return tuple(
        ServedCrs(uri, label, CRS.from_user_input(code), lonlat=code in geographic) for uri, label, code in choices
    )


def served(extent: Bbox) -> tuple[ServedCrs, ...]:
    """The CRSs served for a county whose area is ``extent`` (CRS84 first, it is the storage CRS)."""
    return _served(county_gk_epsg(extent))


def served_uris(extent: Bbox) -> list[str]:
    """The URIs of :func:`served`."""
    return [c.uri for c in served(extent)]


def resolve(uri: str | None, extent: Bbox, param: str) -> ServedCrs:
    """The served CRS named by ``uri`` (CRS84 when absent); :class:`BadQuery` listing the choices otherwise."""
    choices = served(extent)
    if uri is None or uri == "":
        return choices[0]
    text = uri.strip().strip("[]")
    for choice in choices:
        if text == choice.uri or text.replace("https://", "http://", 1) == choice.uri:
            return choice
    listed = "；".join(f"{c.uri}（{c.label}）" for c in choices)
    raise BadQuery(f"{param}: 不支持的坐标参照系 {uri!r}；支持：{listed}")


@cache
def _transformer(source: CRS, target: CRS) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def to_served(geoms: np.ndarray, target: ServedCrs) -> np.ndarray:
    """``geoms`` (CRS84 shapely geometries, ``None`` allowed) in ``target``'s coordinates and axis order."""
    if target.is_crs84 or len(geoms) == 0:
        return geoms

    def convert(coords: np.ndarray) -> np.ndarray:
        x, y = coords[:, 0], coords[:, 1]
        if not target.lonlat:
            x, y = _transformer(_CRS84, target.crs).transform(x, y, errcheck=True)
        return np.column_stack([y, x] if target.north_first else [x, y])

    try:
        return shapely.transform(geoms, convert)
    except Exception as exc:  # pyproj.ProjError: a point outside the projection's domain
        raise BadQuery(f"crs: 无法把坐标转换到 {target.uri}：{exc}") from None


def bbox_to_crs84(bbox: Bbox, source: ServedCrs) -> Bbox:
    """A ``bbox`` written in ``source`` (its axis order) as a CRS84 lon/lat box (edges densified)."""
    if source.is_crs84:
        return bbox
    a0, b0, a1, b1 = bbox
    x0, y0, x1, y1 = (b0, a0, b1, a1) if source.north_first else (a0, b0, a1, b1)
    if x0 > x1 or y0 > y1:
        raise BadQuery("bbox: 最小值不能大于最大值（注意所用坐标系的轴顺序）")
    if source.lonlat:
        box = (x0, y0, x1, y1)
    else:
        try:
            box = _transformer(source.crs, _CRS84).transform_bounds(x0, y0, x1, y1, densify_pts=21, errcheck=True)
        except Exception as exc:  # pyproj.ProjError
            raise BadQuery(f"bbox: 无法从 {source.uri} 转换：{exc}") from None
    lon0, lat0, lon1, lat1 = (float(v) for v in box)
    if not all(np.isfinite([lon0, lat0, lon1, lat1])):
        raise BadQuery(f"bbox: 在 {source.uri} 中超出可转换的范围")
    return max(lon0, -180.0), max(lat0, -90.0), min(lon1, 180.0), min(lat1, 90.0)
