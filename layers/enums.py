"""Enumerations of the catalogue: codes stored and exchanged, Chinese labels shown."""

from __future__ import annotations

from safemap.layers.catalogue import EnumType, Member


def enum_of(name: str, *members: tuple[str, ...]) -> EnumType:
    """An enumeration ``name`` of members ``(code, label[, colour])``: the one way the catalogue builds them."""
    return EnumType(name, tuple(Member(*m) for m in members))


# 安全风险四色: 红 重大, 橙 较大, 黄 一般, 蓝 低 (国务院安委办 2016-11 风险分级管控).
RISK_LEVEL = enum_of(
    "risk_level",
    ("red", "红（重大风险）", "#e60012"),
    ("orange", "橙（较大风险）", "#f39800"),
    ("yellow", "黄（一般风险）", "#f5d200"),
    ("blue", "蓝（低风险）", "#0068b7"),
)

INDUSTRY = enum_of(
    "industry",
    ("hazchem_production", "危化品生产", "#8e24aa"),
    ("hazchem_storage", "危化品经营（带储存）", "#6a1b9a"),
    ("hazchem_trade", "危化品经营（无储存）", "#ab47bc"),
    ("hazchem_use", "危化品使用", "#ba68c8"),
    ("non_coal_mine", "非煤矿山", "#795548"),
    ("fireworks", "烟花爆竹", "#d81b60"),
    ("industry_trade", "工贸企业", "#546e7a"),
    ("fuel_station", "加油站", "#ef6c00"),
    ("lpg_station", "液化石油气站", "#c62828"),
    ("cng_station", "加气站（CNG/LNG）", "#ad1457"),
    ("other", "其他", "#757575"),
)

HAZARD_KIND = enum_of(
    "hazard_kind",
    ("storage_tank", "储罐", "#b71c1c"),
    ("tank_farm", "罐区", "#c62828"),
    ("warehouse", "仓库", "#6d4c41"),
    ("process_unit", "生产装置", "#4a148c"),
    ("tailings_pond", "尾矿库", "#8d6e63"),
    ("explosives_store", "爆炸物品库", "#d50000"),
    ("fuel_station_tank", "加油站储罐", "#ef6c00"),
    ("lpg_tank", "液化石油气储罐", "#e53935"),
    ("gas_cylinder_store", "气瓶库", "#ff7043"),
)

# GB 18218-2018 §3 units: a storage unit is one tank farm within a dike or fire wall, or one
# warehouse; a production unit is bounded by its shut-off valves (reference §1.1 "Units").
UNIT_KIND = enum_of(
    "unit_kind",
    ("storage", "储存单元", "#ff6f00"),
    ("production", "生产单元", "#6a1b9a"),
)

PLANT_STATUS = enum_of("plant_status", ("new", "新建/改建/扩建"), ("existing", "在役"))

#: Equipment categories of the escalation thresholds and probit models of Cozzani et al. (2005, 2006):
#: what a fire or blast must reach to make this unit fail in turn (domino effect).
VESSEL_TYPE = enum_of(
    "vessel_type",
    ("atmospheric", "常压设备（常压储罐、仓库）"),
    ("pressurised", "压力设备（压力储罐、气瓶）"),
    ("elongated", "长形设备（塔器、管道）"),
    ("auxiliary", "小型辅助设备（泵、换热器）"),
)

VAPOUR_RECOVERY = enum_of(
    "vapour_recovery",
    ("none", "无油气回收"),
    ("unloading", "卸油油气回收"),
    ("full", "卸油和加油油气回收"),
)

