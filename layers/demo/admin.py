"""Administrative layers of the demo: county outline, reserve extent, townships, settlements.

The county outline, the reserve's published coordinate range, township names and
codes, six township points, the county-seat coordinate and village names and codes
are real (cited in each ``source``); township polygons, two seats, populations and
village positions are synthetic and say so.
"""

from __future__ import annotations

from shapely.geometry import Point

from safemap.layers.demo.county import (
    BOUNDARY_SOURCE,
    NAME_SOURCE,
    POINT_SOURCE,
    VILLAGE_SOURCE,
    County,
)
from safemap.layers.demo.plan import Draft, Plan

TOWNSHIP_SOURCE = "synthetic: 乡镇界线为合成（驻地及锚点 Voronoi 裁剪至县界），人口为合成；名称与代码: " + NAME_SOURCE
SEAT_SOURCE = "synthetic: 无公开点位，驻地位置为合成；名称与代码: " + NAME_SOURCE
VILLAGE_POSITION_SOURCE = "synthetic: 村（社区、连队）位置与人口为合成；名称与代码: " + VILLAGE_SOURCE


def add_admin(plan: Plan, county: County) -> None:
    """Draft the boundary, reserve extent, townships and settlements."""
    plan.add(
        Draft(
            "admin_boundaries",
            "admin:county",
            {
                "name": "裕民县",
                "township": None,
                "source": BOUNDARY_SOURCE,
                "level": "county",
                "code": "654225",
            },
            county.boundary_lonlat,
            lonlat=True,
        )
    )
    plan.add(
        Draft(
            "admin_boundaries",
            "admin:reserve",
            {
                "name": "新疆巴尔鲁克山国家级自然保护区（公布坐标范围外包矩形，非保护区边界）",
                "source": "公布坐标范围 东经82°26′~83°13′、北纬45°42′~46°03′：" + county.reserve_source,
                "level": "reserve_extent",
            },
            county.reserve_bbox_lonlat,
            lonlat=True,
        )
    )
    for t in county.townships:
        plan.new(
            "townships",
            f"township:{t.code}",
            t.polygon,
            name=t.name,
            township=t.name,
            source=TOWNSHIP_SOURCE,
            code=t.code,
            kind=t.kind,
            population=t.population,
        )
    town_people = sum(v.population for v in county.villages if v.township == "哈拉布拉镇" or v.name == "团部")
    plan.add(
        Draft(
            "settlements",
            "settlement:county_seat",
            {
                "name": "裕民县城（县人民政府驻地）",
                "township": "哈拉布拉镇",
                "source": county.county_seat_source,
                "kind": "county_seat",
                "population": town_people,
            },
            Point(county.county_seat_lonlat),
            lonlat=True,
        )
    )
    for t in county.townships:
        props = {
            "name": f"{t.name}驻地",
            "township": t.name,
            "kind": "township_seat",
            "code": t.code,
        }
        if t.seat_real:
            props["source"] = POINT_SOURCE
            plan.add(Draft("settlements", f"settlement:{t.code}", props, Point(t.seat_lonlat), lonlat=True))
        else:
            props["source"] = SEAT_SOURCE
            plan.add(Draft("settlements", f"settlement:{t.code}", props, Point(t.seat)))
    for v in county.villages:
        plan.new(
            "settlements",
            f"settlement:{v.code}",
            Point(v.xy),
            name=v.name,
            township=v.township,
            source=VILLAGE_POSITION_SOURCE,
            kind="village",
            code=v.code,
            population=v.population,
        )
