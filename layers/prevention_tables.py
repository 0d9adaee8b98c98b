"""The layers of double prevention (双重预防, issue 17).

* ``risk_zones`` 风险分区 — polygons drawn inside an enterprise or mine, coloured by the highest
  level of the risk points placed in them (the 四色安全风险空间分布图).
* ``risk_points`` 风险点 — 设备设施、作业活动、区域场所 of one enterprise, assessed by LEC or LS;
  ``score`` and ``risk_level`` are derived from the factors and the bands of ``risk_level_bands``
  on every write (``api/services/risk_points.py``).
* ``inspections`` 检查任务, ``hidden_dangers`` 隐患 with their timeline ``hidden_danger_events``
  and ``danger_photos`` (the image bytes live in ``safemap_photos``, :mod:`layers.photos`).
  A finding's status moves only through ``api/services/dangers.py`` (发现 → 整改中 → 待复查 → 销号).
* ``accidents`` 生产安全事故 — severity derived by 国务院令第493号 第三条 (``accident_severity_rules``).
* ``indicator_years`` — the denominators of the plan's 专栏1 indicators, one row per year.
* Standards tables seeded from ``data/standards/``: ``risk_factor_values``, ``risk_level_bands``,
  ``accident_severity_rules``, ``plan_indicators``, ``checklist_items``.
"""

from __future__ import annotations

from safemap.layers import prevention_enums as pe
from safemap.layers.catalogue import Field, Layer, Style, common_fields
from safemap.layers.enums import INDUSTRY, RISK_LEVEL, SEVERITY

PREVENTION = "双重预防"
STANDARDS = "标准与参数"
ADMINS = frozenset({"admin"})
#: Risk points and zones are kept by the office and by each enterprise for itself (row-level).
RISK_EDITORS = frozenset({"planner", "enterprise", "admin"})
#: Findings and photos are written only through the hidden-danger services (their own role rules).
SERVICE_ONLY = frozenset({"admin"})
_PHONE = r"[0-9+\-() ]{5,30}"

RISK_ZONES = Layer(
    name="risk_zones",
    label="风险分区",
    group=PREVENTION,
    geometry_types=("Polygon", "MultiPolygon"),
    fields=(
        *common_fields(),
        Field("enterprise_id", "int", "所属企业编号", required=True, references="enterprises"),
        Field(
            "risk_level",
            "enum",
            "风险等级",
            enum=RISK_LEVEL,
            computed=True,
            description="Highest level of the risk points in the zone (their zone_id); empty while it has none.",
        ),
        Field("note", "str", "说明", max_length=1000),
    ),
    style=Style("fill", "#9e9e9e", by="risk_level", weight=1, fill_opacity=0.55),
    editors=RISK_EDITORS,
    description="四色安全风险分区: each zone takes the highest level of its risk points.",
)

RISK_POINTS = Layer(
    name="risk_points",
    label="风险点",
    group=PREVENTION,
    geometry_types=("Point",),
    fields=(
        *common_fields(),
        Field("enterprise_id", "int", "所属企业编号", required=True, references="enterprises"),
        Field("zone_id", "int", "所在风险分区编号", references="risk_zones"),
        Field("kind", "enum", "风险点类型", required=True, enum=pe.RISK_POINT_KIND),
        Field("method", "enum", "评价方法", required=True, enum=pe.RISK_METHOD),
        Field("lec_l", "float", "L（事故发生的可能性）", minimum=0.1, maximum=10),
        Field("lec_e", "float", "E（暴露于危险环境的频繁程度）", minimum=0.5, maximum=10),
        Field("lec_c", "float", "C（发生事故的后果）", minimum=1, maximum=100),
        Field("ls_l", "int", "L（可能性等级）", minimum=1, maximum=5),
        Field("ls_s", "int", "S（严重性等级）", minimum=1, maximum=5),
        Field("score", "float", "风险值", computed=True, description="D = L×E×C (LEC) or R = L×S (LS)."),
        Field("risk_level", "enum", "风险等级", enum=RISK_LEVEL, computed=True),
        Field("hazard", "str", "主要危险有害因素", max_length=500),
        Field("measures", "str", "管控措施", max_length=2000),
        Field("control_level", "str", "管控层级", max_length=50, description="e.g. 公司级、车间级、班组级、岗位级"),
        Field("responsible", "str", "责任人", max_length=50),
        Field("phone", "str", "联系电话", max_length=30, pattern=_PHONE),
        Field("assessed_on", "date", "评价日期"),
    ),
    style=Style("circle", "#9e9e9e", by="risk_level", radius=6),
    editors=RISK_EDITORS,
    description="Risk points; score and level derived from the method's factors and risk_level_bands.",
)

