"""The layers of SafeMap, each described once (DESIGN.md, data model).

Order matters: it is the drawing order on the map (areas under lines under points)
and the order of the catalogue in the API.
"""

from __future__ import annotations

from typing import Any

from safemap.layers import enums
from safemap.layers.allocation_tables import ALLOCATION_TABLES
from safemap.layers.catalogue import ChildTable, Field, GeometryType, Layer, Style, common_fields
from safemap.layers.checks import cas_error, credit_code_error
from safemap.layers.coverage_tables import COVERAGE_TABLES
from safemap.layers.incident_tables import INCIDENT_FIELDS, INCIDENT_TABLES
from safemap.layers.live_layers import LIVE_DATA_LAYERS
from safemap.layers.network_tables import NETWORK_TABLES
from safemap.layers.park_tables import PARK_LAYERS
from safemap.layers.prevention_tables import PREVENTION, PREVENTION_LAYERS, PREVENTION_STANDARDS
from safemap.layers.standards_tables import STANDARDS_TABLES
from safemap.layers.target_class_rules import TARGET_CLASS_TABLES
from safemap.layers.warning_layers import WARNING_LAYERS
from safemap.layers.warning_tables import WARNING_TABLES
from safemap.layers.wind_tables import WIND_TABLES

RISK = "风险源"
TARGETS = "防护目标"
FORCES = "救援力量"
ROADS = "道路与消防车道"
ADMIN = "行政区划"
EVENTS = "应急事件"
GROUPS: tuple[str, ...] = (RISK, TARGETS, FORCES, ROADS, ADMIN, EVENTS, PREVENTION)

PLANNERS = frozenset({"planner", "admin"})
DISPATCH = frozenset({"dispatcher", "admin"})
FIRE = frozenset({"fire", "admin"})


def _fmt_qty(value: Any) -> str:
    if value is None:
        return "?"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _flash_note(row: dict[str, Any]) -> str:
    if row.get("flash_point_c") is None:
        return ""
    return f"（闪点 {_fmt_qty(row.get('flash_point_c'))} ℃）"


SUBSTANCES = ChildTable(
    "substances",
    "危险物质",
    (
        Field("name", "str", "物质名称", required=True, max_length=100),
        Field("cas", "str", "CAS号", max_length=20, check=cas_error),
        Field(
            "hazard_class",
            "enum",
            "危险性类别",
            enum=enums.HAZARD_CLASS,
            description="GB 18218-2018 Table 2 class; used when the substance is not in Table 1.",
        ),
        Field(
            "quantity_t",
            "float",
            "最大储存量",
            required=True,
            unit="t",
            minimum=0,
            description="Design maximum quantity in tonnes (GB 18218 works in t; 1 t = 1000 kg).",
        ),
        Field(
            "flash_point_c",
            "float",
            "闪点",
            unit="℃",
            minimum=-100,
            maximum=400,
            description=(
                "Closed-cup flash point. For a liquid not in GB 18218 Table 1 it decides the Table 2 class: "
                "< 23 ℃ W5.3 (W5.1 when the initial boiling point is ≤ 35 ℃), 23–60 ℃ W5.4, "
                "> 60 ℃ outside GB 18218 (listed, not counted)."
            ),
        ),
        Field(
            "boiling_point_c",
            "float",
            "初沸点",
            unit="℃",
            minimum=-273,
            maximum=1000,
            description="Initial boiling point; with a flash point < 23 ℃, ≤ 35 ℃ makes the liquid W5.1.",
        ),
    ),
    summary=lambda r: f"{r.get('name')} {_fmt_qty(r.get('quantity_t'))} t" + _flash_note(r),
)

VEHICLES = ChildTable(
    "vehicles",
    "车辆装备",
    (
        Field("profile", "enum", "车辆类型", required=True, enum=enums.VEHICLE_PROFILE),
        Field("count", "int", "数量", required=True, unit="辆", minimum=1, maximum=500),
        Field("note", "str", "备注", max_length=200),
    ),
    summary=lambda r: f"{enums.VEHICLE_PROFILE.label(r.get('profile'))}×{r.get('count')}",
)