# GB 18218-2018 Table 2 hazard classes (see reference/safety-standards.md §1, Table 1.2).
HAZARD_CLASS = enum_of(
    "hazard_class",
    ("J1", "J1 急性毒性-类别1 气体"),
    ("J2", "J2 急性毒性-类别1 固体/液体"),
    ("J3", "J3 急性毒性-类别2、3 气体"),
    ("J4", "J4 急性毒性-类别2、3 吸入 液体(沸点≤35℃)"),
    ("J5", "J5 急性毒性-类别2 液体/固体"),
    ("W1.1", "W1.1 不稳定爆炸物/1.1项爆炸物"),
    ("W1.2", "W1.2 1.2、1.3、1.5、1.6项爆炸物"),
    ("W1.3", "W1.3 1.4项爆炸物"),
    ("W2", "W2 易燃气体"),
    ("W3", "W3 气溶胶"),
    ("W4", "W4 氧化性气体"),
    ("W5.1", "W5.1 易燃液体-类别1等"),
    ("W5.2", "W5.2 易燃液体-类别2、3 特殊工艺"),
    ("W5.3", "W5.3 其他易燃液体-类别2"),
    ("W5.4", "W5.4 其他易燃液体-类别3"),
    ("W6.1", "W6.1 自反应物质 A/B型"),
    ("W6.2", "W6.2 自反应物质 C-F型"),
    ("W7.1", "W7.1 有机过氧化物 A/B型"),
    ("W7.2", "W7.2 有机过氧化物 C-F型"),
    ("W8", "W8 自燃液体/固体"),
    ("W9.1", "W9.1 氧化性固体/液体-类别1"),
    ("W9.2", "W9.2 氧化性固体/液体-类别2、3"),
    ("W10", "W10 易燃固体"),
    ("W11", "W11 遇水放出易燃气体的物质"),
)

TARGET_CATEGORY = enum_of(
    "target_category",
    ("school", "学校", "#1e88e5"),
    ("kindergarten", "幼儿园", "#42a5f5"),
    ("hospital", "医院", "#e53935"),
    ("nursing_home", "养老院", "#8e24aa"),
    ("residential", "居民区", "#43a047"),
    ("village", "村庄", "#7cb342"),
    ("market", "商场/集贸市场", "#fb8c00"),
    ("government", "机关办公", "#3949ab"),
    ("cultural_relic", "文物保护单位", "#6d4c41"),
    ("stadium", "体育场馆", "#00897b"),
    ("hotel", "宾馆酒店", "#00acc1"),
    ("religious", "宗教场所", "#5e35b1"),
    ("transport_hub", "车站/交通枢纽", "#546e7a"),
    ("prison", "监所", "#37474f"),
    ("military", "军事设施", "#263238"),
    ("other", "其他", "#757575"),
)

# GB 36894-2018 protected-target classes (reference §2, Table 2.1).
GB36894_CLASS = enum_of(
    "gb36894_class",
    ("high_sensitive", "高敏感防护目标"),
    ("important", "重要防护目标"),
    ("general_1", "一般防护目标（一类）"),
    ("general_2", "一般防护目标（二类）"),
    ("general_3", "一般防护目标（三类）"),
)

# GB 50156 off-site targets (reference §6, Table 6.2).
GB50156_CLASS = enum_of(
    "gb50156_class",
    ("important_public", "重要公共建筑物"),
    ("civil_1", "一类保护物"),
    ("civil_2", "二类保护物"),
    ("civil_3", "三类保护物"),
)

TEAM_KIND = enum_of(
    "team_kind",
    ("fire_station", "消防救援站", "#d50000"),
    ("professional_fire", "专职消防队", "#ff1744"),
    ("hazmat", "危化品救援队", "#aa00ff"),
    ("mine_rescue", "矿山救护队", "#6d4c41"),
    ("medical", "医疗救护队", "#00c853"),
    ("enterprise_brigade", "企业专职/志愿消防队", "#ff6d00"),
    ("forest_fire", "森林草原消防队", "#2e7d32"),
    ("volunteer", "社会志愿救援队", "#0091ea"),
)

TEAM_STATUS = enum_of(
    "team_status",
    ("available", "待命", "#2e7d32"),
    ("dispatched", "出动中", "#c62828"),
    ("off_duty", "休整/不可用", "#9e9e9e"),
)

