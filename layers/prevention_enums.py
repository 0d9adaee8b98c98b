"""Enumerations of double prevention (双重预防, issue 17): risk points, hidden dangers, inspections, accidents.

Codes are what the API and files carry; people read the labels. The accident kinds are
GB 6441-86《企业职工伤亡事故分类》's 20 categories; the severity of an accident reuses the
incidents' ``severity`` enum (国务院令第493号 第三条 classes).
"""

from __future__ import annotations

from safemap.layers.enums import enum_of

RISK_POINT_KIND = enum_of(
    "risk_point_kind",
    ("equipment", "设备设施"),
    ("activity", "作业活动"),
    ("area", "区域场所"),
)

RISK_METHOD = enum_of(
    "risk_method",
    ("lec", "作业条件危险性分析法（LEC）"),
    ("ls", "风险矩阵分析法（LS）"),
)

DANGER_GRADE = enum_of(
    "danger_grade",
    ("general", "一般隐患", "#f39800"),
    ("major", "重大隐患", "#e60012"),
)

#: 逾期 is not a stored status: a finding is overdue while it is open past its deadline.
DANGER_STATUS = enum_of(
    "danger_status",
    ("found", "发现", "#e53935"),
    ("rectifying", "整改中", "#fb8c00"),
    ("review", "待复查", "#1e88e5"),
    ("closed", "销号", "#43a047"),
)

DANGER_EVENT_KIND = enum_of(
    "danger_event_kind",
    ("found", "发现"),
    ("rectify", "开始整改"),
    ("submit", "整改完成提交复查"),
    ("pass", "复查通过"),
    ("fail", "复查未通过"),
    ("closed", "销号"),
    ("extend", "延期"),
    ("note", "备注"),
    ("photo", "上传照片"),
    ("overdue", "逾期报警"),
)

PHOTO_STAGE = enum_of("photo_stage", ("found", "发现时"), ("evidence", "整改证据"))

INSPECTION_SCOPE = enum_of(
    "inspection_scope",
    ("township", "按乡镇网格"),
    ("industry", "按行业"),
    ("enterprise", "按企业"),
)

INSPECTION_STATUS = enum_of(
    "inspection_status",
    ("planned", "待检查"),
    ("in_progress", "检查中"),
    ("done", "已完成"),
)

ACCIDENT_INDUSTRY = enum_of(
    "accident_industry",
    ("hazchem", "危险化学品", "#8e24aa"),
    ("non_coal_mine", "非煤矿山", "#795548"),
    ("coal_mine", "煤矿", "#212121"),
    ("fireworks", "烟花爆竹", "#d81b60"),
    ("industry_trade", "工贸", "#546e7a"),
    ("construction", "建筑施工", "#f9a825"),
    ("road_transport", "道路运输", "#1565c0"),
    ("fire", "火灾", "#d50000"),
    ("other", "其他", "#757575"),
)

ACCIDENT_KIND = enum_of(
    "accident_kind",
    ("object_strike", "物体打击"),
    ("vehicle", "车辆伤害"),
    ("machinery", "机械伤害"),
    ("lifting", "起重伤害"),
    ("electric", "触电"),
    ("drowning", "淹溺"),
    ("scald", "灼烫"),
    ("fire", "火灾"),
    ("fall", "高处坠落"),
    ("collapse", "坍塌"),
    ("roof_fall", "冒顶片帮"),
    ("water_inrush", "透水"),
    ("blasting", "放炮"),
    ("gas_explosion", "瓦斯爆炸"),
    ("fire_explosion", "火药爆炸"),
    ("boiler_explosion", "锅炉爆炸"),
    ("vessel_explosion", "容器爆炸"),
    ("other_explosion", "其他爆炸"),
    ("poisoning", "中毒和窒息"),
    ("other", "其他伤害"),
)

#: Which denominator column of ``indicator_years`` a plan indicator divides by.
INDICATOR_DENOMINATOR = enum_of(
    "indicator_denominator",
    ("gdp_100m_yuan", "地区生产总值（亿元）"),
    ("employees_gmt", "工矿商贸就业人员数"),
    ("coal_output_10kt", "煤炭产量（万吨）"),
    ("operating_vehicles", "营运车辆数"),
)

INDICATOR_MEASURE = enum_of("indicator_measure", ("deaths", "死亡人数"), ("count", "事故起数"))

INDICATOR_TARGET = enum_of(
    "indicator_target",
    ("change_pct", "较基准年变化（%）"),
    ("zero", "零发生"),
    ("annual_mean_below", "年均低于"),
)

INDICATOR_STATE = enum_of(
    "indicator_state",
    ("on_track", "按进度", "#2e7d32"),
    ("off_track", "滞后", "#c62828"),
    ("cannot_check", "无法判断", "#757575"),
    ("not_applicable", "不适用", "#9e9e9e"),
)
