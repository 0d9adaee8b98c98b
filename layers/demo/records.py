"""Drafting helpers shared by the site modules: enterprises and their hazard sources.

Every record drafted here is synthetic, and its ``source`` says so and what is made up.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from safemap.layers.demo.county import County
from safemap.layers.demo.identities import credit_code, person, phone
from safemap.layers.demo.plan import Draft, Plan
from safemap.layers.demo.shapes import XY

ENTERPRISE_SOURCE = "synthetic: 虚构企业（名称、信用代码、位置、人员与联系方式均为演示数据）"
HAZARD_SOURCE = "synthetic: 虚构危险源（位置、装置与物质数量均为演示数据；物质名称与CAS号真实）"
UNIT_SOURCE = "synthetic: 虚构危险化学品单元（防火堤/仓库范围与所含危险源均为演示数据）"
INDIVIDUAL_SOURCE = "synthetic: 虚构个体经营户（名称、信用代码、位置与联系方式均为演示数据）"


class Sites:
    """Adds enterprises and hazard sources to a :class:`Plan` with consistent synthetic details."""

    def __init__(self, plan: Plan, county: County, rng: np.random.Generator) -> None:
        self.plan = plan
        self.county = county
        self.rng = rng

    def enterprise(
        self,
        key: str,
        xy: XY,
        name: str,
        industry: str,
        risk: str,
        employees: int,
        *,
        park: str | None = None,
        address: str | None = None,
        individual: bool = False,
    ) -> Draft:
        """Draft an enterprise (a point at ``xy``, metres) with a valid credit code.

        Parameters
        ----------
        employees
            Number of people employed (persons).
        individual
            A 个体工商户 (credit code type 92) rather than a company.
        """
        township = self.county.township_at(xy)
        return self.plan.new(
            "enterprises",
            key,
            Point(xy),
            name=name,
            township=township,
            source=INDIVIDUAL_SOURCE if individual else ENTERPRISE_SOURCE,
            credit_code=credit_code(self.rng, individual=individual),
            industry=industry,
            risk_level=risk,
            employees=int(employees),
            contact=person(self.rng),
            phone=phone(self.rng),
            park=park,
            address=address or f"裕民县{township}",
        )

    def hazard(
        self,
        key: str,
        enterprise_key: str,
        geom: BaseGeometry,
        name: str,
        kind: str,
        substances: list[dict[str, Any]],
        *,
        unit_key: str | None = None,
        **extra: Any,
    ) -> Draft:
        """Draft a hazard source of ``enterprise_key`` holding ``substances`` (rows in tonnes).

        ``unit_key`` names the GB 18218 unit (a :meth:`unit` draft) the source belongs to.
        """
        c = geom.centroid
        draft = self.plan.new(
            "hazard_sources",
            key,
            geom,
            name=name,
            township=self.county.township_at((c.x, c.y)),
            source=HAZARD_SOURCE,
            kind=kind,
            plant_status=extra.pop("plant_status", "existing"),
            **extra,
        )
        draft.children["substances"] = substances
        draft.refs["enterprise_id"] = enterprise_key
        if unit_key is not None:
            draft.refs["unit_id"] = unit_key
        return draft

    def unit(self, key: str, enterprise_key: str, geom: BaseGeometry, name: str, unit_kind: str) -> Draft:
        """Draft a GB 18218 unit (储存单元/生产单元) of ``enterprise_key``; ``geom`` is its outline (metres)."""
        c = geom.centroid
        draft = self.plan.new(
            "hazard_units",
            key,
            geom,
            name=name,
            township=self.county.township_at((c.x, c.y)),
            source=UNIT_SOURCE,
            unit_kind=unit_kind,
        )
        draft.refs["enterprise_id"] = enterprise_key
        return draft

    def risk(self, weights: tuple[float, float, float, float]) -> str:
        """Draw a four-colour risk level with ``weights`` for (red, orange, yellow, blue)."""
        p = np.asarray(weights, dtype=float)
        return str(self.rng.choice(["red", "orange", "yellow", "blue"], p=p / p.sum()))


class Spots:
    """Finds free places for point sites: clear of roads and of each other."""

    def __init__(self, road_geoms: list[BaseGeometry], rng: np.random.Generator) -> None:
        self.tree = shapely.STRtree(road_geoms)
        self.rng = rng
        self.taken: list[XY] = []

    def near(
        self,
        xy: XY,
        r_min: float,
        r_max: float,
        *,
        clearance: float = 25.0,
        spacing: float = 40.0,
        within: BaseGeometry | None = None,
    ) -> XY:
        """Find a point ``r_min``–``r_max`` metres from ``xy`` and ``clearance`` metres from roads.

        Parameters
        ----------
        spacing
            Least distance (metres) from places handed out before.
        within
            Optional area the point must fall in.
        """
        for attempt in range(3000):
            grow = 1 + attempt / 600
            r = float(self.rng.uniform(r_min, r_max)) * grow
            a = float(self.rng.uniform(0, 2 * np.pi))
            cand = (xy[0] + r * np.cos(a), xy[1] + r * np.sin(a))
            p = Point(cand)
            if within is not None and not within.contains(p):
                continue
            if len(self.tree.query(p, predicate="dwithin", distance=clearance)):
                continue
            if any((cand[0] - q[0]) ** 2 + (cand[1] - q[1]) ** 2 < spacing**2 for q in self.taken):
                continue
            self.taken.append(cand)
            return cand
        raise RuntimeError(f"no free place near {xy}")
