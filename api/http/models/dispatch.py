"""Request bodies of the routing and dispatch API (pydantic; every error names its field)."""

from __future__ import annotations

import math
from typing import Any, Literal

import shapely
from pydantic import ConfigDict, Field, StrictBool, field_validator
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from safemap.api.http.models.base import BodyId, Float, Int, RequestModel, Text
from safemap.layers.enums import INCIDENT_KIND, TEAM_KIND, VEHICLE_PROFILE

VehicleCode = Literal[tuple(VEHICLE_PROFILE.codes)]  # type: ignore[valid-type]
TeamKind = Literal[tuple(TEAM_KIND.codes)]  # type: ignore[valid-type]
IncidentKind = Literal[tuple(INCIDENT_KIND.codes)]  # type: ignore[valid-type]
LonLatList = list[Float]
MAX_POINTS = 2000
MAX_AVOID_VERTICES = 20_000


def check_lonlat(value: list[float]) -> list[float]:
    """``[lon, lat]`` with finite values in range."""
    if len(value) != 2 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in value):
        raise ValueError("应为 [经度, 纬度] 两个数")
    lon, lat = value
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError("经纬度超出范围（经度在前，纬度在后）")
    return [float(lon), float(lat)]


def polygon_from_geojson(value: Any) -> BaseGeometry:
    """A GeoJSON Polygon/MultiPolygon (or a Feature holding one) as a valid shapely geometry."""
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if not isinstance(value, dict) or value.get("type") not in ("Polygon", "MultiPolygon"):
        raise ValueError("应为 GeoJSON Polygon 或 MultiPolygon（经纬度）")
    try:
        geom = shape(value)
    except Exception as exc:  # shapely raises several types for malformed rings
        raise ValueError(f"多边形无效：{exc}") from None
    if shapely.get_num_coordinates(geom) > MAX_AVOID_VERTICES:
        raise ValueError(f"顶点过多（上限 {MAX_AVOID_VERTICES}）")
    if geom.is_empty:
        raise ValueError("多边形为空")
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValueError("坐标超出经纬度范围")
    return geom