INVENTORY = ChildTable(
    "inventory",
    "储备物资",
    (
        Field("item", "str", "物资名称", required=True, max_length=100),
        Field("category", "enum", "物资类别", enum=enums.MATERIAL_CATEGORY),
        Field("unit", "str", "计量单位", required=True, max_length=20),
        Field("quantity", "float", "数量", required=True, minimum=0),
    ),
    summary=lambda r: f"{r.get('item')} {_fmt_qty(r.get('quantity'))}{r.get('unit') or ''}",
)

POLY: tuple[GeometryType, ...] = ("Polygon", "MultiPolygon")


def _graded_fields(whose: str) -> tuple[Field, ...]:
    """The computed GB 18218 fields (S, R, grade, exposed population) ``whose`` they are."""
    return (
        Field("s_value", "float", "辨识指标S", computed=True, description=f"GB 18218 S = Σ q/Q {whose}."),
        Field("r_value", "float", "分级指标R", computed=True, description=f"GB 18218 R = α Σ β q/Q {whose}."),
        Field(
            "grade",
            "int",
            "重大危险源等级",
            computed=True,
            minimum=1,
            maximum=4,
            description=f"1–4 (一级–四级) when S ≥ 1 {whose}; empty when not a major hazard source.",
        ),
        Field(
            "exposed_population",
            "int",
            "500m内暴露人员",
            unit="人",
            minimum=0,
            computed=True,
            description=f"People in protected targets within 500 m {whose} (for α).",
        ),
    )


