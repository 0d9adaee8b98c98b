"""Synthetic non-coal mines in the southern mountains and northern foothills.

The copper mine in the south-western mountains has a tailings pond (polygon) and
the county's only civil-explosives store. Planted problem: a herders' winter
settlement 350 m from that explosives store (drafted in :mod:`layers.demo.targets`
from ``plan.marks["explosives_store"]``).
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from shapely import affinity

from safemap.layers.demo import substances as subs
from safemap.layers.demo.identities import TradeNames
from safemap.layers.demo.plan import Plan
from safemap.layers.demo.records import Sites
from safemap.layers.demo.shapes import lonlat_to_xy, rect


@dataclass(frozen=True)
class Mine:
    """A made-up mine: where (lon/lat), what, how many staff and which risk colour."""

    key: str
    label: str
    lon: float
    lat: float
    staff: int
    risk: str
    region: str


MINES: tuple[Mine, ...] = (
    Mine("copper", "铜矿", 82.560, 45.635, 180, "red", "sw"),
    Mine("gold", "金矿", 82.480, 45.585, 120, "orange", "sw"),
    Mine("granite", "花岗岩石材矿", 82.665, 45.665, 45, "yellow", "sw"),
    Mine("bentonite", "膨润土矿", 82.455, 45.540, 40, "yellow", "sw"),
    Mine("quartzite", "石英岩矿", 82.705, 45.715, 25, "blue", "sw"),
    Mine("limestone", "石灰石矿", 83.000, 46.065, 60, "yellow", "north"),
    Mine("building_stone", "建筑石料矿", 83.165, 46.092, 30, "blue", "north"),
    Mine("gravel", "砂石料场", 82.965, 46.295, 18, "blue", "north"),
)

#: Junction in the south-western mountains where the mine road branches (lon, lat).
MINING_HUB = (82.585, 45.655)

_COMPANY = {
    "copper": "矿业有限责任公司（铜矿）",
    "gold": "黄金矿业有限公司（金矿）",
    "granite": "石材有限公司（花岗岩矿）",
    "bentonite": "膨润土矿业有限公司",
    "quartzite": "硅业有限公司（石英岩矿）",
    "limestone": "建材有限公司（石灰石矿）",
    "building_stone": "建筑石料有限公司",
    "gravel": "砂石料有限公司",
}


def add_mines(plan: Plan, sites: Sites, names: TradeNames) -> None:
    """Draft the mines, the tailings pond and the explosives store."""
    for m in MINES:
        x, y = lonlat_to_xy(m.lon, m.lat)
        sites.enterprise(
            f"ent:mine:{m.key}",
            (x, y),
            f"裕民县{names.next()}{_COMPANY[m.key]}",
            "non_coal_mine",
            m.risk,
            m.staff,
            address=f"裕民县{m.label}矿区",
        )
    x, y = lonlat_to_xy(82.560, 45.635)
    # Tailings pond in the valley below the copper concentrator: an irregular dam basin.
    pond = shapely.Polygon(
        [
            (x + 700, y - 300),
            (x + 1150, y - 260),
            (x + 1380, y - 520),
            (x + 1300, y - 820),
            (x + 980, y - 900),
            (x + 720, y - 700),
        ]
    )
    sites.hazard(
        "hz:mine:tailings",
        "ent:mine:copper",
        pond,
        "铜矿尾矿库（四等库，坝高 28 m）",
        "tailings_pond",
        [],
        dam_height_m=28.0,
        # 四等库: 全库容 100万–1000万 m³ (GB 39496-2020 表1); synthetic stock now.
        tailings_volume_m3=3_200_000.0,
    )
    store = affinity.rotate(rect(x - 1400, y + 900, 30, 14), 25, origin="centroid")
    plan.marks["explosives_store"] = store
    sites.hazard(
        "hz:mine:explosives",
        "ent:mine:copper",
        store,
        "民用爆炸物品储存库（矿区炸药库）",
        "explosives_store",
        [
            subs.EMULSION_EXPLOSIVE.row(8.0),
            subs.DETONATORS.row(0.15),
            subs.DETONATING_CORD.row(0.5),
        ],
    )
    gx, gy = lonlat_to_xy(82.480, 45.585)
    sites.hazard(
        "hz:mine:gold_store",
        "ent:mine:gold",
        rect(gx - 600, gy + 450, 16, 10),
        "金矿井下炸药临时存放硐室（地面转运库）",
        "explosives_store",
        [subs.EMULSION_EXPLOSIVE.row(1.5), subs.DETONATORS.row(0.02)],
    )
