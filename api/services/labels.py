"""Chinese for people, codes for machines — the API's side of :mod:`safemap.layers.labels`.

:mod:`safemap.layers.labels` turns catalogue codes (enums, roles, grades, units, layer fields)
into words. This module adds what only the API knows: the labels of request-body fields
(:data:`FIELD_LABELS`) and of the proposed-site properties, and names the field of an error
message in Chinese (:func:`message_for`) while ``problems[].field`` keeps the code.
"""

from __future__ import annotations

from collections.abc import Sequence

from safemap.layers.labels import (
    STRUCTURE_WORDS,
    catalogue_words,
    content_disposition,
    count_text,
    csv_header,
    distance_text,
    duration_text,
    enum_label,
    export_filename,
    grade_label,
    header_mode,
    number_text,
    path_label,
    problem_text,
    rate_text,
    role_label,
    roles_text,
    source_text,
    split_path,
)

#: Chinese labels of request-body fields, by field name (the names mean the same in every body).
FIELD_LABELS: dict[str, str] = {
    # The park and the mines (issue 18).
    "area": "评估范围",
    "area_id": "园区编号",
    "proposed": "拟入园项目",
    "max_level": "多米诺层级",
    "extra_sources": "拟建危险源",
    "escalation": "是否计入多米诺",
    "incident_kind": "事件类型",
    "per_field": "每个专业列出人数",
    "demands": "需求点",
    "flows": "调拨明细",
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
    "current_password": "当前密码",
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
    "new_password": "新密码",
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
    # Double prevention (issue 17): findings, photos, indicators.
    "grade": "隐患等级",
    "deadline": "整改期限",
    "description": "隐患描述",
    "text": "说明",
    "action": "操作",
    "photo_ids": "照片",
    "client_uuid": "客户端编号",
    "stage": "拍摄阶段",
    "found_at": "发现时间",
    "enterprise_id": "企业编号",
    "inspection_id": "检查任务编号",
    "year": "年份",
    "through": "截至年份",
    "cell_m": "栅格边长",
    "by": "统计口径",
    "weight": "权重",
    "since": "起始时间",
    "until": "截止时间",
    "accidents": "事故",
    "plan_indicators": "规划指标表",
}


#: Properties of a proposed site (site check) that are not fields of a layer.
SITE_WORDS: dict[str, str] = {
    "population": "人数（人）",
    "gasoline_m3": "汽油罐总容积（m³）",
    "diesel_m3": "柴油罐总容积（m³）",
    "max_tank_m3": "单罐最大容积（m³）",
    "volume_m3": "容积（m³）",
    "single_tank_m3": "单罐容积（m³）",
    "tnt_kg": "TNT 当量（kg）",
    "gb50156_class": "GB 50156 类别",
    "gb36894_class": "GB 36894 防护目标类别",
    "vapour_recovery": "油气回收",
    "category": "类别",
    "liquid": "液体",
}


def request_label(loc: Sequence[int | str]) -> str | None:
    """The Chinese name of a request field from its location (``("substances", 0, "quantity_t")``).

    Request-body names first (:data:`FIELD_LABELS`); under ``properties`` the catalogue's and the
    site's words, so ``properties.volume_m3`` is ``容积（m³）``.
    """
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path"):
        parts = parts[1:]
    if parts and parts[0] == "properties":
        return path_label(parts, {**catalogue_words(), **SITE_WORDS})
    return path_label(parts, {**catalogue_words(), **FIELD_LABELS})


def message_for(field: str, message: str) -> str:
    """An error message for people: ``容积（m³）：应为 0–1000000 之间的数`` (the code when there is no label)."""
    label = STRUCTURE_WORDS.get(field) or request_label(split_path(field)) or field
    if message.startswith(label + "："):
        return message  # already led by the label (a request body's own error)
    return f"{label}：{message}"


__all__ = [
    "FIELD_LABELS",
    "SITE_WORDS",
    "content_disposition",
    "count_text",
    "csv_header",
    "distance_text",
    "duration_text",
    "enum_label",
    "export_filename",
    "grade_label",
    "header_mode",
    "message_for",
    "number_text",
    "problem_text",
    "rate_text",
    "request_label",
    "role_label",
    "roles_text",
    "source_text",
]
