"""Synthetic enterprises outside the park: fuel and LPG stations, fireworks, light industry.

Fuel stations stand along G219, the provincial and county roads and at the edges
of the county seat; each has one ``fuel_station_tank`` hazard source carrying the
GB 50156 inputs (gasoline/diesel volume, largest tank, vapour recovery). Planted
problems (see :mod:`layers.demo.targets` for the targets):

- P1: 城东加油站's tank area in block (17, 6) of the town, with a residential compound
  30 m and its kindergarten 38 m away (``plan.marks["p1_tank"]``);
- P3: a herder's house 7 m from the tank of the 察汗托海 station, a grade-3 station
  without vapour recovery (``plan.marks["p3_tank"]``);
- P4: a cold store with 15 t of liquid ammonia in the town's industrial quarter,
  next to residential blocks.
"""

from __future__ import annotations

import shapely
from shapely import affinity
from shapely.geometry import LineString

from safemap.layers.demo import substances as subs
from safemap.layers.demo.county import County
from safemap.layers.demo.identities import TradeNames
from safemap.layers.demo.park import PARK, Park
from safemap.layers.demo.plan import Plan
from safemap.layers.demo.records import Sites, Spots
from safemap.layers.demo.roads import Rural
from safemap.layers.demo.shapes import XY, bearing_of, offset_point, rect
from safemap.layers.demo.town import Town

#: GB 50156 inputs by station type: gasoline m³, diesel m³, largest tank m³, vapour recovery.
_TOWN = (90.0, 60.0, 30.0, "full")
_HIGHWAY = (60.0, 100.0, 50.0, "unloading")
_RURAL = (30.0, 60.0, 30.0, "none")

_TOWN_INDUSTRY = (
    ("粮油加工有限公司", 30),
    ("印刷有限公司", 12),
    ("汽车修理有限公司", 15),
    ("纯净水有限公司", 10),
    ("食品有限公司", 25),
    ("家具制造有限公司", 18),
    ("门窗制造有限公司", 14),
    ("钢结构工程有限公司", 22),
    ("洗涤服务有限公司", 9),
    ("酒业有限公司", 16),
    ("民族服饰有限公司", 20),
    ("奶制品加工有限公司", 26),
    ("物流有限公司", 30),
    ("建材销售有限公司", 12),
    ("农机修理有限公司", 8),
    ("畜产品加工有限公司", 35),
    ("地毯编织有限公司", 24),
    ("蜂业有限公司", 10),
    ("汽车维修服务有限公司", 11),
    ("广告制作有限公司", 7),
)
_TOWNSHIP_INDUSTRY = (
    ("粮食购销站", 8),
    ("农机修理厂", 6),
    ("饲草料加工厂", 12),
    ("畜产品收购加工厂", 15),
    ("砖厂", 30),
    ("石料加工厂", 18),
    ("面粉加工厂", 9),
    ("奶制品加工坊", 7),
)