VEHICLE_PROFILE = enum_of(
    "vehicle_profile",
    ("fire_engine", "水罐消防车"),
    ("foam_engine", "泡沫消防车"),
    ("aerial_ladder", "登高平台消防车"),
    ("hazmat", "危化品处置车"),
    ("rescue", "抢险救援车"),
    ("ambulance", "救护车"),
    ("materials_truck", "物资运输车"),
    ("command", "指挥车"),
    ("mine_rescue", "矿山救护车"),
)

DEPOT_LEVEL = enum_of(
    "depot_level",
    ("county", "县级", "#00695c"),
    ("township", "乡镇级", "#26a69a"),
    ("enterprise", "企业级", "#80cbc4"),
)

MATERIAL_CATEGORY = enum_of(
    "material_category",
    ("vehicle", "车辆机械"),
    ("fire_fighting", "灭火器材"),
    ("hazmat", "危化品处置/防护"),
    ("rescue_tools", "抢险救援工具"),
    ("medical", "医疗救护"),
    ("shelter", "安置帐篷/被服"),
    ("food_water", "食品饮水"),
    ("power_lighting", "发电照明"),
    ("communication", "通信装备"),
    ("other", "其他"),
)

ROAD_CLASS = enum_of(
    "road_class",
    ("national", "国道", "#d84315"),
    ("provincial", "省道", "#ef6c00"),
    ("county", "县道", "#f9a825"),
    ("township", "乡道", "#9e9d24"),
    ("village", "村道", "#8d8d8d"),
    ("urban_arterial", "城市主干路", "#e65100"),
    ("urban_secondary", "城市次干路", "#fb8c00"),
    ("urban_branch", "城市支路", "#9e9e9e"),
    ("service", "厂区/内部道路", "#bdbdbd"),
)

# State of the routing network's contraction hierarchy (gis/hierarchy.py), shown in the network status.
ROUTING_INDEX = enum_of(
    "routing_index",
    ("none", "路网较小，无需加速索引"),
    ("building", "加速索引构建中（暂用常规算法）"),
    ("ready", "加速索引已就绪"),
    ("failed", "加速索引构建失败（使用常规算法）"),
)

ROAD_STATUS = enum_of("road_status", ("open", "通行", "#424242"), ("closed", "封闭", "#d50000"))

SITE_LAYER = enum_of("site_layer", ("enterprises", "企业"), ("protected_targets", "防护目标"))

HYDRANT_KIND = enum_of("hydrant_kind", ("above_ground", "地上式"), ("underground", "地下式"))

HYDRANT_STATUS = enum_of(
    "hydrant_status",
    ("ok", "完好", "#1565c0"),
    ("damaged", "损坏", "#d50000"),
    ("no_water", "无水/压力不足", "#ff6d00"),
)

TOWNSHIP_KIND = enum_of(
    "township_kind",
    ("town", "镇"),
    ("township", "乡"),
    ("farm", "牧场"),
    ("regiment", "兵团团场"),
)

SETTLEMENT_KIND = enum_of(
    "settlement_kind",
    ("county_seat", "县城", "#b71c1c"),
    ("township_seat", "乡镇驻地", "#4e342e"),
    ("village", "村/社区/连队", "#8d6e63"),
)

BOUNDARY_LEVEL = enum_of(
    "boundary_level",
    ("county", "县级", "#5d4037"),
    ("reserve_extent", "保护区范围（示意，非法定边界）", "#2e7d32"),
    ("industrial_park", "工业园区（规划范围）", "#ef6c00"),
)

INCIDENT_KIND = enum_of(
    "incident_kind",
    ("fire", "火灾", "#d50000"),
    ("explosion", "爆炸", "#b71c1c"),
    ("leak", "泄漏中毒", "#aa00ff"),
    ("poisoning", "中毒窒息", "#6a1b9a"),
    ("collapse", "坍塌", "#6d4c41"),
    ("traffic", "交通事故", "#ff6d00"),
    ("mine", "矿山事故", "#4e342e"),
    ("natural", "自然灾害", "#0277bd"),
    ("other", "其他", "#616161"),
)

