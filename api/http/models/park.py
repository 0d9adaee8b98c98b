"""Request body of ``/api/park/assessment`` (园区整体性安全风险评估; pydantic, every error names its field).

The area is a boundary id (``area_id``, an ``industrial_park`` row of ``admin_boundaries``) or a
drawn polygon (``area``, GeoJSON geometry, lon/lat); ``proposed`` is an optional proposed unit
(入园项目) as a GeoJSON Feature, which the service checks further (geometry, extent).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from safemap.api.http.models.base import BodyId, Float, RequestModel, Text
from safemap.layers.enums import HAZARD_KIND


class ProposedSubstanceIn(RequestModel):
    """One substance of the proposed unit: name (or CAS) and quantity in tonnes."""

    name: Text | None = Field(None, max_length=100, description="物质名称，如 液化石油气、氯、甲醇")
    cas: Text | None = Field(None, max_length=40, description="CAS号（可选）")
    quantity_t: Float = Field(gt=0, le=1e6, description="设计最大量 t")


class ProposedPropertiesIn(RequestModel):
    """What the proposed unit is."""

    name: Text | None = Field(None, max_length=100, description="项目名称")
    kind: Text = Field(
        description="危险源类型（hazard_kind 代码）", json_schema_extra={"enum": list(HAZARD_KIND.codes)}
    )
    substances: list[ProposedSubstanceIn] = Field(max_length=50, description="物质及数量（至少一种）")

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        # Checked here rather than as a Literal so the message lists the Chinese names, not the codes.
        if value not in HAZARD_KIND.codes:
            raise ValueError(f"请选择危险源类型：{'、'.join(m.label for m in HAZARD_KIND.members)}")
        return value

    @field_validator("substances")
    @classmethod
    def _some(cls, value: list[ProposedSubstanceIn]) -> list[ProposedSubstanceIn]:
        if not value:
            raise ValueError("请至少填写一种物质及其数量（吨）")
        return value


class ProposedIn(RequestModel):
    """A proposed unit (入园项目), never stored: a GeoJSON Feature with a Point or Polygon."""

    type: Literal["Feature"]
    geometry: dict[str, Any] = Field(description="GeoJSON Point 或 Polygon（WGS 84 经纬度）")
    properties: ProposedPropertiesIn


class AssessmentIn(RequestModel):
    """``POST /api/park/assessment`` and its reports."""

    area_id: BodyId | None = Field(None, description="工业园区边界编号（GET /api/park/areas）；与 area 二选一")
    area: dict[str, Any] | None = Field(None, description="自定义评估范围：GeoJSON Polygon（经纬度）")
    name: Text | None = Field(None, max_length=100, description="自定义评估范围的名称")
    proposed: ProposedIn | None = Field(None, description="拟入园项目（可选）")
    stability: Literal["A", "B", "C", "D", "E", "F"] = Field("D", description="大气稳定度 A–F（有毒气体扩散）")
    wind_m_s: Float = Field(3.0, ge=0.5, le=30, description="风速 m/s")
