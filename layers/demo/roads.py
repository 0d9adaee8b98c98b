"""Synthetic rural road network of 裕民县: G219, provincial, county, township and village roads.

No public road geometry for Yumin was found (see ``data/yumin/README.md``), so every
line here is made up; only the route number G219 is real. Trunk roads link every
township seat (G219 north to 塔城 through 吉也克镇, G219 east through 新地乡 and
阿勒腾也木勒乡 towards 托里, a provincial road west to 察汗托海牧场, county roads
south into the foothills), a mountain road leads to the mines in the south-western
mountains, a grid of field roads covers the irrigated plain, and every village gets
a spur to its nearest road. Rural roads are cut into 300–500 m segments.

Special cases: the 哈拉布拉河 bridge limited to 20 t, and a washed-out stretch of
the mine road (status ``closed``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from safemap.layers.demo.county import County
from safemap.layers.demo.mines import MINES, MINING_HUB
from safemap.layers.demo.network import RoadLine
from safemap.layers.demo.park import Park
from safemap.layers.demo.shapes import XY, curved_line, lonlat_to_xy
from safemap.layers.demo.town import Town

SOURCE = "synthetic: 道路走向与属性为合成示意数据（无公开路网数据）"
G219_SOURCE = "synthetic: G219 线位为合成示意（路线编号按公开资料，走向与属性虚构）"
PIECE = (300.0, 500.0)

#: Class -> (speed km/h, width m) for rural roads.
_SPEC = {
    "national": (80.0, 12.0),
    "provincial": (70.0, 10.0),
    "county": (60.0, 8.0),
    "township": (40.0, 6.5),
    "village": (30.0, 4.5),
}


@dataclass
class Rural:
    """Rural road lines and the named trunk routes sites are placed along."""

    lines: list[RoadLine] = field(default_factory=list)
    routes: dict[str, LineString] = field(default_factory=dict)


def _props(cls: str, name: str, *, ref: str | None = None, **extra: Any) -> dict[str, Any]:
    speed, width = _SPEC[cls]
    out: dict[str, Any] = {
        "road_class": cls,
        "name": name,
        "speed_kmh": speed,
        "width_m": width,
        "oneway": False,
        "status": "open",
        "source": G219_SOURCE if ref == "G219" else SOURCE,
    }
    if ref:
        out["ref"] = ref
    out.update(extra)
    return out


def build_rural_roads(county: County, town: Town, park: Park, rng: np.random.Generator) -> Rural:
    """Draw all rural roads (metres, not yet noded)."""
    rural = Rural()
    seat = {t.name: t.seat for t in county.townships}
    g = town.gates

    def trunk(
        key: str,
        points: list[XY],
        props: dict[str, Any],
        *,
        bend: float = 0.025,
        max_offset: float = 350.0,
        harmonics: int = 3,
    ) -> RoadLine:
        coords = curved_line(points, rng, bend=bend, max_offset=max_offset, harmonics=harmonics)
        line = RoadLine(coords, props, piece_m=PIECE)
        _check_inside(county, line.line, props["name"])
        rural.lines.append(line)
        rural.routes[key] = line.line
        return line

    north_exit = _exit(county, seat["吉也克镇"], (0.02, 1.0))
    trunk(
        "g219_north",
        [
            g["north"],
            _toward(g["north"], seat["吉也克镇"], 0.35, 600),
            seat["吉也克镇"],
            north_exit,
        ],
        _props("national", "G219线（裕民—塔城段）", ref="G219"),
    )
    east_exit = _exit(county, seat["阿勒腾也木勒乡"], (1.0, -0.55))
    trunk(
        "g219_east",
        [g["east"], seat["新地乡"], seat["阿勒腾也木勒乡"], east_exit],
        _props("national", "G219线（裕民—托里段）", ref="G219"),
    )
    trunk(
        "provincial",
        [g["west"], seat["江格斯乡"], seat["察汗托海牧场"]],
        _props("provincial", "裕民—察汗托海公路"),
    )
    limestone = _mine_xy("limestone")
    x851 = trunk(
        "x851",
        [g["south"], seat["哈拉布拉乡"], limestone],
        _props("county", "县城—哈拉布拉乡公路", ref="X851"),
    )
    x851.spans.append((1650.0, 1730.0, {"name": "哈拉布拉河桥", "max_weight_t": 20.0, "width_m": 7.0}))
    trunk(
        "x852",
        [seat["新地乡"], _toward(seat["新地乡"], seat["吉也克镇"], 0.5, -1500), seat["吉也克镇"]],
        _props("county", "新地—吉也克公路", ref="X852"),
    )
    trunk(
        "x853",
        [
            seat["阿勒腾也木勒乡"],
            _toward(seat["阿勒腾也木勒乡"], seat["哈拉布拉乡"], 0.5, 2500),
            seat["哈拉布拉乡"],
        ],
        _props("county", "阿勒腾也木勒—哈拉布拉乡公路", ref="X853"),
    )
    trunk(
        "y_northwest",
        [g["northwest"], lonlat_to_xy(82.905, 46.262), lonlat_to_xy(82.835, 46.275)],
        _props("township", "团结路北延—一六一团连队道路", ref="Y401"),
    )
    # The mountain road to the mines climbs the foothills in tighter bends.
    hub = lonlat_to_xy(*MINING_HUB)
    mine_road = trunk(
        "mine_road",
        [seat["察汗托海牧场"], lonlat_to_xy(82.665, 45.93), lonlat_to_xy(82.615, 45.78), hub],
        _props("county", "察汗托海—矿区公路", ref="X854", speed_kmh=40.0, width_m=7.0),
        bend=0.05,
        max_offset=700.0,
        harmonics=6,
    )
    length = mine_road.line.length
    mine_road.spans.append(
        (
            0.55 * length,
            0.55 * length + 320.0,
            {"status": "closed", "name": "察汗托海—矿区公路（水毁封闭路段）"},
        )
    )
    _park_links(rural, town, park)
    _mine_spurs(rural, county, rng)
    _field_grid(rural, county, town, park, rng)
    _village_spurs(rural, county, rng)
    return rural


def _toward(a: XY, b: XY, frac: float, side: float) -> XY:
    """Return a waypoint ``frac`` of the way from ``a`` to ``b``, ``side`` metres to the left."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    n = math.hypot(dx, dy)
    return a[0] + dx * frac - dy / n * side, a[1] + dy * frac + dx / n * side


