"""The synthetic 裕民县工业园区 south-east of the county seat: streets, plots, firms, tanks, lanes.

Layout: a 1.6 km × 1.1 km grid (4 × 3 streets) cut into 24 plots. Hazardous-chemical
firms sit in the southern and eastern plots, light industry (工贸) elsewhere.
Major hazard sources by GB 18218 (q/Q ≥ 1) include the oil depot's gasoline tanks,
the LPG supply station, the liquid-ammonia cold store and the chemical warehouse's
liquid chlorine. That warehouse is the planted problem next to the vocational school
(see :mod:`layers.demo.targets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from safemap.layers.demo import substances as subs
from safemap.layers.demo.identities import TradeNames
from safemap.layers.demo.lanes import Lanes
from safemap.layers.demo.network import RoadLine
from safemap.layers.demo.plan import Plan
from safemap.layers.demo.records import Sites
from safemap.layers.demo.shapes import XY, circle, rect
from safemap.layers.demo.town import Town

PARK = "裕民县工业园区"
ROAD_SOURCE = "synthetic: 工业园区道路为合成示意数据"
_EW_NAMES = ("园区纬一路", "园区纬二路", "园区纬三路")
_NS_NAMES = ("园区经一路", "园区经二路", "园区经三路", "园区经四路")

#: Where the park lies relative to the town centre (metres east, north).
WEST, EAST, SOUTH, NORTH = 2300.0, 3900.0, -2600.0, -1500.0


@dataclass
class Park:
    """Street positions (metres), plots and the chemical warehouse of the planted school case."""

    xs: list[float]
    ys: list[float]
    streets: list[RoadLine]
    plots: dict[tuple[int, int], shapely.Polygon]
    chem_warehouse: shapely.Polygon | None = None

    @property
    def box(self) -> shapely.Polygon:
        """Outline of the park along its perimeter streets."""
        return shapely.box(self.xs[0], self.ys[0], self.xs[-1], self.ys[-1])

    @property
    def gates(self) -> dict[str, XY]:
        """Corner nodes where outside roads join."""
        return {"northwest": (self.xs[0], self.ys[-1]), "northeast": (self.xs[-1], self.ys[-1])}


def build_park_layout(town: Town) -> Park:
    """Lay out the park's streets and plots (no firms yet)."""
    cx, cy = town.centre
    xs = [float(v) for v in np.linspace(cx + WEST, cx + EAST, 4)]
    ys = [float(v) for v in np.linspace(cy + SOUTH, cy + NORTH, 3)]
    streets = []
    for i, x in enumerate(xs):
        perimeter = i in (0, len(xs) - 1)
        for j in range(len(ys) - 1):
            streets.append(_street(_NS_NAMES[i], (x, ys[j]), (x, ys[j + 1]), perimeter))
    for j, y in enumerate(ys):
        perimeter = j in (0, len(ys) - 1)
        for i in range(len(xs) - 1):
            streets.append(_street(_EW_NAMES[j], (xs[i], y), (xs[i + 1], y), perimeter))
    plots = {}
    for bi in range(len(xs) - 1):
        for bj in range(len(ys) - 1):
            x0, x1 = xs[bi] + 14, xs[bi + 1] - 14
            y0, y1 = ys[bj] + 14, ys[bj + 1] - 14
            xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
            for dx, (a, b) in enumerate(((x0, xm - 5), (xm + 5, x1))):
                for dy, (c, d) in enumerate(((y0, ym - 5), (ym + 5, y1))):
                    plots[(2 * bi + dx, 2 * bj + dy)] = shapely.box(a, c, b, d)
    return Park(xs, ys, streets, plots)


def _street(name: str, a: XY, b: XY, perimeter: bool) -> RoadLine:
    props: dict[str, Any] = {
        "road_class": "urban_secondary" if perimeter else "urban_branch",
        "name": name,
        "speed_kmh": 40.0 if perimeter else 30.0,
        "width_m": 14.0 if perimeter else 12.0,
        "oneway": False,
        "status": "open",
        "source": ROAD_SOURCE,
    }
    return RoadLine(np.array([a, b], dtype=float), props)


