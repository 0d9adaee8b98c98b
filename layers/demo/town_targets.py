"""Protected targets (防护目标) of the county seat, their fire lanes, and the planted problems.

Every block of the town grid gets one use: schools, hospitals, offices, markets and
the like on fixed blocks; the rest are residential compounds (multi-storey, near the
centre) or single-storey housing (at the edges), some left vacant.

Planted problems that later analyses should find:

- P1 (GB 50156): 金桥小区 30 m and its kindergarten (240 children, an important public
  building) 38 m from the tank area of 城东加油站, a grade-2 station with unloading
  vapour recovery (important public buildings need 40 m).
- P2 (GB 36894 / GB/T 37243): 裕民县职业技术学校 80 m from the park's chemical warehouse
  holding 6 t of liquid chlorine (a high-sensitivity target).
- Fire lanes: a 3.6 m narrow lane, a dead end without turnaround, dead ends with
  12×12 m and (too small) 10×10 m turnarounds, an obstructed lane, a 3.8 m clear
  height under a building, a 9.5 % ramp and a lane over a garage roof rated 15 t.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point

from safemap.layers.demo.county import County
from safemap.layers.demo.lanes import Lanes
from safemap.layers.demo.park import Park
from safemap.layers.demo.plan import Plan
from safemap.layers.demo.town import Town

SOURCE = "synthetic: 虚构防护目标（名称、位置、人数与建筑高度均为演示数据）"

# Fixed block uses: (ix, iy) -> (category, name, population, height m).
_FIXED: dict[tuple[int, int], tuple[str, str, int, float]] = {
    (9, 5): ("government", "裕民县人民政府（县委县政府大院）", 650, 24.0),
    (8, 6): ("government", "裕民县人大常委会、政协办公楼", 180, 18.0),
    (9, 6): ("government", "裕民县应急管理局等部门综合办公楼", 320, 24.0),
    (4, 5): ("government", "兵团第九师一六一团团部", 260, 15.0),
    (12, 7): ("government", "哈拉布拉镇人民政府", 90, 12.0),
    (6, 4): ("hospital", "裕民县人民医院", 820, 33.0),
    (13, 5): ("hospital", "裕民县中医医院（哈萨克医医院）", 310, 18.0),
    (3, 8): ("hospital", "裕民县妇幼保健院", 160, 15.0),
    (5, 3): ("hospital", "一六一团医院", 210, 15.0),
    (15, 8): ("school", "裕民县第一中学", 1850, 22.0),
    (0, 8): ("school", "一六一团中学", 760, 18.0),
    (3, 2): ("school", "裕民县第二中学", 1320, 22.0),
    (15, 3): ("school", "裕民县第一小学", 1450, 16.0),
    (10, 9): ("school", "裕民县第二小学", 1180, 16.0),
    (2, 6): ("school", "裕民县第三小学", 640, 13.0),
    (2, 9): ("nursing_home", "裕民县社会福利中心（养老院）", 220, 12.0),
    (15, 1): ("nursing_home", "裕民县康乐颐养院", 95, 9.0),
    (8, 5): ("market", "裕民县农贸市场", 1500, 8.0),
    (10, 6): ("market", "裕民县商业步行街购物中心", 2200, 18.0),
    (4, 7): ("stadium", "裕民县全民健身中心（体育馆）", 1600, 21.0),
    (16, 5): ("transport_hub", "裕民县汽车客运站", 400, 10.0),
    (7, 7): ("other", "裕民县文化馆、图书馆", 300, 15.0),
}
#: Blocks kept free of housing: the fire station and the county depot (see forces.py).
RESERVED_BLOCKS = ((11, 3), (14, 9))
_KINDERGARTENS = {
    (5, 8): "裕民县第一幼儿园",
    (11, 6): "裕民县第二幼儿园",
    (14, 4): "裕民县第三幼儿园",
    (1, 3): "一六一团幼儿园",
    (8, 9): "哈拉布拉镇中心幼儿园",
    (12, 2): "裕民县民族幼儿园",
    (16, 7): "阳光双语幼儿园",
}
_HOTELS = {(10, 5): "裕民宾馆", (9, 7): "巴尔鲁克山大酒店", (12, 6): "塔斯特商务酒店"}
_COMPOUND_NAMES = (
    "幸福家园",
    "和谐小区",
    "团结小区",
    "阳光花园",
    "金色家园",
    "丽景苑",
    "天山小区",
    "雪莲小区",
    "博雅苑",
    "锦绣家园",
    "民族团结小区",
    "怡和苑",
    "明珠花园",
    "馨园小区",
    "文苑小区",
    "康居小区",
    "盛世华庭",
    "书香苑",
    "润泽园",
    "汇景苑",
    "安居小区",
    "永兴小区",
    "富民小区",
    "御景园",
    "育才小区",
    "林海小区",
    "鑫源小区",
    "春晖苑",
    "嘉禾苑",
    "金秋小区",
    "滨河小区",
    "西苑小区",
    "东苑小区",
    "北苑小区",
    "南苑小区",
    "悦城小区",
    "万家小区",
    "华府小区",
    "瑞景苑",
    "丰收小区",
)
# Compound fire-lane cases by order of laned compound: attributes of its lane.
_LANE_CASES: tuple[dict[str, Any], ...] = (
    {"width_m": 3.6, "name": "消防车道（净宽不足）"},
    {"kind": "spur", "name": "尽头式消防车道（无回车场）"},
    {
        "kind": "spur",
        "turnaround_length_m": 12.0,
        "turnaround_width_m": 12.0,
        "name": "尽头式消防车道（12×12 m 回车场）",
    },
    {"obstructed": True, "name": "消防车道（私家车占用）"},
    {"clear_height_m": 3.8, "name": "消防车道（穿过街楼，净高 3.8 m）"},
    {"slope_pct": 9.5, "name": "消防车道（地库坡道 9.5%）"},
    {
        "kind": "spur",
        "turnaround_length_m": 10.0,
        "turnaround_width_m": 10.0,
        "name": "尽头式消防车道（10×10 m 回车场）",
    },
    {"max_weight_t": 15.0, "name": "消防车道（地下车库顶板，承载 15 t）"},
)


def classes(category: str, population: int, height: float) -> dict[str, str]:
    """GB 36894 and GB 50156 classes of a target (the demo's reading of both standards).

    Parameters
    ----------
    population
        People usually present (persons).
    height
        Building height, metres (27 m and more counts as high-rise housing).
    """
    if category in ("school", "kindergarten", "hospital", "nursing_home"):
        big = population > {"school": 500, "kindergarten": 200}.get(category, 300)
        return {
            "gb36894_class": "high_sensitive",
            "gb50156_class": "important_public" if big else "civil_1",
        }
    if category in ("cultural_relic", "religious", "other"):
        return {"gb36894_class": "important", "gb50156_class": "civil_1"}
    if category in ("residential", "village"):
        g = "general_1" if population >= 1000 else "general_2" if population >= 100 else "general_3"
        c = "civil_1" if height >= 27 else "civil_2" if height >= 7 else "civil_3"
        return {"gb36894_class": g, "gb50156_class": c}
    big = population >= 1000
    return {
        "gb36894_class": "general_1" if big or category == "government" else "general_2",
        "gb50156_class": "civil_1" if big or category in ("government", "transport_hub") else "civil_2",
    }


def target(
    plan: Plan,
    county: County,
    key: str,
    geom: Any,
    category: str,
    name: str,
    population: int,
    height: float,
    address: str | None = None,
) -> None:
    """Draft one protected target (geometry in metres)."""
    c = geom.centroid
    plan.new(
        "protected_targets",
        key,
        geom,
        name=name,
        township=county.township_at((c.x, c.y)),
        source=SOURCE,
        category=category,
        population=int(population),
        height_m=float(height),
        address=address,
        **classes(category, population, height),
    )


class TownTargets:
    """Drafts the county seat's targets and the compounds' fire lanes."""

    def __init__(
        self,
        plan: Plan,
        county: County,
        town: Town,
        park: Park,
        lanes: Lanes,
        rng: np.random.Generator,
    ) -> None:
        self.plan, self.county, self.town, self.park = plan, county, town, park
        self.lanes, self.rng = lanes, rng
        self.laned = 0

    def _address(self, ix: int, iy: int) -> str:
        return f"裕民县{self.town.ew_name(iy)}{ix * 2 + 1}号"

    def build(self) -> None:
        """Draft every town target (fixed uses first, then housing)."""
        blocks = self.town.blocks
        for (ix, iy), (cat, name, pop, h) in _FIXED.items():
            blocks[(ix, iy)].use = cat
            target(
                self.plan,
                self.county,
                f"pt:town:{ix}_{iy}",
                blocks[(ix, iy)].polygon,
                cat,
                name,
                pop,
                h,
                self._address(ix, iy),
            )
        for (ix, iy), name in _KINDERGARTENS.items():
            x0, y0, x1, y1 = blocks[(ix, iy)].polygon.bounds
            xm = (x0 + x1) / 2
            pop = int(self.rng.integers(150, 330))
            target(
                self.plan,
                self.county,
                f"pt:town:kg_{ix}_{iy}",
                shapely.box(x0, y0, xm - 5, y1),
                "kindergarten",
                name,
                pop,
                9.0,
                self._address(ix, iy),
            )
            blocks[(ix, iy)].use = "kindergarten"
            self._housing((ix, iy), shapely.box(xm + 5, y0, x1, y1), half=True)
        for (ix, iy), name in _HOTELS.items():
            x0, y0, x1, y1 = blocks[(ix, iy)].polygon.bounds
            target(
                self.plan,
                self.county,
                f"pt:town:hotel_{ix}_{iy}",
                Point(x1 - 30, y1 - 30),
                "hotel",
                name,
                int(self.rng.integers(80, 260)),
                21.0,
                self._address(ix, iy),
            )
        self._planted_p1()
        self._planted_p2()
        for b in RESERVED_BLOCKS:
            blocks[b].use = "reserved"
        for key in sorted(blocks):
            if blocks[key].use is None:
                self._housing(key, blocks[key].polygon)

    def _housing(self, key: tuple[int, int], poly: shapely.Polygon, *, half: bool = False) -> None:
        ix, iy = key
        block = self.town.blocks[key]
        if block.use is None:
            block.use = "residential"
        cx, cy = self.town.centre
        c = poly.centroid
        r = math.hypot(c.x - cx, c.y - cy)
        central = r < 850 + float(self.rng.uniform(-150, 150))
        if not central and not half and self.rng.random() < 0.25:
            block.use = "vacant"
            return
        scale = 0.5 if half else 1.0
        if central:
            height = float(self.rng.choice([18.0, 18.0, 18.0, 21.0, 21.0, 33.0, 54.0]))
            pop = int(self.rng.integers(200, 460) * scale * (1.6 if height > 30 else 1.0))
            name = _COMPOUND_NAMES[len(self.plan.of("protected_targets")) % len(_COMPOUND_NAMES)]
            label = f"{name}{'' if iy % 2 else '二期'}"
        else:
            height = 4.5
            pop = int(self.rng.integers(40, 110) * scale)
            label = f"{self._address(ix, iy).removeprefix('裕民县')}片区平房居住区"
        pkey = f"pt:town:res_{ix}_{iy}"
        target(
            self.plan,
            self.county,
            pkey,
            poly,
            "residential",
            label,
            pop,
            height,
            self._address(ix, iy),
        )
        # Every third central compound (spread over the grid) has a surveyed fire lane.
        if central and not half and (ix + 2 * iy) % 3 == 0 and self.laned < 22:
            self._compound_lane(pkey, poly, iy)

    def _compound_lane(self, site_key: str, poly: shapely.Polygon, iy: int, case: dict[str, Any] | None = None) -> None:
        if case is None:
            case = dict(_LANE_CASES[self.laned]) if self.laned < len(_LANE_CASES) else {}
            self.laned += 1
        case = dict(case)
        x0, _y0, x1, y1 = poly.bounds
        street_y = self.town.ys[iy]
        kind = case.pop("kind", "loop")
        name = case.pop("name", "小区环形消防车道")
        attrs = {
            "width_m": 4.5,
            "site_layer": "protected_targets",
            "site_key": site_key,
            "name": name,
        }
        attrs.update(case)
        key = f"lane:{site_key[3:]}"
        if kind == "spur":
            self.lanes.spur(key, (x0 + 40, street_y), [(x0 + 40, y1 - 30), (x1 - 50, y1 - 30)], **attrs)
        else:
            self.lanes.loop(key, street_y, x0 + 25, x1 - 25, (y1 - street_y) - 25, **attrs)

    def _planted_p1(self) -> None:
        tank = self.plan.marks["p1_tank"]
        ix, iy = self.plan.marks["p1_block"]
        x0, y0, _x1, y1 = self.town.blocks[(ix, iy)].polygon.bounds
        tx0, ty0, _tx1, ty1 = tank.bounds
        compound = shapely.box(x0, y0, tx0 - 30.0, y1)
        target(
            self.plan,
            self.county,
            "pt:p1:compound",
            compound,
            "residential",
            "金桥小区",
            1180,
            33.0,
            "裕民县环城东路",
        )
        kg = Point(tx0 - 38.0, (ty0 + ty1) / 2)
        target(
            self.plan,
            self.county,
            "pt:p1:kindergarten",
            kg,
            "kindergarten",
            "金桥小区配套幼儿园",
            240,
            9.0,
            "裕民县环城东路金桥小区内",
        )
        self._compound_lane("pt:p1:compound", compound, iy, {"name": "金桥小区环形消防车道"})

    def _planted_p2(self) -> None:
        assert self.park.chem_warehouse is not None  # set by add_park_sites, which runs first
        wx0, wy0, _wx1, _wy1 = self.park.chem_warehouse.bounds
        school = shapely.box(wx0 - 80.0 - 200.0, wy0 - 90.0, wx0 - 80.0, wy0 + 110.0)
        target(
            self.plan,
            self.county,
            "pt:p2:school",
            school,
            "school",
            "裕民县职业技术学校",
            860,
            20.0,
            "裕民县园区大道西侧",
        )