# The incident lifecycle 接警 → 核实 → 处置中 → 结束 (DESIGN.md; issue 12), in order: a change only
# moves forward (api/services/incidents.py). ``controlled`` (险情已控制) is kept from schema
# version 1, where stored incidents use it: an optional step after 处置中 (still being handled,
# the danger contained), before 结束.
INCIDENT_STATUS = enum_of(
    "incident_status",
    ("reported", "接警", "#d50000"),
    ("verified", "核实", "#ff6d00"),
    ("responding", "处置中", "#c51162"),
    ("controlled", "已控制", "#f9a825"),
    ("closed", "结束", "#757575"),
)

# What an incident's timeline records (incident_events.kind).
INCIDENT_EVENT_KIND = enum_of(
    "incident_event_kind",
    ("created", "接警登记"),
    ("status", "状态变更"),
    ("note", "处置记录"),
    ("zone", "危险区建模"),
    ("dispatch", "调度派出"),
    ("warning", "预警发布"),
    ("evacuation", "疏散安置"),
    ("other", "其他"),
)

# Consequence models of an incident's hazard zone (incident_zones.model).
CONSEQUENCE_MODEL = enum_of(
    "consequence_model",
    ("gaussian_plume", "有毒气体扩散（高斯烟羽）", "#7b1fa2"),
    ("vce", "蒸气云爆炸（TNT当量）", "#d50000"),
    ("bleve", "沸腾液体扩展蒸气爆炸（火球）", "#ff6d00"),
    ("pool_fire", "池火", "#f9a825"),
)

# Pasquill stability classes (incident_zones.stability; gis/stability.py).
STABILITY_CLASS = enum_of(
    "stability_class",
    ("A", "A 极不稳定"),
    ("B", "B 不稳定"),
    ("C", "C 弱不稳定"),
    ("D", "D 中性"),
    ("E", "E 较稳定"),
    ("F", "F 稳定"),
)

# 生产安全事故等级 (《生产安全事故报告和调查处理条例》第三条).
SEVERITY = enum_of(
    "severity",
    ("general", "一般事故"),
    ("large", "较大事故"),
    ("major", "重大事故"),
    ("extraordinary", "特别重大事故"),
)

# Verdict of a rule check (site check, separation audit, fire-access review): codes in the
# API, these words on the map, in reports and on the CLI. 无法核查 always comes with a reason.
VERDICT_STATUS = enum_of(
    "verdict_status",
    ("pass", "符合", "#2e7d32"),
    ("fail", "不符合", "#c62828"),
    ("cannot_check", "无法核查", "#b26a00"),
)

# Where a protected target's class used by a check came from.
CLASS_BASIS = enum_of(
    "class_basis",
    ("explicit", "目标已填写"),
    ("derived", "按类别推定"),
)

# Warnings (预警信息发布): the channels a warning goes out through, and each delivery's state.
# ``unconfigured``: the channel is not set up on this server (no SMTP / webhook URL) — recorded,
# not a failure, and never retried.
WARNING_CHANNEL = enum_of(
    "warning_channel",
    ("email", "电子邮件"),
    ("webhook", "短信/广播网关（Webhook）"),
    ("call_list", "电话通知（呼叫清单）"),
)

DELIVERY_STATE = enum_of(
    "delivery_state",
    ("queued", "排队", "#f9a825"),
    ("sent", "已发送", "#1565c0"),
    ("failed", "失败", "#c62828"),
    ("acknowledged", "已确认", "#2e7d32"),
    ("unconfigured", "未配置", "#9e9e9e"),
)

# What a warning template asks people to do.
WARNING_ACTION = enum_of(
    "warning_action",
    ("shelter_in_place", "就地避险"),
    ("evacuate", "撤离"),
    ("close_windows", "关闭门窗"),
    ("stay_away", "远离/绕行"),
    ("all_clear", "解除"),
    ("notice", "通报"),
)

# Who a warning contact is (预警联系人的身份).
CONTACT_ROLE = enum_of(
    "contact_role",
    ("safety_officer", "企业安全负责人"),
    ("principal", "学校/幼儿园负责人"),
    ("hospital_duty", "医院/养老机构值班"),
    ("village_head", "村（社区）负责人"),
    ("grid_worker", "网格员"),
    ("township_duty", "乡镇应急值班"),
    ("other", "其他"),
)