def _exit(county: County, start: XY, direction: tuple[float, float]) -> XY:
    """Where a road leaving ``start`` in ``direction`` meets the county line (50 m inside)."""
    n = math.hypot(*direction)
    ux, uy = direction[0] / n, direction[1] / n
    ray = LineString([start, (start[0] + ux * 80_000, start[1] + uy * 80_000)])
    hits = shapely.get_parts(ray.intersection(county.boundary.boundary))
    first = min(hits, key=lambda p: Point(start).distance(p))
    d = Point(start).distance(first) - 50.0
    return start[0] + ux * d, start[1] + uy * d


def _check_inside(county: County, line: BaseGeometry, name: str) -> None:
    if not county.boundary.buffer(10).contains(line):
        raise ValueError(f"demo road {name} leaves the county")


def _mine_xy(key: str) -> XY:
    m = next(m for m in MINES if m.key == key)
    return lonlat_to_xy(m.lon, m.lat)


def _park_links(rural: Rural, town: Town, park: Park) -> None:
    a, b = town.gates["southeast"], park.gates["northwest"]
    rural.lines.append(
        RoadLine(
            np.array([a, b]),
            {
                "road_class": "urban_arterial",
                "name": "园区大道",
                "speed_kmh": 50.0,
                "width_m": 24.0,
                "oneway": False,
                "status": "open",
                "source": SOURCE,
            },
        )
    )
    g219 = rural.routes["g219_east"]
    ne = park.gates["northeast"]
    # Straight north to G219; the end lies on G219 and becomes a T-junction.
    probe = LineString([ne, (ne[0], ne[1] + 5000)])
    hit = min(shapely.get_parts(probe.intersection(g219)), key=lambda p: p.y)
    rural.lines.append(
        RoadLine(
            np.array([ne, (hit.x, hit.y)]),
            {
                "road_class": "urban_secondary",
                "name": "园区北路",
                "speed_kmh": 40.0,
                "width_m": 14.0,
                "oneway": False,
                "status": "open",
                "source": SOURCE,
            },
        )
    )


def _mine_spurs(rural: Rural, county: County, rng: np.random.Generator) -> None:
    hub = lonlat_to_xy(*MINING_HUB)
    for m in MINES:
        if m.key == "limestone":
            continue
        xy = lonlat_to_xy(m.lon, m.lat)
        start = hub if m.region == "sw" else _nearest_on(rural.lines, xy)
        coords = curved_line([start, xy], rng, bend=0.04, max_offset=300.0, harmonics=4)
        line = RoadLine(
            coords,
            _props("township", f"{m.label}进矿道路", speed_kmh=30.0, width_m=7.0),
            piece_m=PIECE,
        )
        _check_inside(county, line.line, m.label)
        rural.lines.append(line)


