"""The real frame of the demo: 裕民县's outline, townships, seats and villages (``data/yumin``).

Real (see ``data/yumin/README.md``): the county outline (DataV.GeoAtlas/AutoNavi via
tnnevol/gmap, converted GCJ-02 -> WGS 84), township names, codes and kinds (modood /
NBS), six township points (Vonng/adcode), village names and codes (Vonng/adcode,
NBS 2016), the county-seat coordinate (Chinese Wikipedia) and the published bounding
box of the 巴尔鲁克山 reserve.

Synthetic (and said so in every ``source``): township polygons (Voronoi cells of the
seats plus hand-placed anchor points, clipped to the outline), seats of the two towns
without a published point, populations, and village positions.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from safemap.layers import paths
from safemap.layers.demo.shapes import XY, lonlat_to_xy, to_utm

DATA_DIR = paths.DATA_DIR / "yumin"

BOUNDARY_SOURCE = (
    "DataV.GeoAtlas/高德(AutoNavi) 县界，经 tnnevol/gmap@b248aaa 654225.json（2019-11-06）；"
    "GCJ-02 按公开算法反算为 WGS 84（米级精度）"
)
POINT_SOURCE = "Vonng/adcode data/adcode/654225.csv（CC BY 4.0，高德 2016 点位）；GCJ-02 反算为 WGS 84（米级精度）"
NAME_SOURCE = "modood/Administrative-divisions-of-China（NBS 2022 区划代码，WTFPL）"
VILLAGE_SOURCE = "Vonng/adcode（NBS 2016 村级区划，CC BY 4.0）"

#: Synthetic township populations (persons); they add up to the county's ~5.6万.
TOWNSHIP_POPULATION: dict[str, int] = {
    "哈拉布拉镇": 21_800,
    "吉也克镇": 5_200,
    "哈拉布拉乡": 3_600,
    "新地乡": 5_900,
    "阿勒腾也木勒乡": 4_300,
    "江格斯乡": 5_100,
    "察汗托海牧场": 2_300,
    "兵团农九师一六一团": 7_800,
}

#: Made-up seats for the two towns no public source places (lon, lat).
SYNTHETIC_SEATS: dict[str, tuple[float, float]] = {
    "吉也克镇": (82.9905, 46.3550),
    "哈拉布拉乡": (83.0120, 46.1080),
}

# Extra Voronoi generators that give each township a plausible territory: the
# regiment's farmland to the north-west, the pastoral farm in the western and
# south-western mountains, 哈拉布拉乡 in the southern foothills, and so on.
_ANCHORS: dict[str, tuple[tuple[float, float], ...]] = {
    "哈拉布拉镇": ((82.97964, 46.20041), (83.0000, 46.2350)),
    "兵团农九师一六一团": ((82.9300, 46.2700), (82.8600, 46.3300), (82.8000, 46.2600)),
    "江格斯乡": ((82.8700, 46.1600), (82.9000, 46.1000), (82.8200, 46.2000)),
    "察汗托海牧场": (
        (82.6200, 46.2000),
        (82.5500, 46.0500),
        (82.5000, 45.7500),
        (82.4000, 45.5500),
        (82.7500, 45.8500),
        (82.6800, 45.6000),
    ),
    "新地乡": ((83.0700, 46.2500), (83.1000, 46.1700)),
    "阿勒腾也木勒乡": (
        (83.3000, 46.2500),
        (83.4000, 46.3500),
        (83.1700, 46.0800),
        (83.3300, 46.1500),
    ),
    "吉也克镇": ((83.0500, 46.4200), (82.9200, 46.4300), (83.1500, 46.4000), (83.2500, 46.4300)),
    "哈拉布拉乡": ((83.0000, 46.0000), (82.9500, 45.9000), (83.1000, 45.9500), (82.8500, 45.9500)),
}

_KINDS = {"镇": "town", "乡": "township", "牧场": "farm", "兵团团场": "regiment"}

#: Centre of the county seat's street grid (between the town, county-seat and regiment points).
TOWN_CENTRE_LONLAT = (82.9792, 46.2021)
TOWN_HALF_WIDTH = 1800.0
TOWN_HALF_HEIGHT = 1200.0


@dataclass
class Township:
    """One township-level unit (real name, code and kind; seat real or synthetic)."""

    code: str
    name: str
    kind: str
    seat: XY
    seat_lonlat: tuple[float, float]
    seat_real: bool
    population: int
    polygon: BaseGeometry = field(default_factory=Polygon)


@dataclass
class Village:
    """One village-level unit: real name and code, synthetic position and population."""

    code: str
    name: str
    township: str
    ur_code: str
    xy: XY = (0.0, 0.0)
    population: int = 0


@dataclass
class County:
    """裕民县 as the demo knows it; geometry in UTM 44N metres unless named ``*_lonlat``."""

    boundary_lonlat: BaseGeometry
    boundary: BaseGeometry
    county_seat_lonlat: tuple[float, float]
    county_seat_source: str
    reserve_bbox_lonlat: BaseGeometry
    reserve_source: str
    townships: list[Township]
    villages: list[Village]
    town_box: Polygon

    def township(self, name: str) -> Township:
        """Return the township called ``name``."""
        return next(t for t in self.townships if t.name == name)

    def township_at(self, xy: XY) -> str:
        """Name of the township whose (synthetic) polygon holds ``xy``; nearest one otherwise."""
        p = Point(xy)
        for t in self.townships:
            if t.polygon.contains(p):
                return t.name
        return min(self.townships, key=lambda t: t.polygon.distance(p)).name


def _read_geojson(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)["features"]


def load_county(rng: np.random.Generator, data_dir: Path = DATA_DIR) -> County:
    """Read the real files and add the synthetic township polygons and village positions.

    Parameters
    ----------
    rng
        Random generator for the synthetic parts.
    data_dir
        Folder holding the WGS 84 files of ``data/yumin``.
    """
    outline = shape(_read_geojson(data_dir / "yumin_boundary_wgs84.geojson")[0]["geometry"])
    if isinstance(outline, Polygon):
        outline = MultiPolygon([outline])
    refs = {f["properties"]["kind"]: f for f in _read_geojson(data_dir / "yumin_reference_features_wgs84.geojson")}
    seat_feature = refs["county_seat"]
    reserve = refs["nature_reserve_extent_bbox"]
    townships = _townships(data_dir)
    boundary = to_utm(outline)
    _township_polygons(townships, boundary)
    cx, cy = lonlat_to_xy(*TOWN_CENTRE_LONLAT)
    town_box = shapely.box(cx - TOWN_HALF_WIDTH, cy - TOWN_HALF_HEIGHT, cx + TOWN_HALF_WIDTH, cy + TOWN_HALF_HEIGHT)
    county = County(
        boundary_lonlat=outline,
        boundary=boundary,
        county_seat_lonlat=tuple(seat_feature["geometry"]["coordinates"]),
        county_seat_source=str(seat_feature["properties"]["source"]),
        reserve_bbox_lonlat=shape(reserve["geometry"]),
        reserve_source=str(reserve["properties"]["source"]),
        townships=townships,
        villages=_villages(data_dir),
        town_box=town_box,
    )
    _place_villages(county, rng)
    return county


def _townships(data_dir: Path) -> list[Township]:
    out = []
    with (data_dir / "yumin_townships.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            name = row["name"]
            kind = _KINDS[row["kind"].split(" ")[0]]
            if row["lng_wgs84_derived"]:
                lonlat = (float(row["lng_wgs84_derived"]), float(row["lat_wgs84_derived"]))
                real = True
            else:
                lonlat = SYNTHETIC_SEATS[name]
                real = False
            out.append(
                Township(
                    code=row["code9"],
                    name=name,
                    kind=kind,
                    seat=lonlat_to_xy(*lonlat),
                    seat_lonlat=lonlat,
                    seat_real=real,
                    population=TOWNSHIP_POPULATION[name],
                )
            )
    return sorted(out, key=lambda t: t.code)


def _township_polygons(townships: list[Township], boundary: BaseGeometry) -> None:
    owners: list[int] = []
    points: list[XY] = []
    for i, t in enumerate(townships):
        for lonlat in (t.seat_lonlat, *_ANCHORS[t.name]):
            owners.append(i)
            points.append(lonlat_to_xy(*lonlat))
    generators = shapely.multipoints(np.array(points))
    cells = shapely.get_parts(shapely.voronoi_polygons(generators, extend_to=boundary.envelope.buffer(5000)))
    # GEOS returns cells in no promised order: pair each with the generator inside it.
    tree = shapely.STRtree(cells)
    by_owner: dict[int, list[BaseGeometry]] = {}
    for owner, xy in zip(owners, points, strict=True):
        hits = tree.query(Point(xy), predicate="intersects")
        by_owner.setdefault(owner, []).append(cells[int(hits[0])])
    for i, t in enumerate(townships):
        poly = shapely.intersection(shapely.union_all(by_owner[i]), boundary)
        t.polygon = shapely.normalize(shapely.make_valid(poly))


def _villages(data_dir: Path) -> list[Village]:
    with (data_dir / "yumin_villages_2016.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return sorted(
        (Village(r["code12"], r["name"], r["township"], r["ur_code"]) for r in rows),
        key=lambda v: v.code,
    )


# Distance bands from the township seat by NBS urban-rural class (ur_code), metres:
# 1xx 城镇 codes sit in or next to the seat, 220 村庄 further out.
_BANDS = {
    "111": (800, 2500),
    "112": (2200, 4000),
    "121": (300, 900),
    "122": (1500, 3500),
    "123": (1200, 2500),
    "210": (300, 900),
    "220": (3500, 16000),
}


def _place_villages(county: County, rng: np.random.Generator) -> None:
    inner = county.boundary.buffer(-2500)
    plain_south = lonlat_to_xy(83.0, 46.03)[1]
    keep_out = county.town_box.buffer(400)
    placed: list[XY] = [t.seat for t in county.townships]
    per_township: dict[str, list[Village]] = {}
    for v in county.villages:
        per_township.setdefault(v.township, []).append(v)
    for t in county.townships:
        villages = per_township.get(t.name, [])
        # Central villages (1xx, 210 codes) are bigger than outlying ones (220).
        alpha = np.array([24.0 if v.ur_code != "220" else 12.0 for v in villages])
        weights: npt.NDArray[np.float64] | list[float] = rng.dirichlet(alpha) if villages else []
        for v, w in zip(villages, weights, strict=True):
            v.population = int(round(t.population * w / 10.0) * 10)
            urban = t.name == "哈拉布拉镇" or v.name == "团部"
            v.xy = _village_spot(county, t, v, rng, placed, inner, keep_out, plain_south, urban)
            placed.append(v.xy)


def _village_spot(
    county: County,
    t: Township,
    v: Village,
    rng: np.random.Generator,
    placed: list[XY],
    inner: BaseGeometry,
    keep_out: BaseGeometry,
    plain_south: float,
    urban: bool,
) -> XY:
    if v.name == "团部":
        # The regiment headquarters is the regiment's seat, a quarter of the county town.
        return (
            t.seat[0] + float(rng.uniform(-120, 120)),
            t.seat[1] + float(rng.uniform(-120, 120)),
        )
    if urban:
        # Communities are neighbourhoods of the county seat.
        area = shapely.intersection(county.town_box.buffer(-250), t.polygon)
        minx, miny, maxx, maxy = area.bounds
        for _ in range(2000):
            xy = (float(rng.uniform(minx, maxx)), float(rng.uniform(miny, maxy)))
            if area.contains(Point(xy)) and min(math.dist(xy, p) for p in placed) > 350:
                return xy
        raise RuntimeError(f"no place for {v.name}")
    lo, hi = _BANDS.get(v.ur_code, _BANDS["220"])
    mountain_ok = t.name in ("察汗托海牧场", "哈拉布拉乡")
    spacing = 1800.0 if v.ur_code == "220" else 700.0
    for attempt in range(4000):
        r = float(rng.uniform(lo, hi)) * (1 + attempt / 1500)
        a = float(rng.uniform(0, 2 * math.pi))
        xy = (t.seat[0] + r * math.cos(a), t.seat[1] + r * math.sin(a))
        p = Point(xy)
        if not (t.polygon.contains(p) and inner.contains(p)) or keep_out.contains(p):
            continue
        if not mountain_ok and xy[1] < plain_south:
            continue
        if min(math.dist(xy, q) for q in placed) < spacing:
            continue
        return xy
    raise RuntimeError(f"no place for {v.name}")