INSPECTIONS = Layer(
    name="inspections",
    label="检查任务",
    group=PREVENTION,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("scope", "enum", "检查范围", required=True, enum=pe.INSPECTION_SCOPE),
        Field("industry", "enum", "行业", enum=INDUSTRY),
        Field("enterprise_id", "int", "被检查企业编号", references="enterprises"),
        Field("checklist", "str", "检查表", max_length=100, description="A checklist name of checklist_items."),
        Field("planned_on", "date", "计划日期"),
        Field("inspector", "str", "检查人", max_length=100),
        Field("status", "enum", "任务状态", required=True, enum=pe.INSPECTION_STATUS),
        Field("finished_at", "datetime", "完成时间"),
    ),
    style=None,
    editors=frozenset({"inspector", "planner", "admin"}),
    temporal="planned_on",
    description="Inspection tasks by township grid, industry or enterprise, with a checklist as data.",
)

HIDDEN_DANGERS = Layer(
    name="hidden_dangers",
    label="隐患",
    group=PREVENTION,
    geometry_types=("Point",),
    fields=(
        *common_fields(),
        Field("enterprise_id", "int", "所属企业编号", references="enterprises"),
        Field("inspection_id", "int", "检查任务编号", references="inspections"),
        Field("grade", "enum", "隐患等级", required=True, enum=pe.DANGER_GRADE),
        Field("description", "str", "隐患描述", required=True, max_length=2000),
        Field("clause", "str", "违反条款", max_length=300),
        Field("checklist_item", "str", "检查项", max_length=300),
        Field("found_at", "datetime", "发现时间", required=True),
        Field("found_by", "str", "发现人", max_length=100),
        Field("responsible", "str", "整改责任人", max_length=100),
        Field("deadline", "date", "整改期限", required=True),
        Field("status", "enum", "状态", required=True, enum=pe.DANGER_STATUS),
        Field("measures", "str", "整改措施", max_length=2000),
        Field("reviewer", "str", "复查人", max_length=100),
        Field("closed_at", "datetime", "销号时间"),
        Field(
            "client_uuid",
            "str",
            "客户端编号",
            max_length=64,
            description="Set by the phone form; a finding sent twice (offline queue replay) is stored once.",
        ),
    ),
    style=Style("circle", "#e53935", by="grade", radius=6),
    editors=SERVICE_ONLY,
    temporal="found_at",
    description="Findings 发现 → 整改中 → 待复查 → 销号 through /api/dangers; 逾期 while open past the deadline.",
)

DANGER_EVENTS = Layer(
    name="hidden_danger_events",
    label="隐患处置记录",
    group=PREVENTION,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("danger_id", "int", "隐患编号", required=True, references="hidden_dangers"),
        Field("at", "datetime", "时间", required=True),
        Field("kind", "enum", "记录类型", required=True, enum=pe.DANGER_EVENT_KIND),
        Field("actor", "str", "操作人", required=True, max_length=100),
        Field("text", "str", "内容", max_length=4000),
        Field("photos", "str", "照片编号", max_length=500, description="JSON list of danger_photos ids."),
    ),
    style=None,
    editors=SERVICE_ONLY,
    temporal="at",
    description="Each step of a finding with who and when, appended by api/services/dangers.py.",
)

DANGER_PHOTOS = Layer(
    name="danger_photos",
    label="隐患照片",
    group=PREVENTION,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("danger_id", "int", "隐患编号", required=True, references="hidden_dangers"),
        Field("stage", "enum", "拍摄阶段", required=True, enum=pe.PHOTO_STAGE),
        Field("content_type", "str", "图片格式", required=True, max_length=50),
        Field("size_bytes", "int", "大小", unit="B", minimum=1),
        Field("sha256", "str", "校验值", max_length=64),
        Field("width", "int", "宽", unit="px", minimum=1),
        Field("height", "int", "高", unit="px", minimum=1),
        Field("taken_at", "datetime", "拍摄时间"),
        Field("lon", "float", "拍摄经度", unit="°", minimum=-180, maximum=180),
        Field("lat", "float", "拍摄纬度", unit="°", minimum=-90, maximum=90),
        Field("uploaded_by", "str", "上传人", max_length=100),
    ),
    style=None,
    editors=SERVICE_ONLY,
    description="Photo metadata (EXIF time and GPS where present); the bytes are in safemap_photos.",
)

ACCIDENTS = Layer(
    name="accidents",
    label="生产安全事故",
    group=PREVENTION,
    geometry_types=("Point",),
    fields=(
        *common_fields(),
        Field("occurred_at", "datetime", "发生时间", required=True),
        Field("industry", "enum", "行业领域", required=True, enum=pe.ACCIDENT_INDUSTRY),
        Field("kind", "enum", "事故类别", enum=pe.ACCIDENT_KIND),
        Field("deaths", "int", "死亡人数", required=True, unit="人", minimum=0, maximum=100_000),
        Field("serious_injuries", "int", "重伤人数（含急性工业中毒）", unit="人", minimum=0, maximum=100_000),
        Field("minor_injuries", "int", "轻伤人数", unit="人", minimum=0, maximum=100_000),
        Field("direct_loss_wan", "float", "直接经济损失", unit="万元", minimum=0, maximum=100_000_000),
        Field(
            "severity",
            "enum",
            "事故等级",
            enum=SEVERITY,
            computed=True,
            description="国务院令第493号 第三条, from accident_severity_rules.",
        ),
        Field("vehicle_operating", "bool", "营运车辆事故"),
        Field("enterprise_id", "int", "涉事企业编号", references="enterprises"),
        Field("description", "str", "事故经过", max_length=4000),
    ),
    style=Style("circle", "#6d4c41", by="severity", radius=7),
    editors=frozenset({"planner", "admin"}),
    temporal="occurred_at",
    description="Production-safety accidents; severity derived by the 493号令 thresholds on every write.",
)

