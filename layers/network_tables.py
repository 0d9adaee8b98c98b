"""Tables of the routing and dispatch work: vehicle profiles, default road speeds, dispatches.

* ``vehicle_profiles`` (attribute table, seeded from ``data/standards/vehicle_profiles.csv``):
  one row per vehicle type of :data:`~layers.enums.VEHICLE_PROFILE` — outside width,
  height, length (m), laden mass (t), the share of a road's free speed it keeps and its
  top speed (km/h). An edge is usable only if the vehicle fits its width, clear height
  and weight limit.
* ``road_speeds`` (attribute table, seeded from ``data/standards/road_speeds.csv``): free
  speed by road class (and for fire lanes) for roads without their own ``speed_kmh``.
* ``dispatches`` (lines): one row per team or depot sent to an incident, drawn along its
  route; written only by :mod:`layers.dispatching` (confirm/arrive/release), so the
  status of a team and its dispatch rows change together in one transaction.

Both attribute tables are edited by an admin through ``/api/layers/<name>``; the router
reads them at query time.
"""

from __future__ import annotations

from safemap.layers.catalogue import EnumType, Field, Layer, Member, Style, common_fields
from safemap.layers.enums import ROAD_CLASS, VEHICLE_PROFILE

STANDARDS = "标准与参数"
EVENTS = "应急事件"
ADMINS = frozenset({"admin"})

#: Road classes plus fire lanes (which have no class of their own).
SPEED_CLASS = EnumType("speed_class", (*ROAD_CLASS.members, Member("fire_lane", "消防车道", "#d32f2f")))

DISPATCH_STATUS = EnumType(
    "dispatch_status",
    (
        Member("confirmed", "已出动", "#c62828"),
        Member("arrived", "已到场", "#ef6c00"),
        # 解除调度 frees the team (待命) at once; it has not necessarily returned to base.
        Member("released", "已解除调度", "#9e9e9e"),
    ),
)

RESOURCE_LAYER = EnumType(
    "resource_layer",
    (Member("rescue_teams", "救援队伍"), Member("material_depots", "应急物资储备库")),
)

VEHICLE_PROFILES = Layer(
    name="vehicle_profiles",
    label="车辆参数",
    group=STANDARDS,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("code", "enum", "车辆类型", required=True, enum=VEHICLE_PROFILE),
        Field("width_m", "float", "车宽", required=True, unit="m", minimum=0.5, maximum=5),
        Field("height_m", "float", "车高", required=True, unit="m", minimum=0.5, maximum=6),
        Field("length_m", "float", "车长", required=True, unit="m", minimum=1, maximum=30),
        Field("weight_t", "float", "满载总质量", required=True, unit="t", minimum=0.5, maximum=100),
        Field(
            "speed_factor",
            "float",
            "车速系数",
            required=True,
            minimum=0.1,
            maximum=1.5,
            description="Share of a road's free speed the vehicle keeps (laden trucks < 1).",
        ),
        Field("max_speed_kmh", "float", "最高车速", required=True, unit="km/h", minimum=5, maximum=200),
        Field("note", "str", "说明", max_length=500),
    ),
    style=None,
    editors=ADMINS,
    seed="standards/vehicle_profiles.csv",
    description="Vehicle dimensions and speeds used by routing (one row per vehicle type).",
)

ROAD_SPEEDS = Layer(
    name="road_speeds",
    label="道路默认车速",
    group=STANDARDS,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("road_class", "enum", "道路等级", required=True, enum=SPEED_CLASS),
        Field("speed_kmh", "float", "默认车速", required=True, unit="km/h", minimum=1, maximum=130),
        Field("note", "str", "说明", max_length=500),
    ),
    style=None,
    editors=ADMINS,
    seed="standards/road_speeds.csv",
    description="Free speed by road class for roads without their own speed_kmh.",
)

DISPATCHES = Layer(
    name="dispatches",
    label="调度记录",
    group=EVENTS,
    geometry_types=("LineString",),
    fields=(
        *common_fields(),
        Field("plan_id", "str", "调度单号", required=True, max_length=40),
        Field("incident_id", "int", "事件编号", references="incidents"),
        Field("incident_lon", "float", "事发地经度", required=True, minimum=-180, maximum=180),
        Field("incident_lat", "float", "事发地纬度", required=True, minimum=-90, maximum=90),
        Field("resource_layer", "enum", "资源类型", required=True, enum=RESOURCE_LAYER),
        Field("team_id", "int", "救援队伍编号", references="rescue_teams"),
        Field("depot_id", "int", "储备库编号", references="material_depots"),
        Field("vehicle", "enum", "车辆类型", enum=VEHICLE_PROFILE),
        Field("status", "enum", "状态", required=True, enum=DISPATCH_STATUS),
        Field("eta_s", "float", "预计到达用时", unit="s", minimum=0),
        Field("distance_m", "float", "路程", unit="m", minimum=0),
        Field("materials", "str", "调拨物资", max_length=2000),
        Field("dispatcher", "str", "调度员", max_length=100),
        Field("confirmed_at", "datetime", "出动时间"),
        Field("arrived_at", "datetime", "到场时间"),
        Field("released_at", "datetime", "解除时间"),
        Field("note", "str", "备注", max_length=500),
    ),
    style=Style("line", "#c62828", by="status", weight=4, dash_when=("status", "released")),
    # Written by the confirm/release endpoints only (one transaction with the team's status).
    editors=frozenset(),
    temporal="confirmed_at",
    description="Teams and depots sent to incidents, with the route, ETA and materials; audited.",
)

NETWORK_TABLES: tuple[Layer, ...] = (VEHICLE_PROFILES, ROAD_SPEEDS, DISPATCHES)
