"""What every request body shares: strict numbers, printable text, no unknown fields.

pydantic's lax mode would take ``"5"`` for a number and ``1.0`` for a count, and plain
``str`` lets NUL and escape characters into stored notes. The annotated types below keep
the lax mode for what JSON has no type for (tuples, dates as strings) while refusing a
number sent as a string, a boolean sent as a number, and control characters in text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict

from safemap.layers.schemas import INT64_MAX, no_control_characters
from safemap.layers.validation import describe_error

#: A number: an integer or a decimal JSON number, never a string or a boolean.
Float = Annotated[float, Strict()]
#: A whole number: a JSON integer, never a string, a boolean or ``1.0``.
Int = Annotated[int, Strict()]
#: Text without control characters (tab and line breaks allowed).
Text = Annotated[str, AfterValidator(no_control_characters)]
#: A row id as a body names it: a positive JSON integer the stores can hold.
BodyId = Annotated[int, Strict(), Field(ge=1, le=INT64_MAX)]


class RequestModel(BaseModel):
    """Base of every request body: unknown fields are refused (a typo is a 422, not ignored)."""

    model_config = ConfigDict(extra="forbid")


#: Chinese labels of request-body fields, by field name (the names mean the same in every body).
FIELD_LABELS: dict[str, str] = {
    "alpha": "TNT当量系数",
    "alternatives": "备选队伍数",
    "area_m2": "液池面积",
    "avoid": "避让区域",
    "buffer_m": "道路缓冲距离",
    "burning_rate_kg_m2_s": "燃烧速率",
    "candidates": "候选点",
    "capacity_kg": "储罐内物质总质量",
    "cas": "CAS号",
    "closed_roads": "临时封闭道路",
    "count": "队伍数量",
    "demand": "需求类型",
    "depot_id": "储备库编号",
    "depots": "调用储备库",
    "diameter_m": "液池直径",
    "direction": "方向",
    "dispatch_ids": "调派编号",
    "distance_m": "路程",
    "eta_s": "预计到达时间",
    "exposed_population": "500m内暴露人员",
    "exposure_s": "暴露时间",
    "extra_points": "拟建点",
    "fireball_mass_kg": "火球质量",
    "flux_thresholds_kw_m2": "热辐射阈值",
    "from": "起点",
    "from_": "起点",
    "fuel_mass_kg": "可燃物质量",
    "geometry": "位置",
    "hazard": "危险区",
    "hazard_class": "危险性类别",
    "heat_of_combustion_kj_kg": "燃烧热",
    "ids": "编号",
    "ignore_closures": "忽略道路封闭",
    "incident": "事发地",
    "incident_id": "事件编号",
    "item": "物资名称",
    "k": "新建数量",
    "kind": "类型",
    "kinds": "队伍类型",
    "label": "名称",
    "lat": "纬度",
    "layer": "图层",
    "levels": "储备库级别",
    "loading_s": "装车时间",
    "lon": "经度",
    "location": "位置",
    "materials": "物资",
    "max": "候选点上限",
    "mg_m3": "浓度（mg/m³）",
    "model": "后果模型",
    "molar_mass_g_mol": "摩尔质量",
    "name": "名称",
    "needs": "队伍需求",
    "note": "备注",
    "only_available": "只计在岗队伍",
    "points": "候选点",
    "ppm": "浓度（ppm）",
    "problem": "选址问题",
    "properties": "属性",
    "q0_kw_m2": "火球表面辐射通量",
    "quantity": "数量",
    "quantity_t": "数量（t）",
    "radiative_fraction": "辐射分数",
    "radius_m": "危险区半径",
    "rate_kg_s": "泄漏速率",
    "release_height_m": "泄漏高度",
    "route": "路线",
    "sample_distances_m": "计算距离",
    "setting": "地表类型",
    "source": "候选点来源",
    "spacing_m": "候选点间距",
    "stability": "大气稳定度",
    "standard_min": "标准到场时间",
    "substance": "物质名称",
    "substances": "物质",
    "tanks": "同时破裂的储罐数",
    "team_id": "队伍编号",
    "team_ids": "队伍编号",
    "teams": "调派队伍",
    "thresholds": "浓度阈值",
    "thresholds_min": "时间圈",
    "time_limit_s": "计算时限",
    "to": "终点",
    "transmissivity": "大气透射率",
    "turnout_s": "出动准备时间",
    "upwind_penalty_s": "下风向进入附加时间",
    "vehicle": "车辆类型",
    "vicinity_m": "核查范围",
    "wind_from_deg": "风向",
    "wind_m_s": "风速",
    "zone": "危险区多边形",
}


def field_label(loc: tuple[int | str, ...] | list[int | str]) -> str | None:
    """The Chinese label of a request field from its pydantic location, e.g. ``物质第1项·设计最大量``.

    ``("substances", 0, "quantity_t")`` → ``物质第1项·设计最大量``; unknown names are left out,
    and ``None`` when nothing in the location has a label.
    """
    parts: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            if parts and i > 0 and isinstance(loc[i - 1], str):
                parts[-1] += f"第{part + 1}项"
            continue
        label = FIELD_LABELS.get(part)
        if label:
            parts.append(label)
    return "·".join(parts) or None


def labelled_error(err: Mapping[str, Any]) -> str:
    """One pydantic error of a request body in Chinese, led by the field's Chinese label when it has one."""
    label = field_label(tuple(err.get("loc") or ()))
    message = describe_error(err)
    return f"{label}：{message}" if label else message