_LIGHT_INDUSTRY = (
    ("饲料有限公司", 45),
    ("面粉有限公司", 38),
    ("清真肉类加工有限公司", 120),
    ("乳业有限公司", 85),
    ("新型建材有限公司", 60),
    ("彩钢板制品有限公司", 25),
    ("木业有限公司", 30),
    ("农牧机械制造有限公司", 55),
    ("塑料制品有限公司", 28),
    ("石材加工有限公司", 40),
    ("膨润土加工有限公司", 35),
    ("商品混凝土有限公司", 48),
    ("光伏支架制造有限公司", 65),
    ("皮革制品有限公司", 52),
)


def add_park_sites(plan: Plan, park: Park, sites: Sites, lanes: Lanes, names: TradeNames) -> None:
    """Draft the park's outline, enterprises, hazard sources and fire lanes."""
    p = park.plots
    # The area the park-wide assessment (园区整体性安全风险评估) covers: the perimeter streets.
    plan.new(
        "admin_boundaries",
        "admin:park",
        park.box,
        name=PARK,
        source="synthetic: 工业园区规划范围为合成示意数据（沿园区周边道路）",
        level="industrial_park",
    )

    def ent(key: str, plot: tuple[int, int], label: str, industry: str, risk: str, staff: int) -> str:
        c = p[plot].centroid
        name = f"裕民县{names.next()}{label}"
        sites.enterprise(
            key,
            (c.x, c.y),
            name,
            industry,
            risk,
            staff,
            park=PARK,
            address=f"{PARK}{_address(park, plot)}",
        )
        return key

    # Oil depot: two 1000 m³ gasoline and three 1000 m³ diesel tanks (vertical, Ø 11.5 m).
    depot = ent("ent:park:oil_depot", (4, 0), "石油产品储运有限公司", "hazchem_storage", "red", 36)
    x0, y0, x1, _ = p[(4, 0)].bounds
    for k, (sub, label) in enumerate(
        (
            (subs.GASOLINE, "汽油"),
            (subs.GASOLINE, "汽油"),
            (subs.DIESEL, "柴油"),
            (subs.DIESEL, "柴油"),
            (subs.DIESEL, "柴油"),
        )
    ):
        cx, cy = x0 + 50 + (k % 3) * 32, y0 + 55 + (k // 3) * 34
        sites.hazard(
            f"hz:park:oil_tank{k + 1}",
            depot,
            circle(cx, cy, 5.75),
            f"{k + 1}#{label}储罐（1000 m³ 内浮顶罐）",
            "storage_tank",
            [sub.in_tank(1000)],
        )
    lanes.loop(
        "lane:park:oil_depot",
        park.ys[0],
        x0 + 22,
        x0 + 150,
        130,
        site_layer="enterprises",
        site_key=depot,
        name="油库环形消防车道",
        width_m=6.0,
    )

    # LPG supply station: three 50 m³ horizontal tanks in one dike and a filled-cylinder store.
    # The dike makes the three tanks one GB 18218 储存单元: 3 × 23.375 t / 50 t gives S = 1.4025,
    # a major hazard source although each tank alone (S = 0.4675) is not.
    lpg = ent("ent:park:lpg", (5, 0), "液化石油气储配有限公司", "lpg_station", "red", 22)
    x0, y0, x1, _ = p[(5, 0)].bounds
    dike = rect(x0 + 79, y0 + 120, 34.0, 24.0)
    sites.unit("unit:park:lpg_tanks", lpg, dike, "液化石油气储罐区（防火堤内）", "storage")
    for k in range(3):
        sites.hazard(
            f"hz:park:lpg_tank{k + 1}",
            lpg,
            rect(x0 + 70 + k * 9, y0 + 120, 3.2, 12.0),
            f"{k + 1}#液化石油气卧式储罐（50 m³）",
            "lpg_tank",
            [subs.LPG.in_tank(50, 0.85)],
            unit_key="unit:park:lpg_tanks",
        )
    sites.hazard(
        "hz:park:lpg_cylinders",
        lpg,
        rect(x0 + 160, y0 + 60, 24, 12),
        "液化石油气实瓶库",
        "gas_cylinder_store",
        [subs.LPG.row(6.5)],
    )
    lanes.spur(
        "lane:park:lpg",
        (x0 + 30, park.ys[0]),
        [(x0 + 30, y0 + 175), (x0 + 120, y0 + 175)],
        site_layer="enterprises",
        site_key=lpg,
        name="储配站尽头式消防车道",
        width_m=5.0,
        turnaround_length_m=12.0,
        turnaround_width_m=12.0,
    )

    # LNG satellite station feeding the town gas network: two 60 m³ cryogenic tanks.
    lng = ent("ent:park:lng", (5, 1), "燃气有限公司（LNG气化站）", "hazchem_storage", "orange", 18)
    x0, y0, x1, _ = p[(5, 1)].bounds
    for k in range(2):
        sites.hazard(
            f"hz:park:lng_tank{k + 1}",
            lng,
            circle(x0 + 90 + k * 14, y0 + 110, 1.9),
            f"{k + 1}#LNG立式储罐（60 m³）",
            "storage_tank",
            [subs.NATURAL_GAS.in_tank(60, 0.9)],
            plant_status="new",
        )

    # Industrial gases: liquid oxygen tank, calcium-carbide store, acetylene generation.
    gas = ent("ent:park:gases", (3, 1), "工业气体有限公司", "hazchem_production", "orange", 30)
    x0, y0, x1, _ = p[(3, 1)].bounds
    sites.hazard(
        "hz:park:lox",
        gas,
        circle(x0 + 60, y0 + 70, 1.6),
        "液氧储罐（50 m³）",
        "storage_tank",
        [subs.OXYGEN.in_tank(50, 0.85)],
    )
    sites.hazard(
        "hz:park:carbide",
        gas,
        rect(x0 + 150, y0 + 60, 30, 15),
        "电石库",
        "warehouse",
        [subs.CALCIUM_CARBIDE.row(60)],
    )
    sites.hazard(
        "hz:park:acetylene",
        gas,
        rect(x0 + 150, y0 + 140, 22, 15),
        "乙炔发生及充装装置",
        "process_unit",
        [subs.ACETYLENE.row(0.6), subs.CALCIUM_CARBIDE.row(4)],
    )
    lanes.loop(
        "lane:park:gases",
        park.ys[1],
        x0 + 20,
        x1 - 20,
        110,
        north=False,
        site_layer="enterprises",
        site_key=gas,
        name="气体厂环形消防车道",
    )

    # Chemical trader's warehouse at the park's west edge, 80 m from the vocational school.
    chem = ent("ent:park:chem_trade", (0, 2), "化工产品经营有限公司", "hazchem_storage", "orange", 16)
    x0, y0, x1, _ = p[(0, 2)].bounds
    warehouse = shapely.box(park.xs[0] + 20, y0 + 60, park.xs[0] + 60, y0 + 100)
    park.chem_warehouse = warehouse
    sites.hazard(
        "hz:park:chem_warehouse",
        chem,
        warehouse,
        "甲类危险化学品仓库",
        "warehouse",
        [
            subs.CHLORINE.row(6.0),
            subs.METHANOL.row(25),
            subs.TOLUENE.row(15),
            subs.ACETONE.row(8),
            subs.XYLENE.row(12),
        ],
    )

    # Coatings plant: solvent tanks, mixing unit, product store.
    paint = ent("ent:park:coatings", (1, 0), "涂料有限公司", "hazchem_production", "yellow", 42)
    x0, y0, x1, _ = p[(1, 0)].bounds
    for k in range(2):
        sites.hazard(
            f"hz:park:solvent{k + 1}",
            paint,
            circle(x0 + 40 + k * 12, y0 + 170, 1.6),
            f"{k + 1}#二甲苯储罐（30 m³）",
            "storage_tank",
            [subs.XYLENE.in_tank(30)],
        )
    sites.hazard(
        "hz:park:paint_unit",
        paint,
        rect(x0 + 130, y0 + 90, 40, 25),
        "涂料调配车间",
        "process_unit",
        [subs.XYLENE.row(8), subs.BUTYL_ACETATE.row(6)],
    )
    sites.hazard(
        "hz:park:paint_store",
        paint,
        rect(x0 + 130, y0 + 170, 36, 20),
        "成品涂料仓库",
        "warehouse",
        [subs.PAINT.row(80)],
    )
    lanes.loop(
        "lane:park:coatings",
        park.ys[0],
        x0 + 20,
        x1 - 20,
        210,
        site_layer="enterprises",
        site_key=paint,
        name="涂料厂环形消防车道",
        obstructed=True,
    )

    # Cold-chain logistics with ammonia refrigeration (12 t liquid ammonia: a major hazard).
    cold = ent("ent:park:cold_chain", (4, 2), "冷链物流有限公司", "hazchem_use", "orange", 64)
    x0, y0 = p[(4, 2)].bounds[:2]
    sites.hazard(
        "hz:park:ammonia",
        cold,
        rect(x0 + 60, y0 + 60, 18, 12),
        "氨制冷机房及高压贮氨器",
        "process_unit",
        [subs.AMMONIA.row(12)],
    )

    # Asphalt plant with a diesel tank (a small W5.4 quantity, far below the threshold).
    asphalt = ent("ent:park:asphalt", (0, 0), "沥青混凝土有限公司", "industry_trade", "yellow", 26)
    x0, y0 = p[(0, 0)].bounds[:2]
    sites.hazard(
        "hz:park:asphalt_diesel",
        asphalt,
        circle(x0 + 180, y0 + 60, 2.6),
        "导热油炉燃料柴油储罐（100 m³）",
        "storage_tank",
        [subs.DIESEL.in_tank(100)],
    )

    taken = {(4, 0), (5, 0), (5, 1), (3, 1), (0, 2), (1, 0), (4, 2), (0, 0), (2, 3)}
    free = sorted(k for k in p if k not in taken)
    laned = 0
    for k, plot in enumerate(free[: len(_LIGHT_INDUSTRY)]):
        label, staff = _LIGHT_INDUSTRY[k]
        risk = sites.risk((0.0, 0.1, 0.4, 0.5))
        key = ent(
            f"ent:park:light{k + 1:02d}",
            plot,
            label,
            "industry_trade",
            risk,
            int(staff * sites.rng.uniform(0.8, 1.25)),
        )
        if plot[1] % 2 == 0 and laned < 3:
            # A plot in the lower half of a block fronts the street to its south.
            x0, y0, x1, _y1 = p[plot].bounds
            lanes.loop(
                f"lane:park:light{k + 1:02d}",
                park.ys[plot[1] // 2],
                x0 + 25,
                x1 - 25,
                150,
                site_layer="enterprises",
                site_key=key,
                name="厂区环形消防车道",
                width_m=4.5 if laned else 6.0,
            )
            laned += 1
    # The last free plot: a chemicals trader that keeps no stock on site.
    last = free[len(_LIGHT_INDUSTRY)]
    ent("ent:park:chem_broker", last, "化工贸易有限公司", "hazchem_trade", "blue", 6)


def _address(park: Park, plot: tuple[int, int]) -> str:
    row = plot[1] // 2
    return f"{_EW_NAMES[row]}{(plot[0] + 1) * 8 + plot[1] % 2}号"