LAYERS: tuple[Layer, ...] = (
    Layer(
        name="admin_boundaries",
        label="行政边界",
        group=ADMIN,
        geometry_types=POLY,
        fields=(
            *common_fields(),
            Field("level", "enum", "级别", required=True, enum=enums.BOUNDARY_LEVEL),
            Field("code", "str", "区划代码", max_length=12, pattern=r"\d{6}(\d{3})?"),
        ),
        style=Style("line", "#5d4037", by="level", weight=3, dash_when=("level", "reserve_extent")),
        editors=frozenset({"admin"}),
        description="County outline (real, DataV/AutoNavi) and reference extents.",
    ),
    Layer(
        name="townships",
        label="乡镇",
        group=ADMIN,
        geometry_types=POLY,
        fields=(
            *common_fields(),
            Field("code", "str", "区划代码", required=True, max_length=9, pattern=r"\d{9}"),
            Field("kind", "enum", "类型", required=True, enum=enums.TOWNSHIP_KIND),
            Field("population", "int", "人口", unit="人", minimum=0),
        ),
        style=Style("fill", "#8d6e63", weight=1, fill_opacity=0.04, labels=True),
        editors=frozenset({"admin"}),
    ),
    Layer(
        name="protected_targets",
        label="防护目标",
        group=TARGETS,
        geometry_types=("Point", *POLY),
        fields=(
            *common_fields(),
            Field("category", "enum", "类别", required=True, enum=enums.TARGET_CATEGORY),
            Field("gb36894_class", "enum", "防护目标类别(GB 36894)", enum=enums.GB36894_CLASS),
            Field("gb50156_class", "enum", "保护物类别(GB 50156)", enum=enums.GB50156_CLASS),
            Field("population", "int", "人数", unit="人", minimum=0, maximum=1_000_000),
            Field("height_m", "float", "建筑高度", unit="m", minimum=0, maximum=700),
            Field("address", "str", "地址", max_length=200),
        ),
        style=Style("circle", "#43a047", by="category", radius=5, cluster=True),
        editors=PLANNERS,
    ),
    Layer(
        name="roads",
        label="道路",
        group=ROADS,
        geometry_types=("LineString",),
        fields=(
            *common_fields(),
            Field("road_class", "enum", "道路等级", required=True, enum=enums.ROAD_CLASS),
            Field("ref", "str", "路线编号", max_length=20, description="e.g. G219"),
            Field("speed_kmh", "float", "设计车速", unit="km/h", minimum=1, maximum=130),
            Field("oneway", "bool", "单行", description="True: passable only in drawing order."),
            Field("width_m", "float", "路面宽度", unit="m", minimum=0, maximum=100),
            Field("max_height_m", "float", "限高", unit="m", minimum=0, maximum=20),
            Field("max_weight_t", "float", "限重", unit="t", minimum=0, maximum=200),
            Field("status", "enum", "通行状态", required=True, enum=enums.ROAD_STATUS),
        ),
        style=Style(
            "line",
            "#9e9e9e",
            by="road_class",
            weight=2,
            dash_when=("status", "closed"),
            width_by={
                "national": 5,
                "provincial": 4,
                "county": 3.5,
                "urban_arterial": 4,
                "urban_secondary": 3,
            },
        ),
        editors=frozenset({"planner", "dispatcher", "admin"}),
    ),
    Layer(
        name="fire_lanes",
        label="消防车道",
        group=ROADS,
        geometry_types=("LineString",),
        fields=(
            *common_fields(),
            Field("width_m", "float", "净宽", unit="m", minimum=0, maximum=50),
            Field("clear_height_m", "float", "净空高度", unit="m", minimum=0, maximum=50),
            Field(
                "slope_pct",
                "float",
                "纵向坡度",
                unit="%",
                minimum=0,
                maximum=100,
                description="Empty: taken from the DEM by the fire-access review.",
            ),
            Field("dead_end", "bool", "尽头式车道"),
            Field("turnaround_length_m", "float", "回车场长度", unit="m", minimum=0, maximum=200),
            Field("turnaround_width_m", "float", "回车场宽度", unit="m", minimum=0, maximum=200),
            Field("max_weight_t", "float", "承载能力", unit="t", minimum=0, maximum=200),
            Field("obstructed", "bool", "占用/堵塞"),
            Field("site_layer", "enum", "所属场所类型", enum=enums.SITE_LAYER),
            Field("site_id", "int", "所属场所编号", minimum=1),
            Field("inspected_at", "date", "检查日期"),
        ),
        style=Style("line", "#d32f2f", weight=3, dash_when=("obstructed", True)),
        editors=FIRE,
    ),
    Layer(
        name="hazard_units",
        label="危险化学品单元",
        group=RISK,
        geometry_types=POLY,
        fields=(
            *common_fields(),
            Field("enterprise_id", "int", "所属企业编号", required=True, references="enterprises"),
            Field("unit_kind", "enum", "单元类型", required=True, enum=enums.UNIT_KIND),
            *_graded_fields("of the whole unit"),
        ),
        style=Style("fill", "#ff6f00", by="unit_kind", weight=2, fill_opacity=0.12),
        editors=PLANNERS,
        description=(
            "GB 18218-2018 units: a storage unit (储存单元: one tank farm within a dike or fire wall, or one "
            "warehouse) or a production unit (生产单元: bounded by shut-off valves). Hazard sources name their "
            "unit in unit_id; S, R and grade are computed for the unit as a whole, the exposed population within "
            "500 m of this outline."
        ),
    ),
    Layer(
        name="hazard_sources",
        label="危险源",
        group=RISK,
        geometry_types=("Point", *POLY),
        fields=(
            *common_fields(),
            Field("enterprise_id", "int", "所属企业编号", required=True, references="enterprises"),
            Field(
                "unit_id",
                "int",
                "所属危险化学品单元编号",
                references="hazard_units",
                description=(
                    "The GB 18218 storage or production unit this source belongs to; sources of one unit are "
                    "graded together and carry the unit's S, R and grade. Empty: the source is its own unit."
                ),
            ),
            Field("kind", "enum", "类型", required=True, enum=enums.HAZARD_KIND),
            Field("plant_status", "enum", "装置状态", enum=enums.PLANT_STATUS),
            Field("gasoline_m3", "float", "汽油罐总容积", unit="m³", minimum=0, maximum=100_000),
            Field("diesel_m3", "float", "柴油罐总容积", unit="m³", minimum=0, maximum=100_000),
            Field("max_tank_m3", "float", "单罐最大容积", unit="m³", minimum=0, maximum=100_000),
            Field("vapour_recovery", "enum", "油气回收", enum=enums.VAPOUR_RECOVERY),
            Field(
                "vessel_type",
                "enum",
                "设备类型（多米诺）",
                enum=enums.VESSEL_TYPE,
                description=(
                    "Which escalation thresholds apply to this unit as a domino target (Cozzani et al. 2006). "
                    "Empty: pressurised for liquefied gases (a BLEVE scenario), atmospheric otherwise."
                ),
            ),
            Field(
                "dam_height_m",
                "float",
                "坝高",
                unit="m",
                minimum=0,
                maximum=400,
                description="Tailings ponds: height of the dam (the breach analysis uses it with the volume).",
            ),
            Field(
                "tailings_volume_m3",
                "float",
                "尾矿库存量",
                unit="m³",
                minimum=0,
                maximum=5e9,
                description="Tailings ponds: volume of tailings impounded now (m³; the run-out relation uses it).",
            ),
            *_graded_fields("of the source's unit (its own when it has no unit_id)"),
        ),
        style=Style("fill", "#b71c1c", by="kind", radius=5, fill_opacity=0.5),
        editors=PLANNERS,
        children=(SUBSTANCES,),
    ),
    Layer(
        name="enterprises",
        label="企业",
        group=RISK,
        geometry_types=("Point",),
        fields=(
            *common_fields(),
            Field(
                "credit_code",
                "str",
                "统一社会信用代码",
                max_length=18,
                check=credit_code_error,
                description="GB 32100-2015, check character verified.",
            ),
            Field("industry", "enum", "行业类别", required=True, enum=enums.INDUSTRY),
            Field("risk_level", "enum", "风险等级", required=True, enum=enums.RISK_LEVEL),
            Field("employees", "int", "从业人员", unit="人", minimum=0, maximum=1_000_000),
            Field("contact", "str", "安全负责人", max_length=50),
            Field("phone", "str", "联系电话", max_length=30, pattern=r"[0-9+\-() ]{5,30}"),
            Field("park", "str", "所在园区", max_length=100),
            Field("address", "str", "地址", max_length=200),
            Field(
                "risk_level_fixed",
                "bool",
                # Not "风险等级…": a shapefile cuts column names to 10 bytes, and "风险等" must still mean risk_level.
                "监管核定风险等级",
                description="When not set, risk_level is the highest level of the enterprise's risk points.",
            ),
        ),
        style=Style("circle", "#0068b7", by="risk_level", radius=7, cluster=True),
        editors=PLANNERS,
    ),
    Layer(
        name="hydrants",
        label="消火栓",
        group=FORCES,
        geometry_types=("Point",),
        fields=(
            *common_fields(),
            Field("kind", "enum", "型式", enum=enums.HYDRANT_KIND),
            Field("flow_lps", "float", "出水流量", unit="L/s", minimum=0, maximum=200),
            Field("pressure_mpa", "float", "供水压力", unit="MPa", minimum=0, maximum=5),
            Field("status", "enum", "状态", required=True, enum=enums.HYDRANT_STATUS),
            Field("inspected_at", "date", "检查日期"),
        ),
        style=Style("circle", "#1565c0", by="status", radius=3, cluster=True),
        editors=FIRE,
    ),
    Layer(
        name="material_depots",
        label="应急物资储备库",
        group=FORCES,
        geometry_types=("Point",),
        fields=(
            *common_fields(),
            Field("level", "enum", "级别", required=True, enum=enums.DEPOT_LEVEL),
            Field("area_m2", "float", "库房面积", unit="m²", minimum=0, maximum=1_000_000),
            Field("manager", "str", "管理人", max_length=50),
            Field("phone", "str", "值班电话", max_length=30, pattern=r"[0-9+\-() ]{5,30}"),
        ),
        style=Style("circle", "#00695c", by="level", radius=8),
        editors=DISPATCH,
        children=(INVENTORY,),
    ),
    Layer(
        name="rescue_teams",
        label="救援队伍",
        group=FORCES,
        geometry_types=("Point",),
        fields=(
            *common_fields(),
            Field("kind", "enum", "队伍类型", required=True, enum=enums.TEAM_KIND),
            Field("headcount", "int", "人数", required=True, unit="人", minimum=0, maximum=10_000),
            Field("status", "enum", "状态", required=True, enum=enums.TEAM_STATUS),
            Field("phone", "str", "值班电话", max_length=30, pattern=r"[0-9+\-() ]{5,30}"),
            Field("specialties", "str", "专长", max_length=300),
        ),
        style=Style("circle", "#d50000", by="kind", radius=8),
        editors=frozenset({"dispatcher", "fire", "admin"}),
        children=(VEHICLES,),
    ),
    Layer(
        name="settlements",
        label="居民点",
        group=ADMIN,
        geometry_types=("Point",),
        fields=(
            *common_fields(),
            Field("kind", "enum", "类型", required=True, enum=enums.SETTLEMENT_KIND),
            Field("code", "str", "区划代码", max_length=12, pattern=r"\d{9}(\d{3})?"),
            Field("population", "int", "人口", unit="人", minimum=0),
        ),
        style=Style("circle", "#8d6e63", by="kind", radius=4),
        editors=PLANNERS,
    ),
    Layer(
        name="incidents",
        label="事件",
        group=EVENTS,
        geometry_types=("Point",),
        fields=(
            *common_fields(),
            Field("kind", "enum", "事件类型", required=True, enum=enums.INCIDENT_KIND),
            Field("status", "enum", "处置状态", required=True, enum=enums.INCIDENT_STATUS),
            Field("reported_at", "datetime", "接报时间", required=True),
            Field("severity", "enum", "事故等级", enum=enums.SEVERITY),
            Field("casualties", "int", "伤亡人数", unit="人", minimum=0),
            Field("description", "str", "情况描述", max_length=2000),
            *INCIDENT_FIELDS,
        ),
        style=Style("circle", "#d50000", by="kind", radius=9),
        editors=DISPATCH,
        temporal="reported_at",
        description=(
            "Lifecycle 接警 → 核实 → 处置中 → 结束 through /api/incidents (forward only); the timeline is "
            "incident_events, the versioned hazard zones incident_zones."
        ),
    ),
)

