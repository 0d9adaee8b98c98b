"""Request body of ``POST /api/domino`` (多米诺效应分析，可含拟建危险源; pydantic, every error names its field).

The area is a boundary id (``area``, e.g. the ``industrial_park`` row of ``admin_boundaries``)
or a box (``bbox``); ``extra_sources`` are proposed hazard sources as GeoJSON Features, which
the service checks in full (geometry, extent, kinds, substances) and never stores.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from safemap.api.http.models.base import BodyId, Int, RequestModel, Text


class DominoIn(RequestModel):
    """``POST /api/domino``."""

    area: BodyId | None = Field(None, description="行政区或工业园区边界编号（admin_boundaries）；与 bbox 二选一")
    bbox: Text | None = Field(None, max_length=200, description="最小经度,最小纬度,最大经度,最大纬度")
    max_level: Int = Field(3, ge=1, le=3, description="多米诺层级（1–3）")
    extra_sources: list[dict[str, Any]] | None = Field(
        None,
        max_length=200,
        description=(
            "拟建危险源（GeoJSON Feature 列表，经纬度；properties: name、kind、enterprise_id、vessel_type、"
            "max_tank_m3、substances=[{name, cas, quantity_t}]），只参与分析，不保存"
        ),
    )