def _nearest_on(lines: list[RoadLine], xy: XY) -> XY:
    geoms = [ln.line for ln in lines]
    p = Point(xy)
    best = min(range(len(geoms)), key=lambda i: (geoms[i].distance(p), i))
    q = geoms[best].interpolate(geoms[best].project(p))
    return q.x, q.y


def _field_grid(rural: Rural, county: County, town: Town, park: Park, rng: np.random.Generator) -> None:
    """Field roads (机耕路) on a rotated grid over the irrigated plain around the settlements."""
    plain_south = lonlat_to_xy(83.0, 46.045)[1]
    centres = [t.seat for t in county.townships if t.seat[1] > plain_south]
    centres += [v.xy for v in county.villages if v.xy[1] > plain_south]
    zone = shapely.union_all([Point(c).buffer(4200) for c in centres])
    zone = zone.intersection(county.boundary.buffer(-1500))
    built_up = shapely.union_all([town.blocks[(0, 0)].polygon.envelope, county.town_box, park.box])
    zone = zone.difference(built_up.convex_hull.buffer(600))
    zone = zone.intersection(shapely.box(-1e9, plain_south, 1e9, 1e9))
    angle = math.radians(20.0)
    spacing = 2600.0
    cx, cy = town.centre
    u = np.array([math.cos(angle), math.sin(angle)])
    v = np.array([-math.sin(angle), math.cos(angle)])
    reach = 60_000.0
    count = 0
    for axis, (along, across) in enumerate(((u, v), (v, u))):
        offsets = np.arange(-reach, reach, spacing) + spacing / 2
        for k, off in enumerate(offsets):
            off = off + float(rng.uniform(-250, 250))
            centre = np.array([cx, cy]) + across * off
            ray = LineString([centre - along * reach, centre + along * reach])
            for part in shapely.get_parts(ray.intersection(zone)):
                if part.geom_type != "LineString" or part.length < 900:
                    continue
                a, b = part.coords[0], part.coords[-1]
                coords = curved_line([a, b], rng, bend=0.004, max_offset=45.0, step=150.0)
                count += 1
                major = k % 3 == 0
                cls = "township" if major else "village"
                mid = LineString(coords).interpolate(0.5, normalized=True)
                township = county.township_at((mid.x, mid.y))
                name = f"{township}{'乡道' if major else '田间道路'}{axis + 1}-{k:02d}号"
                rural.lines.append(RoadLine(coords, _props(cls, name), piece_m=PIECE))


def _village_spurs(rural: Rural, county: County, rng: np.random.Generator) -> None:
    for vil in county.villages:
        if county.town_box.buffer(300).contains(Point(vil.xy)):
            continue
        geoms = [ln.line for ln in rural.lines]
        p = Point(vil.xy)
        best = min(range(len(geoms)), key=lambda i: (geoms[i].distance(p), i))
        dist = geoms[best].distance(p)
        if dist < 80:
            continue
        q = geoms[best].interpolate(geoms[best].project(p))
        coords = curved_line([vil.xy, (q.x, q.y)], rng, bend=0.03, max_offset=250.0, step=100.0)
        narrow = rng.random() < 0.25
        rural.lines.append(
            RoadLine(
                coords,
                _props(
                    "village",
                    f"{vil.name.removesuffix('村委会')}通村路",
                    width_m=3.5 if narrow else 4.5,
                ),
                piece_m=PIECE,
            )
        )


def connect_islands(lines: list[RoadLine]) -> None:
    """Join every group of roads that touches no other group to the largest one.

    Field-road patches at the edge of the plain can end up touching nothing else;
    a short village road to the nearest road of the main network keeps the whole
    county routable.
    """
    while True:
        groups = _line_groups(lines)
        if len(groups) == 1:
            return
        main = max(groups, key=lambda g: (len(g), -min(g)))
        main_geom = shapely.union_all([lines[i].line for i in sorted(main)])
        island = min((g for g in groups if g is not main), key=min)
        island_geom = shapely.union_all([lines[i].line for i in sorted(island)])
        link = shapely.shortest_line(island_geom, main_geom)
        a, b = link.coords[0], link.coords[-1]
        lines.append(RoadLine(np.array([a, b]), _props("village", "田间连接道路"), piece_m=PIECE))


def _line_groups(lines: list[RoadLine]) -> list[set[int]]:
    geoms = np.array([ln.line for ln in lines], dtype=object)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=0.5)
    parent = list(range(len(lines)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, set[int]] = {}
    for i in range(len(lines)):
        groups.setdefault(find(i), set()).add(i)
    return [groups[k] for k in sorted(groups)]
