"""Emergency forces of the demo: rescue teams, material depots, hydrants and past incidents.

Figures from the county's 2021–2025 work-safety plan: 180 rescuers in all and a
county emergency-materials depot of 8,350 m² holding 5 rescue vehicles and 2
forklifts. Everything else (team names, positions, vehicles, stock) is synthetic.

Hydrants line the county seat's arterial and secondary streets (and a few branch
streets) every 100–120 m; three stretches have gaps of more than 150 m
(:data:`HYDRANT_GAPS`), which the fire-access review should report.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import numpy as np
from shapely.geometry import Point

from safemap.layers.demo.county import County
from safemap.layers.demo.identities import person, phone
from safemap.layers.demo.mines import MINING_HUB
from safemap.layers.demo.park import Park
from safemap.layers.demo.plan import Plan
from safemap.layers.demo.records import Spots
from safemap.layers.demo.roads import Rural
from safemap.layers.demo.shapes import XY, lonlat_to_xy
from safemap.layers.demo.town import EW_STREETS, NS_STREETS, Town

TEAM_SOURCE = "synthetic: 虚构救援队伍（名称、驻地、人数与装备为演示数据；总人数 180 人取自县安全生产规划）"
DEPOT_SOURCE = "synthetic: 虚构物资储备库（位置与库存为演示数据；县级库 8350 m²、救援车 5 辆、叉车 2 台取自县规划）"
HYDRANT_SOURCE = "synthetic: 虚构市政消火栓（位置、流量与状态为演示数据）"
INCIDENT_SOURCE = "synthetic: 虚构历史事件（用于演示，非真实事故）"

TOTAL_RESCUERS = 180
COUNTY_DEPOT_AREA_M2 = 8350.0
#: Streets with a planted hydrant gap: (axis, street index, gap start as a fraction of the street).
HYDRANT_GAPS: tuple[tuple[str, int, float], ...] = (
    ("ew", 3, 0.22),
    ("ns", 0, 0.6),
    ("ns", 15, 0.35),
)

_COUNTY_STOCK: tuple[tuple[str, str, str, float], ...] = (
    ("抢险救援车", "vehicle", "辆", 5),
    ("叉车", "vehicle", "台", 2),
    ("救灾帐篷（12 m²）", "shelter", "顶", 300),
    ("棉被", "shelter", "床", 2000),
    ("折叠床", "shelter", "张", 800),
    ("棉大衣", "shelter", "件", 1000),
    ("移动发电机组（30 kW）", "power_lighting", "台", 6),
    ("移动照明灯塔", "power_lighting", "台", 8),
    ("手提式应急照明灯", "power_lighting", "个", 200),
    ("大流量排水泵车用水泵", "rescue_tools", "台", 6),
    ("潜水泵", "rescue_tools", "台", 20),
    ("重型防化服", "hazmat", "套", 20),
    ("轻型防化服", "hazmat", "套", 60),
    ("正压式空气呼吸器", "hazmat", "套", 30),
    ("吸附棉", "hazmat", "t", 2),
    ("编织袋（沙袋）", "rescue_tools", "条", 20000),
    ("铁锹", "rescue_tools", "把", 500),
    ("ABC干粉灭火器（4 kg）", "fire_fighting", "具", 300),
    ("风力灭火机", "fire_fighting", "台", 40),
    ("卫星电话", "communication", "部", 6),
    ("对讲机", "communication", "部", 60),
    ("急救箱", "medical", "个", 100),
    ("瓶装饮用水", "food_water", "箱", 1500),
    ("方便食品", "food_water", "箱", 1000),
    ("救生衣", "other", "件", 200),
)
_TOWNSHIP_STOCK: tuple[tuple[str, str, str, float], ...] = (
    ("救灾帐篷（12 m²）", "shelter", "顶", 30),
    ("棉被", "shelter", "床", 200),
    ("移动发电机组（10 kW）", "power_lighting", "台", 1),
    ("移动照明灯", "power_lighting", "台", 4),
    ("潜水泵", "rescue_tools", "台", 2),
    ("ABC干粉灭火器（4 kg）", "fire_fighting", "具", 50),
    ("铁锹", "rescue_tools", "把", 100),
    ("编织袋（沙袋）", "rescue_tools", "条", 2000),
    ("急救箱", "medical", "个", 10),
    ("瓶装饮用水", "food_water", "箱", 100),
)


class Forces:
    """Drafts rescue teams, depots, hydrants and incidents."""

    def __init__(
        self,
        plan: Plan,
        county: County,
        town: Town,
        park: Park,
        rural: Rural,
        spots: Spots,
        rng: np.random.Generator,
    ) -> None:
        self.plan, self.county, self.town, self.park = plan, county, town, park
        self.rural, self.spots, self.rng = rural, spots, rng

    def build(self) -> None:
        """Draft everything this module is responsible for."""
        self.teams()
        self.depots()
        self.hydrants()
        self.incidents()

    def _block_point(self, block: tuple[int, int], dx: float = 0.0, dy: float = 0.0) -> XY:
        c = self.town.blocks[block].polygon.centroid
        return c.x + dx, c.y + dy

    def _team(
        self,
        key: str,
        xy: XY,
        name: str,
        kind: str,
        headcount: int,
        vehicles: list[tuple[str, int]],
        specialties: str,
    ) -> None:
        draft = self.plan.new(
            "rescue_teams",
            key,
            Point(xy),
            name=name,
            township=self.county.township_at(xy),
            source=TEAM_SOURCE,
            kind=kind,
            headcount=headcount,
            status="available",
            phone=phone(self.rng),
            specialties=specialties,
        )
        draft.children["vehicles"] = [{"profile": p, "count": n} for p, n in vehicles]

    def teams(self) -> None:
        """Draft the county fire station, specialist and township teams: 180 rescuers in all."""
        park = self.park.plots
        hub = lonlat_to_xy(*MINING_HUB)
        plan: list[tuple[str, XY, str, str, int, list[tuple[str, int]], str]] = [
            (
                "team:fire_station",
                self._block_point((11, 3)),
                "裕民县消防救援大队城区消防救援站",
                "fire_station",
                45,
                [
                    ("fire_engine", 3),
                    ("foam_engine", 1),
                    ("aerial_ladder", 1),
                    ("rescue", 1),
                    ("command", 1),
                ],
                "建筑火灾扑救、抢险救援、高层建筑灭火",
            ),
            (
                "team:park_fire",
                _shift(park[(1, 3)].centroid.coords[0], -40, 30),
                "裕民县工业园区专职消防队",
                "professional_fire",
                15,
                [("foam_engine", 2), ("fire_engine", 1)],
                "化工火灾扑救、泡沫灭火",
            ),
            (
                "team:hazmat",
                _shift(park[(2, 2)].centroid.coords[0], 40, 30),
                "裕民县危险化学品应急救援队",
                "hazmat",
                12,
                [("hazmat", 1), ("rescue", 1), ("foam_engine", 1)],
                "泄漏堵漏、洗消、有毒气体侦检",
            ),
            (
                "team:mine_rescue",
                (hub[0] + 350, hub[1] + 250),
                "裕民县矿山应急救援队",
                "mine_rescue",
                15,
                [("mine_rescue", 2), ("command", 1), ("ambulance", 1)],
                "井下救援、尾矿库险情处置、爆破器材事故",
            ),
            (
                "team:hospital",
                self._block_point((6, 4), 60, -40),
                "裕民县人民医院急救中心",
                "medical",
                12,
                [("ambulance", 3)],
                "院前急救、批量伤员救治",
            ),
            (
                "team:tcm_hospital",
                self._block_point((13, 5), 40, 30),
                "裕民县中医医院医疗救护队",
                "medical",
                8,
                [("ambulance", 1)],
                "院前急救",
            ),
            (
                "team:forest",
                self.spots.near(self.county.township("哈拉布拉乡").seat, 600, 1500),
                "巴尔鲁克山森林草原消防队",
                "forest_fire",
                20,
                [("fire_engine", 2), ("command", 1), ("materials_truck", 1)],
                "森林草原火灾扑救",
            ),
            (
                "team:oil_depot",
                cast(XY, park[(4, 0)].centroid.coords[0]),  # a 2-D point's one coordinate pair
                "石油产品储运公司企业专职消防队",
                "enterprise_brigade",
                6,
                [("foam_engine", 1)],
                "储罐火灾初期扑救",
            ),
            (
                "team:copper_mine",
                lonlat_to_xy(82.5640, 45.6380),
                "铜矿企业兼职救护队",
                "enterprise_brigade",
                4,
                [("rescue", 1)],
                "矿山初期事故处置",
            ),
            (
                "team:161",
                self._block_point((4, 4)),
                "一六一团专职消防队",
                "professional_fire",
                8,
                [("fire_engine", 1), ("rescue", 1)],
                "团场火灾扑救",
            ),
        ]
        crews = {
            "新地乡": 6,
            "阿勒腾也木勒乡": 6,
            "江格斯乡": 6,
            "吉也克镇": 6,
            "哈拉布拉乡": 6,
            "察汗托海牧场": 5,
        }
        for tname, n in crews.items():
            t = self.county.township(tname)
            plan.append(
                (
                    f"team:{t.code}",
                    self.spots.near(t.seat, 80, 400),
                    f"{tname}专职消防队",
                    "professional_fire",
                    n,
                    [("fire_engine", 1)],
                    "乡镇火灾扑救、抢险救援",
                )
            )
        total = sum(item[4] for item in plan)
        if total != TOTAL_RESCUERS:
            raise AssertionError(f"demo teams hold {total} rescuers, the county plan says {TOTAL_RESCUERS}")
        for item in plan:
            self._team(*item)

    def _depot(
        self,
        key: str,
        xy: XY,
        name: str,
        level: str,
        area: float,
        stock: tuple[tuple[str, str, str, float], ...],
        scale: float = 1.0,
    ) -> None:
        draft = self.plan.new(
            "material_depots",
            key,
            Point(xy),
            name=name,
            township=self.county.township_at(xy),
            source=DEPOT_SOURCE,
            level=level,
            area_m2=area,
            manager=person(self.rng),
            phone=phone(self.rng),
        )
        rows: list[dict[str, Any]] = []
        for item, cat, unit, qty in stock:
            q = qty if cat == "vehicle" else max(1.0, float(round(qty * scale)))
            rows.append({"item": item, "category": cat, "unit": unit, "quantity": float(q)})
        draft.children["inventory"] = rows

    def depots(self) -> None:
        """Draft the county depot, one per rural township and the regiment, and the park's store."""
        self._depot(
            "depot:county",
            self._block_point((14, 9)),
            "裕民县应急物资储备库",
            "county",
            COUNTY_DEPOT_AREA_M2,
            _COUNTY_STOCK,
        )
        for t in self.county.townships:
            if t.name == "哈拉布拉镇":
                continue
            xy = self._block_point((4, 4), 0, -60) if t.kind == "regiment" else self.spots.near(t.seat, 100, 500)
            area = float(round(self.rng.uniform(150, 420)))
            self._depot(
                f"depot:{t.code}",
                xy,
                f"{t.name}应急物资储备点",
                "township",
                area,
                _TOWNSHIP_STOCK,
                float(self.rng.uniform(0.7, 1.5)),
            )
        self._depot(
            "depot:park",
            _shift(self.park.plots[(2, 2)].centroid.coords[0], -40, -30),
            "工业园区企业联防应急物资库",
            "enterprise",
            600.0,
            (
                ("水成膜泡沫灭火剂", "fire_fighting", "t", 10),
                ("吸附棉", "hazmat", "t", 1),
                ("重型防化服", "hazmat", "套", 10),
                ("堵漏工具组", "hazmat", "套", 4),
                ("洗消帐篷", "hazmat", "顶", 2),
                ("移动式消防炮", "fire_fighting", "门", 4),
            ),
        )

    def hydrants(self) -> None:
        """Hydrants along the town's main streets (with planted gaps) and in the park."""
        xs, ys = self.town.xs, self.town.ys
        gaps = {(a, i): f for a, i, f in HYDRANT_GAPS}
        for axis, spec, fixed, span, cross in (
            ("ns", NS_STREETS, xs, ys, ys),
            ("ew", EW_STREETS, ys, xs, xs),
        ):
            for i, (cls, name) in enumerate(spec):
                if cls == "urban_branch" and i % 3:
                    continue
                spacing = 120.0 if cls == "urban_branch" else 110.0
                side = self.town.width_of(axis, i) / 2 + 1.5
                pos = span[0] + float(self.rng.uniform(10, 50))
                gap = gaps.get((axis, i))
                k = 0
                while pos < span[-1] - 10:
                    # Keep hydrants out of the junctions (cross streets' carriageways).
                    if min(abs(pos - c) for c in cross) < 16:
                        pos += 16
                        continue
                    frac = (pos - span[0]) / (span[-1] - span[0])
                    if gap is not None and gap <= frac < gap + 0.085:
                        pos += spacing
                        continue
                    xy = (fixed[i] + side, pos) if axis == "ns" else (pos, fixed[i] - side)
                    k += 1
                    self._hydrant(f"hydrant:{axis}{i:02d}:{k:02d}", xy, f"{name}{k:02d}号消火栓")
                    pos += spacing + float(self.rng.uniform(-8, 8))
        for j, y in enumerate(self.park.ys):
            x = self.park.xs[0] + 40.0
            k = 0
            while x < self.park.xs[-1] - 20:
                k += 1
                self._hydrant(
                    f"hydrant:park{j}:{k:02d}",
                    (x, y + 9.0),
                    f"园区纬{'一二三'[j]}路{k:02d}号消火栓",
                )
                x += 95.0

    def _hydrant(self, key: str, xy: XY, name: str) -> None:
        r = self.rng.random()
        status = "damaged" if r < 0.03 else "no_water" if r < 0.05 else "ok"
        inspected = dt.date(2025, 4, 1) + dt.timedelta(days=int(self.rng.integers(0, 200)))
        self.plan.new(
            "hydrants",
            key,
            Point(xy),
            name=name,
            township=self.county.township_at(xy),
            source=HYDRANT_SOURCE,
            kind="underground" if self.rng.random() < 0.6 else "above_ground",
            flow_lps=float(self.rng.choice([10.0, 15.0, 15.0, 20.0])),
            pressure_mpa=round(float(self.rng.uniform(0.14, 0.35)), 2),
            status=status,
            inspected_at=inspected.isoformat(),
        )

    def incidents(self) -> None:
        """Three past incidents, each now closed or under control."""
        furniture = self.plan.get("ent:town:light06").geom
        assert isinstance(furniture, Point)  # the enterprise is drafted as a point
        shop = self._block_point((10, 6), -40, 20)
        g219 = self.rural.routes["g219_north"]
        crash = g219.interpolate(6400.0)
        items = (
            (
                "incident:2025_fire",
                (furniture.x + 15, furniture.y + 10),
                "家具制造企业仓库火灾",
                "fire",
                "closed",
                "2025-08-14T14:20:00+08:00",
                0,
                "木材仓库因电气线路故障起火，城区消防救援站出动 4 车 22 人，1 小时内扑灭，无人员伤亡。",
            ),
            (
                "incident:2025_leak",
                shop,
                "商业步行街餐馆液化气钢瓶泄漏",
                "leak",
                "closed",
                "2025-11-26T19:05:00+08:00",
                1,
                "餐馆液化石油气钢瓶角阀泄漏，疏散周边群众约 300 人，1 人轻度烧伤。",
            ),
            (
                "incident:2026_tanker",
                (crash.x, crash.y),
                "G219线油罐车侧翻柴油泄漏",
                "traffic",
                "controlled",
                "2026-01-18T08:40:00+08:00",
                2,
                "一辆柴油罐车在 G219 线冰雪路面侧翻，约 3 t 柴油泄漏，已围堵并转驳，2 人受伤。",
            ),
        )
        for key, xy, name, kind, status, at, casualties, text in items:
            self.plan.new(
                "incidents",
                key,
                Point(xy),
                name=name,
                township=self.county.township_at(xy),
                source=INCIDENT_SOURCE,
                kind=kind,
                status=status,
                reported_at=at,
                severity="general",
                casualties=casualties,
                description=text,
            )


def _shift(xy: tuple[float, ...], dx: float, dy: float) -> XY:
    return float(xy[0]) + dx, float(xy[1]) + dy
