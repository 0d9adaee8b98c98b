"""Synthetic street grid of the county seat 哈拉布拉镇 and its blocks.

The town is a 3.6 km × 2.4 km grid (200 m blocks, jittered), which matches a county
seat of some 25,000 people. Arterials carry G219 through the centre (north and east
halves), secondary streets form the ring and the middle lines, branch streets fill
in. Community names (喀拉乔克街, 工业街, 加依勒玛街, 文化街, 团结街) are real NBS
community names reused as street names; every street's geometry is made up.

Special cases the analyses should meet: two one-way streets in the old centre, an
underpass of 3.6 m clear height (under an irrigation aqueduct), a street section
closed for works, and superblocks where a branch street is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon

from safemap.layers.demo.county import TOWN_HALF_HEIGHT, TOWN_HALF_WIDTH, County
from safemap.layers.demo.network import RoadLine
from safemap.layers.demo.shapes import XY

SOURCE = "synthetic: 县城街道网格为合成示意数据（街道名称部分取自真实社区名，几何位置虚构）"

STEP = 200.0
#: N-S streets from west to east and E-W streets from south to north: (class, name).
NS_STREETS: tuple[tuple[str, str], ...] = (
    ("urban_secondary", "环城西路"),
    ("urban_branch", "幸福路"),
    ("urban_branch", "光明路"),
    ("urban_arterial", "团结路"),
    ("urban_branch", "和平路"),
    ("urban_branch", "友谊路"),
    ("urban_secondary", "加依勒玛街"),
    ("urban_branch", "胜利路"),
    ("urban_branch", "新华路"),
    ("urban_arterial", "塔城路"),
    ("urban_branch", "民主路"),
    ("urban_branch", "育才路"),
    ("urban_secondary", "喀拉乔克街"),
    ("urban_branch", "健康路"),
    ("urban_branch", "花园路"),
    ("urban_arterial", "迎宾路"),
    ("urban_branch", "商贸路"),
    ("urban_branch", "园林路"),
    ("urban_secondary", "环城东路"),
)
EW_STREETS: tuple[tuple[str, str], ...] = (
    ("urban_secondary", "环城南路"),
    ("urban_branch", "东风街"),
    ("urban_branch", "红星街"),
    ("urban_arterial", "人民路"),
    ("urban_branch", "丰收街"),
    ("urban_branch", "兴隆街"),
    ("urban_arterial", "建设路"),
    ("urban_branch", "前进街"),
    ("urban_branch", "振兴街"),
    ("urban_secondary", "文化街"),
    ("urban_branch", "团结街"),
    ("urban_secondary", "工业街"),
    ("urban_secondary", "环城北路"),
)
_WIDTH = {"urban_arterial": 24.0, "urban_secondary": 16.0, "urban_branch": 9.0}
_SPEED = {"urban_arterial": 50.0, "urban_secondary": 40.0, "urban_branch": 30.0}

# Branch-street pieces left out so that a school or hospital campus spans two blocks:
# (N-S street index, block row index).
_MISSING_NS = ((1, 8), (4, 2), (7, 4), (16, 8), (16, 3), (11, 9))


@dataclass
class Block:
    """One town block between four streets (metres)."""

    ix: int
    iy: int
    polygon: Polygon
    use: str | None = None


@dataclass
class Town:
    """The county seat: street lines, blocks and the gates where rural roads join."""

    centre: XY
    xs: list[float]
    ys: list[float]
    streets: list[RoadLine]
    blocks: dict[tuple[int, int], Block]
    gates: dict[str, XY] = field(default_factory=dict)

    def ew_name(self, index: int) -> str:
        """Name of the ``index``-th east-west street (south to north)."""
        return EW_STREETS[index][1]

    def width_of(self, axis: str, index: int) -> float:
        """Carriageway width of a street, metres."""
        cls = (NS_STREETS if axis == "ns" else EW_STREETS)[index][0]
        return _WIDTH[cls]


def build_town(county: County, rng: np.random.Generator) -> Town:
    """Draw the county seat's streets and blocks."""
    box = county.town_box
    minx, miny, maxx, maxy = box.bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    xs = _positions(cx, TOWN_HALF_WIDTH, NS_STREETS, rng)
    ys = _positions(cy, TOWN_HALF_HEIGHT, EW_STREETS, rng)
    streets: list[RoadLine] = []
    missing = set(_MISSING_NS)
    for i, (cls, name) in enumerate(NS_STREETS):
        for j in range(len(ys) - 1):
            if (i, j) in missing:
                continue
            streets.append(_street(cls, name, (xs[i], ys[j]), (xs[i], ys[j + 1]), i, j, "ns"))
    for j, (cls, name) in enumerate(EW_STREETS):
        for i in range(len(xs) - 1):
            streets.append(_street(cls, name, (xs[i], ys[j]), (xs[i + 1], ys[j]), j, i, "ew"))
    _special_cases(streets, xs, ys)
    blocks = {}
    for i in range(len(xs) - 1):
        for j in range(len(ys) - 1):
            inset_w = (_WIDTH[NS_STREETS[i][0]] + _WIDTH[NS_STREETS[i + 1][0]]) / 4 + 6
            inset_h = (_WIDTH[EW_STREETS[j][0]] + _WIDTH[EW_STREETS[j + 1][0]]) / 4 + 6
            poly = shapely.box(xs[i] + inset_w, ys[j] + inset_h, xs[i + 1] - inset_w, ys[j + 1] - inset_h)
            blocks[(i, j)] = Block(i, j, poly)
    for i, j in missing:
        west, east = blocks[(i - 1, j)], blocks[(i, j)]
        west.polygon = shapely.box(*west.polygon.bounds[:2], *east.polygon.bounds[2:])
        east.use = "merged"
    mid_x, mid_y = len(xs) // 2, len(ys) // 2
    gates = {
        "north": (xs[mid_x], ys[-1]),
        "south": (xs[mid_x], ys[0]),
        "east": (xs[-1], ys[mid_y]),
        "west": (xs[0], ys[mid_y]),
        "northwest": (xs[3], ys[-1]),
        "southeast": (xs[-1], ys[0]),
        "southwest": (xs[3], ys[0]),
    }
    return Town((cx, cy), xs, ys, streets, blocks, gates)


