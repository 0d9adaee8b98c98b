"""Attribute table of the fire-access review and coverage report: every number with its clause.

``fire_access_rules`` holds one row per rule or parameter (lane width ≥ 4.0 m, slope ≤ 8 %,
turnaround 12/15/18 m, hydrant radius 150 m and spacing 120 m, the 5-minute response…),
seeded from ``data/standards/fire_access_rules.csv`` when the store first creates it and
edited by an admin through ``/api/layers/fire_access_rules`` like any layer. The review
(``api/routes_coverage.py`` → ``gis/fire_access.py``) reads it at run time, so a corrected
number or clause takes effect without a release.
"""

from __future__ import annotations

from safemap.layers.catalogue import Field, Layer, common_fields
from safemap.layers.enums import enum_of

STANDARDS = "标准与参数"


#: The rules and parameters the review knows; each code appears once in the table.
ACCESS_RULE = enum_of(
    "access_rule",
    ("lane_width", "消防车道净宽"),
    ("lane_clear_height", "消防车道净空高度"),
    ("lane_slope", "消防车道坡度"),
    ("lane_obstructed", "消防车道占用、堵塞"),
    ("lane_load", "消防车道承载能力"),
    ("turnaround", "尽头式消防车道回车场"),
    ("turnaround_high_rise", "高层建筑回车场"),
    ("turnaround_heavy", "重型消防车回车场"),
    ("high_rise_residential", "高层住宅建筑高度"),
    ("high_rise_other", "高层公共建筑高度"),
    ("heavy_vehicle_building", "需重型消防车的建筑高度"),
    ("hydrant_cover", "市政消火栓保护半径"),
    ("hydrant_spacing", "市政消火栓间距"),
    ("hydrant_status", "消火栓完好"),
    ("hydrant_zone", "市政消火栓供水区范围"),
    ("response_time", "消防站到场时间"),
    ("turnout_time", "出动准备时间"),
    ("depot_reach", "物资储备库到达时间"),
)

FIRE_ACCESS_RULES = Layer(
    name="fire_access_rules",
    label="消防通道与覆盖核查规则",
    group=STANDARDS,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("code", "enum", "规则", required=True, enum=ACCESS_RULE),
        Field("value", "float", "限值", required=True, minimum=0, maximum=100_000),
        Field("unit", "str", "单位", required=True, max_length=20),
        Field("standard", "str", "标准", required=True, max_length=100),
        Field("clause", "str", "条款", required=True, max_length=100),
        Field("note", "str", "说明", max_length=500),
    ),
    style=None,
    editors=frozenset({"admin"}),
    seed="standards/fire_access_rules.csv",
    description="Limits of the fire-access review and the coverage report, with the clause each comes from.",
)

COVERAGE_TABLES: tuple[Layer, ...] = (FIRE_ACCESS_RULES,)