INDICATOR_YEARS = Layer(
    name="indicator_years",
    label="规划指标基础数据",
    group=PREVENTION,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("year", "int", "年份", required=True, minimum=2000, maximum=2100),
        Field("gdp_100m_yuan", "float", "地区生产总值", unit="亿元", minimum=0),
        Field("employees_gmt", "int", "工矿商贸就业人员", unit="人", minimum=0),
        Field("coal_output_10kt", "float", "煤炭产量", unit="万吨", minimum=0),
        Field("operating_vehicles", "int", "营运车辆", unit="辆", minimum=0),
    ),
    style=None,
    editors=frozenset({"planner", "admin"}),
    description="Denominators of the 专栏1 indicators per year (statistical yearbook figures).",
)

RISK_FACTOR_VALUES = Layer(
    name="risk_factor_values",
    label="风险评价取值表",
    group=STANDARDS,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("method", "enum", "评价方法", required=True, enum=pe.RISK_METHOD),
        Field("factor", "str", "因素", required=True, max_length=2),
        Field("value", "float", "分值", required=True, minimum=0),
        Field("meaning", "str", "含义", max_length=200),
    ),
    style=None,
    editors=ADMINS,
    seed="standards/risk_factor_values.csv",
)

RISK_LEVEL_BANDS = Layer(
    name="risk_level_bands",
    label="风险分级标准",
    group=STANDARDS,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("method", "enum", "评价方法", required=True, enum=pe.RISK_METHOD),
        Field("risk_level", "enum", "风险等级", required=True, enum=RISK_LEVEL),
        Field("min_score", "float", "风险值下限（不含）"),
        Field("max_score", "float", "风险值上限（含）"),
        Field("meaning", "str", "含义", max_length=200),
    ),
    style=None,
    editors=ADMINS,
    seed="standards/risk_level_bands.csv",
)

ACCIDENT_SEVERITY_RULES = Layer(
    name="accident_severity_rules",
    label="事故等级划分标准",
    group=STANDARDS,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("severity", "enum", "事故等级", required=True, enum=SEVERITY),
        Field("min_deaths", "int", "死亡人数下限（含）", unit="人", minimum=0),
        Field("min_serious_injuries", "int", "重伤人数下限（含）", unit="人", minimum=0),
        Field("min_loss_wan", "float", "直接经济损失下限（含）", unit="万元", minimum=0),
    ),
    style=None,
    editors=ADMINS,
    seed="standards/accident_severity_rules.csv",
)

PLAN_INDICATORS = Layer(
    name="plan_indicators",
    label="规划专栏1指标",
    group=STANDARDS,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("code", "str", "指标代码", required=True, max_length=50),
        Field("label", "str", "指标", required=True, max_length=100),
        Field("measure", "enum", "统计量", required=True, enum=pe.INDICATOR_MEASURE),
        Field("industries", "str", "行业领域", max_length=300, description="accident_industry codes joined by |"),
        Field("severity", "enum", "事故等级", enum=SEVERITY),
        Field("denominator", "enum", "分母", enum=pe.INDICATOR_DENOMINATOR),
        Field("per", "float", "分母换算", minimum=0),
        Field("unit", "str", "单位", max_length=30),
        Field("target_kind", "enum", "目标类型", required=True, enum=pe.INDICATOR_TARGET),
        Field("target_value", "float", "目标值"),
        Field("baseline_year", "int", "基准年", required=True, minimum=2000, maximum=2100),
        Field("target_year", "int", "目标年", required=True, minimum=2000, maximum=2100),
    ),
    style=None,
    editors=ADMINS,
    seed="standards/plan_indicators.csv",
)

CHECKLIST_ITEMS = Layer(
    name="checklist_items",
    label="隐患排查检查表",
    group=STANDARDS,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("checklist", "str", "检查表", required=True, max_length=100),
        Field("seq", "int", "序号", minimum=0),
        Field("item", "str", "检查内容", required=True, max_length=500),
        Field("clause", "str", "依据条款", max_length=300),
    ),
    style=None,
    editors=ADMINS,
    seed="standards/checklist_items.csv",
)

PREVENTION_LAYERS: tuple[Layer, ...] = (
    RISK_ZONES,
    RISK_POINTS,
    ACCIDENTS,
    HIDDEN_DANGERS,
    INSPECTIONS,
    DANGER_EVENTS,
    DANGER_PHOTOS,
    INDICATOR_YEARS,
)
PREVENTION_STANDARDS: tuple[Layer, ...] = (
    RISK_FACTOR_VALUES,
    RISK_LEVEL_BANDS,
    ACCIDENT_SEVERITY_RULES,
    PLAN_INDICATORS,
    CHECKLIST_ITEMS,
)
