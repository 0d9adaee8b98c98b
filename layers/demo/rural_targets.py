"""Protected targets outside the county seat: township seats, villages, herders' homes.

Each rural township seat gets its government office, central school, kindergarten,
health centre (卫生院) and market; each village is a ``village`` target with its
(synthetic) population, and the bigger villages have a village school.

Planted problems:

- P3 (GB 50156): a herder's house 7 m from the tank area of the 察汗托海牧场 station
  (grade 3, no vapour recovery: a class-3 protected building needs 10 m).
- P5: a herders' winter settlement 350 m from the copper mine's explosives store.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from safemap.layers.demo.county import County
from safemap.layers.demo.plan import Plan
from safemap.layers.demo.records import Spots
from safemap.layers.demo.roads import Rural
from safemap.layers.demo.shapes import bearing_of, offset_point, rect
from safemap.layers.demo.town_targets import target

_SEAT_TARGETS = (
    ("government", "{t}人民政府", (40, 90), 12.0),
    ("school", "{t}中心学校", (380, 820), 15.0),
    ("kindergarten", "{t}中心幼儿园", (90, 230), 7.5),
    ("hospital", "{t}卫生院", (40, 110), 9.0),
    ("market", "{t}集贸市场", (150, 600), 6.0),
)


class RuralTargets:
    """Drafts the targets of the rural townships and villages."""

    def __init__(self, plan: Plan, county: County, rural: Rural, spots: Spots, rng: np.random.Generator) -> None:
        self.plan, self.county, self.rural, self.spots, self.rng = plan, county, rural, spots, rng

    def build(self) -> None:
        """Draft seat targets, villages, village schools and the planted P3 and P5."""
        for t in self.county.townships:
            if t.name in ("哈拉布拉镇", "兵团农九师一六一团"):
                continue
            for k, (cat, pattern, (lo, hi), height) in enumerate(_SEAT_TARGETS):
                pop = int(self.rng.integers(lo, hi))
                name = pattern.format(t=t.name.removesuffix("牧场") + ("牧场" if t.kind == "farm" else ""))
                geom: BaseGeometry
                if cat == "school":
                    xy = self.spots.near(t.seat, 250, 700, clearance=110, spacing=160)
                    geom = affinity.rotate(rect(xy[0], xy[1], 140, 110), float(self.rng.uniform(-15, 15)))
                else:
                    geom = Point(self.spots.near(t.seat, 60, 450, clearance=20))
                target(
                    self.plan,
                    self.county,
                    f"pt:{t.code}:{k}",
                    geom,
                    cat,
                    name,
                    pop,
                    height,
                    f"裕民县{t.name}",
                )
        schools = 0
        for v in self.county.villages:
            if self.county.town_box.buffer(300).contains(Point(v.xy)):
                continue
            short = v.name.removesuffix("村委会")
            target(
                self.plan,
                self.county,
                f"pt:village:{v.code}",
                Point(v.xy),
                "village",
                short,
                v.population,
                4.0,
                f"裕民县{v.township}{short}",
            )
            if v.population >= 550 and schools < 14:
                schools += 1
                xy = self.spots.near(v.xy, 120, 450, clearance=20)
                target(
                    self.plan,
                    self.county,
                    f"pt:village_school:{v.code}",
                    Point(xy),
                    "school",
                    f"{short}小学（教学点）",
                    int(self.rng.integers(40, 160)),
                    6.0,
                    f"裕民县{v.township}{short}",
                )
        self._planted_p3()
        self._planted_p5()

    def _planted_p3(self) -> None:
        route, d, side = self.plan.marks["p3_road"]
        line = self.rural.routes[route]
        # The tank area is 14 m × 9 m centred 62 m off the road; the house (12 × 8 m)
        # stands behind it, their facing walls 7 m apart.
        cx, cy = offset_point(line, d + 15, side * (62 + 4.5 + 7 + 4))
        house = affinity.rotate(rect(cx, cy, 12, 8), bearing_of(line, d), origin=(cx, cy))
        target(
            self.plan,
            self.county,
            "pt:p3:house",
            house,
            "residential",
            "察汗托海牧场牧民住宅（加油站罐区旁）",
            5,
            3.5,
            "裕民县察汗托海牧场",
        )

    def _planted_p5(self) -> None:
        store: shapely.Polygon = self.plan.marks["explosives_store"]
        c = store.centroid
        for k in range(36):
            a = math.radians(10 * k + 5)
            probe = Point(c.x + 420 * math.cos(a), c.y + 420 * math.sin(a))
            camp = probe.buffer(25, quad_segs=4)
            # Slide it so the nearest edges are 350 m apart.
            gap = store.distance(camp)
            ux, uy = math.cos(a), math.sin(a)
            camp = affinity.translate(camp, -(gap - 350.0) * ux, -(gap - 350.0) * uy)
            if not len(self.spots.tree.query(camp, predicate="dwithin", distance=30)):
                target(
                    self.plan,
                    self.county,
                    "pt:p5:camp",
                    camp,
                    "residential",
                    "牧民冬窝子定居点（矿区炸药库附近）",
                    26,
                    3.5,
                    "裕民县察汗托海牧场矿区",
                )
                return
        raise RuntimeError("no place for the planted winter settlement")