def _positions(centre: float, half: float, spec: tuple[tuple[str, str], ...], rng: np.random.Generator) -> list[float]:
    n = len(spec)
    base = centre - half + STEP * np.arange(n)
    jitter = rng.uniform(-25.0, 25.0, n)
    # Ring and arterial lines stay on the regular grid; branch streets wander a little.
    keep = np.array([cls != "urban_branch" for cls, _ in spec])
    return [float(v) for v in np.where(keep, base, base + jitter)]


def _street(cls: str, name: str, a: XY, b: XY, line_index: int, piece: int, axis: str) -> RoadLine:
    props: dict[str, Any] = {
        "road_class": cls,
        "name": name,
        "speed_kmh": _SPEED[cls],
        "width_m": _WIDTH[cls],
        "oneway": False,
        "status": "open",
        "source": SOURCE,
        "_axis": axis,
        "_line": line_index,
        "_piece": piece,
    }
    mid = len(NS_STREETS) // 2 if axis == "ns" else len(EW_STREETS) // 2
    if axis == "ns" and line_index == mid and piece >= len(EW_STREETS) // 2:
        props.update(ref="G219", name="塔城路（G219城区段）")
    if axis == "ew" and line_index == mid and piece >= len(NS_STREETS) // 2:
        props.update(ref="G219", name="建设路（G219城区段）")
    return RoadLine(np.array([a, b], dtype=float), props)


def _special_cases(streets: list[RoadLine], xs: list[float], ys: list[float]) -> None:
    for s in streets:
        p = s.props
        axis, line, piece = p["_axis"], p["_line"], p["_piece"]
        if axis == "ns" and line == 8 and 4 <= piece <= 7:
            # 新华路 runs one way northwards through the old centre (drawn south -> north).
            p.update(oneway=True, width_m=7.0, speed_kmh=20.0)
        if axis == "ns" and line == 10 and 4 <= piece <= 7:
            # 民主路 runs one way southwards: reverse the drawing order.
            s.coords = s.coords[::-1].copy()
            p.update(oneway=True, width_m=7.0, speed_kmh=20.0)
        if axis == "ns" and line == 6 and piece == 1:
            length = float(np.hypot(*(s.coords[1] - s.coords[0])))
            s.spans.append(
                (
                    length / 2 - 20,
                    length / 2 + 20,
                    {
                        "name": "加依勒玛街（渡槽下穿通道）",
                        "max_height_m": 3.6,
                        "width_m": 7.0,
                        "speed_kmh": 20.0,
                    },
                )
            )
        if axis == "ns" and line == 11 and piece == 7:
            p.update(status="closed", name="育才路（管网施工封闭）")