class _Body(RequestModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RouteOptions(_Body):
    """What every routing request may add: vehicle, avoid areas, closures."""

    vehicle: VehicleCode = Field("fire_engine", description="车辆类型（vehicle_profiles 表的 code）")
    avoid: list[dict[str, Any]] = Field(
        default_factory=list, max_length=50, description="避让区域：GeoJSON Polygon/MultiPolygon 列表（经纬度）"
    )
    closed_roads: list[BodyId] = Field(default_factory=list, max_length=5000, description="本次查询临时封闭的道路编号")
    ignore_closures: StrictBool = Field(False, description="忽略已登记的道路封闭/车道占用")

    @field_validator("avoid")
    @classmethod
    def _avoid(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for item in value:
            polygon_from_geojson(item)
        return value

    def avoid_geometries(self) -> tuple[BaseGeometry, ...]:
        """The avoid areas as shapely geometries (lon/lat)."""
        return tuple(polygon_from_geojson(a) for a in self.avoid)


class RouteRequest(RouteOptions):
    """``POST /api/route``."""

    from_: LonLatList = Field(..., alias="from", description="起点 [经度, 纬度]")
    to: LonLatList = Field(..., description="终点 [经度, 纬度]")

    @field_validator("from_", "to")
    @classmethod
    def _point(cls, value: list[float]) -> list[float]:
        return check_lonlat(value)


class MatrixRequest(RouteOptions):
    """``POST /api/route/matrix``: travel times from one point to many (or from many to one)."""

    from_: LonLatList = Field(..., alias="from", description="出发点（direction=to 时为目的地）")
    to: list[LonLatList] = Field(..., min_length=1, max_length=MAX_POINTS)
    direction: Literal["from", "to"] = Field("from", description="from：从 from 出发到各点；to：各点前往 from")

    @field_validator("from_")
    @classmethod
    def _origin(cls, value: list[float]) -> list[float]:
        return check_lonlat(value)

    @field_validator("to")
    @classmethod
    def _points(cls, value: list[list[float]]) -> list[list[float]]:
        return [check_lonlat(v) for v in value]


class NeedIn(_Body):
    """Teams wanted: any of ``kinds``, ``count`` of them, optionally with one vehicle type."""

    kinds: list[TeamKind] = Field(..., min_length=1, max_length=8, description="队伍类型")
    count: Int = Field(1, ge=1, le=50)
    vehicle: VehicleCode | None = Field(None, description="必须派出的车辆类型")


class MaterialIn(_Body):
    """A material wanted, by its inventory name, and the quantity (in the depot's unit)."""

    item: Text = Field(..., min_length=1, max_length=100)
    quantity: Float = Field(..., gt=0, le=1e9)


class HazardIn(_Body):
    """Hazard zone around the incident: a radius (m) or a polygon, and the wind."""

    radius_m: Float | None = Field(None, gt=0, le=50_000, description="危险区半径（米）")
    zone: dict[str, Any] | None = Field(None, description="危险区多边形（GeoJSON，经纬度），如后果分析的影响区")
    wind_from_deg: Float | None = Field(None, ge=0, lt=360, description="风向：风的来向，度，正北为0，顺时针")
    upwind_penalty_s: Float = Field(300.0, ge=0, le=7200, description="从正下风向进入的附加时间（秒）")

    @field_validator("zone")
    @classmethod
    def _zone(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            polygon_from_geojson(value)
        return value


class PlanRequest(RouteOptions):
    """``POST /api/dispatch/plan``."""

    vehicle: VehicleCode = Field("materials_truck", description="物资运输车辆类型")
    incident: LonLatList | None = Field(None, description="事发地 [经度, 纬度]")
    incident_id: BodyId | None = Field(None, description="或：事件图层中的事件编号")
    needs: list[NeedIn] = Field(default_factory=list, max_length=20)
    materials: list[MaterialIn] = Field(default_factory=list, max_length=100)
    hazard: HazardIn | None = None
    turnout_s: Float = Field(0.0, ge=0, le=3600, description="出动准备时间（秒），计入预计到达时间")
    loading_s: Float = Field(0.0, ge=0, le=86_400, description="物资装车时间（秒），计入送达时间")
    alternatives: Int = Field(3, ge=0, le=20, description="每项需求另列的备选队伍数")
    incident_kind: IncidentKind | None = Field(
        None, description="事件类型（按类型推荐应急专家；给出 incident_id 时以该事件的类型为准）"
    )

    @field_validator("incident")
    @classmethod
    def _incident(cls, value: list[float] | None) -> list[float] | None:
        return None if value is None else check_lonlat(value)


class TeamOrder(_Body):
    """A team to send, with what the plan said (route as a GeoJSON LineString, lon/lat)."""

    team_id: BodyId = Field(...)
    vehicle: VehicleCode | None = None
    eta_s: Float | None = Field(None, ge=0, le=1e7)
    distance_m: Float | None = Field(None, ge=0, le=1e8)
    route: dict[str, Any] | None = None


class MaterialOrder(_Body):
    """Materials to take from one depot."""

    depot_id: BodyId = Field(...)
    materials: list[MaterialIn] = Field(..., min_length=1, max_length=100)
    eta_s: Float | None = Field(None, ge=0, le=1e7)
    distance_m: Float | None = Field(None, ge=0, le=1e8)
    route: dict[str, Any] | None = None


class ConfirmRequest(_Body):
    """``POST /api/dispatch/confirm``: commit the chosen teams and depots (all or nothing)."""

    incident: LonLatList | None = None
    incident_id: BodyId | None = None
    teams: list[TeamOrder] = Field(default_factory=list, max_length=100)
    depots: list[MaterialOrder] = Field(default_factory=list, max_length=50)
    note: Text | None = Field(None, max_length=500)

    @field_validator("incident")
    @classmethod
    def _incident(cls, value: list[float] | None) -> list[float] | None:
        return None if value is None else check_lonlat(value)


class StatusRequest(_Body):
    """``POST /api/dispatch/release`` or ``/arrive``: dispatch ids, or team ids (their active dispatch)."""

    dispatch_ids: list[BodyId] = Field(default_factory=list, max_length=200)
    team_ids: list[BodyId] = Field(default_factory=list, max_length=200)
    note: Text | None = Field(None, max_length=500)