# 应急避难场所 (GB 21734-2008 / GB 51143-2015 classes, simplified).
SHELTER_KIND = enum_of(
    "shelter_kind",
    ("school", "学校操场/体育馆", "#1e88e5"),
    ("square", "广场/公园", "#43a047"),
    ("stadium", "体育场馆", "#00897b"),
    ("community_centre", "社区/村委会活动场所", "#8d6e63"),
    ("hotel", "宾馆/招待所", "#00acc1"),
    ("other", "其他", "#757575"),
)

# Live data (issue 13): sensors, their live state, vehicles, alarms and geofences.
SENSOR_KIND = enum_of(
    "sensor_kind",
    ("liquid_level", "液位", "#1e88e5"),
    ("temperature", "温度", "#e53935"),
    ("pressure", "压力", "#8e24aa"),
    ("flammable_gas", "可燃气体", "#fb8c00"),
    ("toxic_gas", "有毒气体", "#6d4c41"),
    ("oxygen", "氧气含量", "#00897b"),
    ("wind_speed", "风速", "#546e7a"),
)

SENSOR_UNIT = enum_of(
    "sensor_unit",
    ("pct_lel", "%LEL"),
    ("ppm", "ppm"),
    ("mg_m3", "mg/m³"),
    ("degc", "℃"),
    ("mpa", "MPa"),
    ("kpa", "kPa"),
    ("m", "m"),
    ("pct", "%"),
    ("m_s", "m/s"),
)

# Live state of a sensor (computed by the alarm service, not stored on the feature).
SENSOR_STATE = enum_of(
    "sensor_state",
    ("normal", "正常", "#2e7d32"),
    ("high_1", "一级报警（高报）", "#f9a825"),
    ("high_2", "二级报警（高高报）", "#c62828"),
    ("low_1", "低报", "#f9a825"),
    ("low_2", "低低报", "#c62828"),
    ("offline", "离线", "#757575"),
    ("silent", "未上报", "#bdbdbd"),
)

VEHICLE_KIND = enum_of(
    "vehicle_kind",
    ("hazmat_truck", "危险货物运输车", "#ff6f00"),
    ("rescue", "救援车辆", "#d32f2f"),
)

ALARM_KIND = enum_of(
    "alarm_kind",
    ("high_1", "一级报警（高报）", "#f9a825"),
    ("high_2", "二级报警（高高报）", "#c62828"),
    ("low_1", "低报", "#f9a825"),
    ("low_2", "低低报", "#c62828"),
    ("rate", "变化速率异常", "#ef6c00"),
    ("offline", "设备离线", "#757575"),
    ("geofence", "驶入禁入区域", "#ad1457"),
    ("off_route", "偏离登记路线", "#6a1b9a"),
    ("dwell", "敏感目标附近停留", "#4527a0"),
    ("danger_overdue", "隐患整改逾期", "#b71c1c"),
)

ALARM_STATE = enum_of(
    "alarm_state",
    ("active", "报警", "#c62828"),
    ("acknowledged", "已确认", "#f9a825"),
    ("recovered", "已恢复", "#2e7d32"),
    ("closed", "已关闭", "#9e9e9e"),
)

GEOFENCE_KIND = enum_of(
    "geofence_kind",
    ("town_centre", "城镇中心区", "#c62828"),
    ("school_zone", "学校周边", "#f9a825"),
    ("closed_road", "封闭道路", "#6d4c41"),
    ("other", "其他", "#757575"),
)

GEOFENCE_RULE = enum_of(
    "geofence_rule",
    ("no_entry", "禁止驶入", "#c62828"),
    ("no_stop", "禁止停留", "#f9a825"),
)

GEOFENCE_APPLIES = enum_of(
    "geofence_applies",
    ("hazmat_truck", "危险货物运输车"),
    ("all", "全部车辆"),
)