LAYERS = (
    *LAYERS,
    *INCIDENT_TABLES,
    *STANDARDS_TABLES,
    *TARGET_CLASS_TABLES,
    *NETWORK_TABLES,
    *COVERAGE_TABLES,
    *WIND_TABLES,
)
# Warnings and evacuation of incidents (issue 12, items 4–5): templates, contacts, outbox, shelters.
LAYERS = (*LAYERS, *WARNING_TABLES, *WARNING_LAYERS)
# Live sensor and vehicle data (issue 13): sensors, routes, vehicles, geofences, alarms.
LAYERS = (*LAYERS, *LIVE_DATA_LAYERS)
# Double prevention (issue 17): risk points and zones, findings, accidents, plan indicators.
LAYERS = (*LAYERS, *PREVENTION_LAYERS, *PREVENTION_STANDARDS)
# The industrial park and the mines (issue 18): experts, material allocation plans.
LAYERS = (*LAYERS, *PARK_LAYERS, *ALLOCATION_TABLES)

_BY_NAME = {layer.name: layer for layer in LAYERS}


def get_layer(name: str) -> Layer:
    """Return the layer called ``name``; ``KeyError`` when there is none."""
    return _BY_NAME[name]


def layer_names() -> tuple[str, ...]:
    """Names of all layers in catalogue order."""
    return tuple(_BY_NAME)
