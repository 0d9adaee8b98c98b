"""Request bodies of the material allocation API (物资分配方案; pydantic, every error names its field)."""

from __future__ import annotations

import math

from pydantic import Field, field_validator

from safemap.api.http.models.base import BodyId, Float, Int, RequestModel, Text
from safemap.api.http.models.dispatch import VehicleCode


class DemandIn(RequestModel):
    """One demand row: a point (lon, lat), an item and its quantity, priority 1 (最高) … 3."""

    name: Text = Field(..., min_length=1, max_length=200, description="需求点名称")
    lon: Float = Field(..., ge=-180, le=180, description="经度")
    lat: Float = Field(..., ge=-90, le=90, description="纬度")
    item: Text = Field(
        ..., min_length=1, max_length=100, description="物资名称（与储备库库存名称一致，全角/空格不敏感）"
    )
    quantity: Float = Field(..., gt=0, le=1e9, description="需求数量")
    unit: Text | None = Field(None, max_length=20, description="单位；缺省为库存单位；kg 与 t 自动换算")
    priority: Int = Field(2, ge=1, le=3, description="优先级：1 最高，2，3")
    settlement_id: BodyId | None = Field(None, description="居民点编号（可选）")
    township: Text | None = Field(None, max_length=100, description="所属乡镇（可选）")

    @field_validator("lon", "lat")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("应为有限的数")
        return value


class PlanRequest(RequestModel):
    """``POST /api/allocation/plans``: demands and the truck model; the plan is computed and stored as a draft."""

    name: Text = Field("物资分配方案", min_length=1, max_length=200, description="方案名称")
    demands: list[DemandIn] = Field(..., min_length=1, max_length=5000, description="需求点与物资")
    incident_id: BodyId | None = Field(None, description="关联事件编号（可选）")
    note: Text | None = Field(None, max_length=1000)
    vehicle: VehicleCode = Field("materials_truck", description="运输车辆类型（路网通行限制按此车型）")
    trucks: Int = Field(2, ge=0, le=1000, description="每个储备库可用车辆数")
    trips: Int = Field(1, ge=1, le=100, description="时限内每车趟数")
    payload_t: Float = Field(8.0, ge=0, le=100, description="单车载重（吨）")
    time_limit_s: Float | None = Field(None, gt=0, le=864_000, description="送达时限（秒）；缺省不限")
    loading_s: Float = Field(0.0, ge=0, le=86_400, description="装车时间（秒），计入送达时间")
    closed_roads: list[BodyId] = Field(
        default_factory=list, max_length=5000, description="临时封闭的道路编号（如雪阻路段）"
    )


class ReplaceRequest(PlanRequest):
    """``PUT /api/allocation/plans/{id}``: new demands/parameters for a draft, quoting the version seen."""

    version: Int = Field(..., ge=1, description="客户端看到的方案版本")


class VersionRequest(RequestModel):
    """Re-optimise, confirm or cancel a plan at the version the client saw."""

    version: Int = Field(..., ge=1, description="客户端看到的方案版本")


class FlowEdit(RequestModel):
    """A flow's new quantity (0 removes it)."""

    id: BodyId = Field(..., description="调拨明细编号")
    quantity: Float = Field(..., ge=0, le=1e9, description="调拨数量")


class FlowsRequest(VersionRequest):
    """``PATCH /api/allocation/plans/{id}/flows``: hand edits of flow quantities."""

    flows: list[FlowEdit] = Field(..., min_length=1, max_length=5000)