class SiteBuilder:
    """Drafts the enterprises outside the park (and their hazard sources)."""

    def __init__(
        self,
        plan: Plan,
        county: County,
        town: Town,
        park: Park,
        rural: Rural,
        sites: Sites,
        spots: Spots,
        names: TradeNames,
    ) -> None:
        self.plan, self.county, self.town, self.park = plan, county, town, park
        self.rural, self.sites, self.spots, self.names = rural, sites, spots, names
        self.rng = sites.rng

    def build(self) -> None:
        """Draft everything this module is responsible for."""
        self.town_stations()
        self.road_stations()
        self.town_industry()
        self.township_industry()
        self.fireworks()

    # ------------------------------------------------------------------ fuel and LPG
    def _station(
        self,
        key: str,
        name: str,
        xy: XY,
        tank: shapely.Polygon,
        spec: tuple[float, float, float, str],
        *,
        industry: str = "fuel_station",
        risk: str = "yellow",
        address: str | None = None,
        park: str | None = None,
    ) -> None:
        gasoline, diesel, largest, vapour = spec
        staff = int(self.rng.integers(6, 16))
        self.sites.enterprise(key, xy, name, industry, risk, staff, address=address, park=park)
        if industry == "lpg_station":
            self.sites.hazard(
                f"hz:{key[4:]}",
                key,
                tank,
                f"{name}液化石油气储罐（30 m³，埋地）",
                "lpg_tank",
                [subs.LPG.in_tank(30, 0.85)],
            )
            return
        rows = [subs.GASOLINE.in_tank(gasoline), subs.DIESEL.in_tank(diesel)]
        self.sites.hazard(
            f"hz:{key[4:]}",
            key,
            tank,
            f"{name}埋地油罐区",
            "fuel_station_tank",
            rows,
            gasoline_m3=gasoline,
            diesel_m3=diesel,
            max_tank_m3=largest,
            vapour_recovery=vapour,
        )

    def town_stations(self) -> None:
        """Three stations at the edges of the county seat and one in the park."""
        xs, ys = self.town.xs, self.town.ys
        # P1: tank area 48-60 m west of 环城东路, in block (17, 6).
        tank = shapely.box(xs[18] - 60, ys[6] + 85, xs[18] - 48, ys[6] + 95)
        self.plan.marks["p1_tank"] = tank
        self.plan.marks["p1_block"] = (17, 6)
        self.town.blocks[(17, 6)].use = "p1"
        self._station(
            "ent:fuel:town_east",
            "中国石油裕民县城东加油站",
            (xs[18] - 28, ys[6] + 55),
            tank,
            (90.0, 60.0, 30.0, "unloading"),
            address="裕民县环城东路",
        )
        self.town.blocks[(0, 5)].use = "fuel"
        self._station(
            "ent:fuel:town_west",
            "中国石化裕民县城西加油站",
            (xs[0] + 30, ys[6] - 35),
            shapely.box(xs[0] + 40, ys[6] - 90, xs[0] + 54, ys[6] - 80),
            _TOWN,
            address="裕民县环城西路",
        )
        self.town.blocks[(9, 0)].use = "fuel"
        self._station(
            "ent:fuel:town_south",
            "裕民县城南加油站",
            (xs[9] + 35, ys[0] + 30),
            shapely.box(xs[9] + 60, ys[0] + 50, xs[9] + 74, ys[0] + 60),
            _TOWN,
            address="裕民县巴尔鲁克路南段",
        )
        x0, _y0, _x1, y1 = self.park.plots[(2, 3)].bounds
        self._station(
            "ent:fuel:park",
            "裕民县工业园区加油站",
            (x0 + 60, y1 - 40),
            shapely.box(x0 + 90, y1 - 70, x0 + 104, y1 - 60),
            _HIGHWAY,
            address=f"{PARK}园区纬三路",
            park=PARK,
        )

    def _roadside(self, route: str, along: float, side: float) -> tuple[XY, shapely.Polygon]:
        line: LineString = self.rural.routes[route]
        xy = offset_point(line, along, side * 40)
        cx, cy = offset_point(line, along + 15, side * 62)
        tank = affinity.rotate(rect(cx, cy, 14, 9), bearing_of(line, along), origin=(cx, cy))
        return xy, tank

    def road_stations(self) -> None:
        """Stations along G219 and the provincial and county roads."""
        plan = (
            ("g219_north", 2500, 1, "lpg", "裕民县城北汽车加气站"),
            ("g219_north", 9000, -1, "highway", "中国石油裕民县G219北加油站"),
            ("g219_north", 17800, 1, "highway", "裕民县吉也克镇加油站"),
            ("g219_east", 1200, -1, "lpg", "裕民县城东汽车加气站"),
            ("g219_east", 5200, 1, "highway", "中国石化裕民县新地加油站"),
            ("g219_east", 16600, -1, "highway", "裕民县阿勒腾也木勒加油站"),
            ("provincial", 3400, 1, "rural", "裕民县江格斯乡加油站"),
            ("provincial", -400, -1, "rural", "裕民县察汗托海牧场加油站"),
            ("x851", 6200, 1, "rural", "裕民县哈拉布拉乡加油站"),
            ("x852", 7000, -1, "rural", "裕民县新地乡北加油站"),
        )
        for k, (route, along, side, kind, name) in enumerate(plan):
            line = self.rural.routes[route]
            d = along if along >= 0 else line.length + along
            xy, tank = self._roadside(route, d, side)
            key = f"ent:fuel:road{k + 1:02d}"
            if kind == "lpg":
                self._station(key, name, xy, tank, _RURAL, industry="lpg_station", risk="orange")
            else:
                spec = _HIGHWAY if kind == "highway" else _RURAL
                self._station(key, name, xy, tank, spec, risk="yellow" if kind == "highway" else "blue")
            if "察汗托海" in name:
                self.plan.marks["p3_tank"] = tank
                self.plan.marks["p3_road"] = (route, d, side)

    # ------------------------------------------------------------------ industry
    def _in_block(self, block: tuple[int, int], margin: float = 20.0) -> XY:
        poly = self.town.blocks[block].polygon.buffer(-margin)
        minx, miny, maxx, maxy = poly.bounds
        return float(self.rng.uniform(minx, maxx)), float(self.rng.uniform(miny, maxy))

    def town_industry(self) -> None:
        """Light industry, the ammonia cold store, a fertiliser store and the water works."""
        quarter = [(i, j) for i in range(13, 18) for j in range(9, 12) if (i, j) != (14, 9)]
        for b in quarter:
            self.town.blocks[b].use = "industry"
        cold_block = (15, 10)
        x0, y0 = self.town.blocks[cold_block].polygon.bounds[:2]
        self.sites.enterprise(
            "ent:town:cold_store",
            (x0 + 40, y0 + 40),
            f"裕民县{self.names.next()}冷冻食品有限公司",
            "hazchem_use",
            "orange",
            48,
            address="裕民县工业街",
        )
        self.sites.hazard(
            "hz:town:ammonia",
            "ent:town:cold_store",
            rect(x0 + 70, y0 + 45, 16, 10),
            "冷库氨制冷机房（液氨 15 t）",
            "process_unit",
            [subs.AMMONIA.row(15)],
        )
        x0, y0 = self.town.blocks[(17, 11)].polygon.bounds[:2]
        self.sites.enterprise(
            "ent:town:fertiliser",
            (x0 + 30, y0 + 30),
            f"裕民县{self.names.next()}农资有限公司",
            "hazchem_storage",
            "yellow",
            14,
            address="裕民县环城东路北段",
        )
        self.sites.hazard(
            "hz:town:fertiliser",
            "ent:town:fertiliser",
            rect(x0 + 90, y0 + 80, 40, 20),
            "化肥仓库（硝酸铵）",
            "warehouse",
            [subs.AMMONIUM_NITRATE.row(80)],
        )
        self.town.blocks[(1, 11)].use = "water_works"
        x0, y0, _x1, _y1 = self.town.blocks[(1, 11)].polygon.bounds
        self.sites.enterprise(
            "ent:town:water_works",
            (x0 + 40, y0 + 50),
            "裕民县城市供水有限公司（自来水厂）",
            "hazchem_use",
            "yellow",
            32,
            address="裕民县环城北路",
        )
        self.sites.hazard(
            "hz:town:chlorine",
            "ent:town:water_works",
            rect(x0 + 100, y0 + 60, 14, 9),
            "加氯间及液氯钢瓶库",
            "warehouse",
            [subs.CHLORINE.row(2.0)],
        )
        for k, label in enumerate(("农药经营部", "化学试剂经营部", "工业气体经营部")):
            xy = self._in_block(quarter[k * 4 % len(quarter)])
            self.sites.enterprise(
                f"ent:town:trade{k + 1}",
                xy,
                f"裕民县{self.names.next()}{label}",
                "hazchem_trade",
                "blue",
                int(self.rng.integers(3, 8)),
            )
        for k, (label, staff) in enumerate(_TOWN_INDUSTRY):
            xy = self._in_block(quarter[k % len(quarter)], 15.0)
            risk = self.sites.risk((0.02, 0.12, 0.4, 0.46))
            self.sites.enterprise(
                f"ent:town:light{k + 1:02d}",
                xy,
                f"裕民县{self.names.next()}{label}",
                "industry_trade",
                risk,
                int(staff * self.rng.uniform(0.8, 1.3)),
            )

    def township_industry(self) -> None:
        """Draft workshops at each rural township seat and logistics firms along G219."""
        for t in self.county.townships:
            if t.name in ("哈拉布拉镇", "兵团农九师一六一团"):
                continue
            picks = self.rng.choice(len(_TOWNSHIP_INDUSTRY), 4, replace=False)
            for k, pick in enumerate(sorted(picks.tolist())):
                label, staff = _TOWNSHIP_INDUSTRY[pick]
                xy = self.spots.near(t.seat, 250, 900)
                risk = self.sites.risk((0.0, 0.08, 0.35, 0.57))
                self.sites.enterprise(
                    f"ent:{t.code}:light{k + 1}",
                    xy,
                    f"裕民县{t.name}{self.names.next()}{label}",
                    "industry_trade",
                    risk,
                    int(staff * self.rng.uniform(0.7, 1.4)),
                    address=f"裕民县{t.name}",
                )
        line = self.rural.routes["g219_east"]
        kinds = ("物流有限公司", "仓储有限公司", "农产品冷链有限公司")
        for k, d in enumerate((2600.0, 3000.0, 9500.0)):
            xy = offset_point(line, d, 90 if k % 2 else -90)
            self.sites.enterprise(
                f"ent:g219:logistics{k + 1}",
                xy,
                f"裕民县{self.names.next()}{kinds[k]}",
                "industry_trade",
                "blue",
                int(self.rng.integers(10, 40)),
                address="裕民县G219线东段",
            )

    def fireworks(self) -> None:
        """One wholesale store west of the town and retail shops in the town and townships."""
        xy, store = self._roadside("provincial", 900, -1)
        far = offset_point(self.rural.routes["provincial"], 900, -260)
        store = affinity.rotate(rect(far[0], far[1], 30, 12), 10, origin="centroid")
        self.sites.enterprise(
            "ent:fireworks:wholesale",
            xy,
            f"裕民县{self.names.next()}烟花爆竹批发有限公司",
            "fireworks",
            "orange",
            9,
            address="裕民县裕民—察汗托海公路西段",
        )
        self.sites.hazard(
            "hz:fireworks:store",
            "ent:fireworks:wholesale",
            store,
            "烟花爆竹批发仓库",
            "warehouse",
            [subs.FIREWORKS_13G.row(8.0), subs.FIREWORKS_14G.row(20.0)],
        )
        shop_blocks = [(8, 5), (10, 6), (10, 4), (7, 7), (12, 5), (5, 6)]
        for k, b in enumerate(shop_blocks):
            self.sites.enterprise(
                f"ent:fireworks:town{k + 1}",
                self._in_block(b, 10.0),
                f"裕民县{self.names.next()}烟花爆竹零售点",
                "fireworks",
                "yellow" if k == 0 else "blue",
                2,
                individual=True,
            )
        rural = [t for t in self.county.townships if t.name not in ("哈拉布拉镇", "兵团农九师一六一团")]
        for t in rural[:4]:
            self.sites.enterprise(
                f"ent:fireworks:{t.code}",
                self.spots.near(t.seat, 150, 500),
                f"{t.name}{self.names.next()}烟花爆竹零售点",
                "fireworks",
                "blue",
                int(self.rng.integers(1, 3)),
                individual=True,
            )


def town_road_geoms(town: Town, park: Park, rural: Rural) -> list:
    """Every drawn road line (metres), for keeping point sites off the carriageway."""
    return [s.line for s in town.streets] + [s.line for s in park.streets] + [r.line for r in rural.lines]
