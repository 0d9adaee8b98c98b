"""Attribute tables of standards data: separation rules, GB 18218 tables, GB 36894 limits, model inputs.

Each table is a :class:`~layers.catalogue.Layer` without geometry, seeded from a CSV
under ``data/standards/`` when the store first creates it, and edited afterwards by an
admin through ``/api/layers/<name>`` (versioned and audited like any layer). The
analyses (``gis/``, via ``api/safety_service.py``) read them from the store at run time,
so a corrected number takes effect without a release. Every row carries its ``source``
(standard, clause and the public page the number was read from); values not confirmed
against a primary copy say 【未核实】 in ``source`` or ``note``.
"""

from __future__ import annotations

from safemap.layers.catalogue import Field, Layer, common_fields
from safemap.layers.enums import GB36894_CLASS, HAZARD_CLASS, VAPOUR_RECOVERY, enum_of

STANDARDS = "标准与参数"
ADMINS = frozenset({"admin"})


#: Which rule family a hazard source falls under (derived in gis/separation.py from its kind and substances).
HAZARD_CATEGORY = enum_of(
    "hazard_category",
    ("fuel_station", "加油站埋地油罐（GB 50156）"),
    ("fuel_dispenser", "加油机、通气管管口（GB 50156）"),
    ("lpg_storage", "液化石油气储罐/瓶库（GB 50028）"),
    ("flammable_liquid_ab", "甲、乙类液体储罐（GB 50016）"),
    ("flammable_liquid_c", "丙类液体储罐（GB 50016）"),
    ("hazchem_site", "危险化学品场所（消防站选址）"),
    ("explosives", "爆炸物品（GB 6722 冲击波超压）"),
)

TARGET_LAYER = enum_of(
    "target_layer",
    ("protected_targets", "防护目标"),
    ("rescue_teams", "救援队伍（消防站）"),
    ("roads", "道路"),
    ("none", "无对应图层（不自动核查）"),
)

QRA_CATEGORY = enum_of(
    "qra_category",
    ("liquefied_flammable_gas", "液化易燃气体（BLEVE、蒸气云爆炸）"),
    ("flammable_gas", "易燃气体（蒸气云爆炸）"),
    ("flammable_liquid", "易燃液体（池火）"),
    ("toxic_gas", "有毒气体（扩散）"),
)

SCENARIO_MODEL = enum_of(
    "scenario_model",
    ("bleve", "BLEVE 火球"),
    ("vce", "蒸气云爆炸（TNT当量）"),
    ("pool_fire", "池火"),
    ("toxic_plume", "有毒气体连续泄漏（高斯烟羽）"),
)

LIQUID_FIRE_CLASS = enum_of("liquid_fire_class", ("甲", "甲类"), ("乙", "乙类"), ("丙", "丙类"))


SEPARATION_RULES = Layer(
    name="separation_rules",
    label="安全间距规则",
    group=STANDARDS,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("standard", "str", "标准", required=True, max_length=100),
        Field("clause", "str", "条款/表号", required=True, max_length=100),
        Field("hazard_category", "enum", "危险源类别", required=True, enum=HAZARD_CATEGORY),
        Field(
            "station_grade", "int", "加油站等级", minimum=1, maximum=3, description="GB 50156 一/二/三级; empty: any"
        ),
        Field("vapour_recovery", "enum", "油气回收", enum=VAPOUR_RECOVERY, description="Empty: any."),
        Field("volume_min_m3", "float", "总容积下限（不含）", unit="m³", minimum=0),
        Field("volume_max_m3", "float", "总容积上限（含）", unit="m³", minimum=0),
        Field("single_tank_max_m3", "float", "单罐容积上限", unit="m³", minimum=0),
        Field("target_layer", "enum", "目标图层", required=True, enum=TARGET_LAYER),
        Field("target_field", "str", "目标字段", max_length=50, description="Empty: every feature of the layer."),
        Field("target_values", "str", "目标取值", max_length=500, description="Codes separated by |"),
        Field("target_label", "str", "目标说明", max_length=200),
        Field("min_distance_m", "float", "最小间距", unit="m", minimum=0, maximum=100_000),
        Field(
            "overpressure_kpa",
            "float",
            "允许超压",
            unit="kPa",
            minimum=0,
            description="Instead of a distance: the distance where the blast overpressure falls to this value.",
        ),
        Field("measured_between", "str", "间距起止点", max_length=300),
        Field("enabled", "bool", "启用"),
        Field("note", "str", "备注", max_length=1000),
    ),
    style=None,
    editors=ADMINS,
    seed="standards/separation_rules.csv",
    description="Minimum separation distances by standard and clause (GB 50156, GB 50028, GB 50016, 建标152, GB 6722).",
)

GB18218_SUBSTANCES = Layer(
    name="gb18218_substances",
    label="GB 18218 危险化学品临界量（表1）",
    group=STANDARDS,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("aliases", "str", "别名", max_length=500, description="Other names separated by |"),
        Field("cas", "str", "CAS号", max_length=20),
        Field("critical_t", "float", "临界量Q", required=True, unit="t", minimum=0.0001),
        Field("beta", "float", "校正系数β（表3）", minimum=0.1, maximum=100),
        Field("beta_class", "enum", "β所按类别（表4）", enum=HAZARD_CLASS),
        Field("note", "str", "备注", max_length=1000),
    ),
    style=None,
    editors=ADMINS,
    seed="standards/gb18218_substances.csv",
)

GB18218_CLASSES = Layer(
    name="gb18218_classes",
    label="GB 18218 危险化学品类别临界量（表2）与β（表4）",
    group=STANDARDS,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("code", "enum", "类别", required=True, enum=HAZARD_CLASS),
        Field("description", "str", "说明", max_length=300),
        Field("critical_t", "float", "临界量Q", required=True, unit="t", minimum=0.0001),
        Field("beta", "float", "校正系数β", required=True, minimum=0.1, maximum=100),
        Field("note", "str", "备注", max_length=1000),
    ),
    style=None,
    editors=ADMINS,
    seed="standards/gb18218_classes.csv",
)

GB36894_LIMITS = Layer(
    name="gb36894_limits",
    label="GB 36894 个人风险基准",
    group=STANDARDS,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("target_class", "enum", "防护目标类别", required=True, enum=GB36894_CLASS),
        Field("new_plant_per_year", "float", "新建装置个人风险基准", required=True, unit="/a", minimum=0, maximum=1),
        Field(
            "existing_plant_per_year", "float", "在役装置个人风险基准", required=True, unit="/a", minimum=0, maximum=1
        ),
        Field("note", "str", "备注", max_length=1000),
    ),
    style=None,
    editors=ADMINS,
    seed="standards/gb36894_limits.csv",
)

SUBSTANCE_PROPERTIES = Layer(
    name="substance_properties",
    label="物质参数（后果模型）",
    group=STANDARDS,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("aliases", "str", "别名", max_length=500),
        Field("cas", "str", "CAS号", max_length=20),
        Field("qra_category", "enum", "定量风险类别", enum=QRA_CATEGORY),
        Field("molar_mass_g_mol", "float", "摩尔质量", unit="g/mol", minimum=0),
        Field("liquid_density_t_m3", "float", "液相密度", unit="t/m³", minimum=0),
        Field("heat_of_combustion_kj_kg", "float", "燃烧热", unit="kJ/kg", minimum=0),
        Field("burning_rate_kg_m2_s", "float", "池火燃烧速率", unit="kg/(m²·s)", minimum=0),
        Field("liquid_fire_class", "enum", "液体火灾危险性", enum=LIQUID_FIRE_CLASS),
        Field("aegl1_ppm", "float", "AEGL-1（60 min）", unit="ppm", minimum=0),
        Field("aegl2_ppm", "float", "AEGL-2（60 min）", unit="ppm", minimum=0),
        Field("aegl3_ppm", "float", "AEGL-3（60 min）", unit="ppm", minimum=0),
        Field("erpg2_ppm", "float", "ERPG-2", unit="ppm", minimum=0),
        Field("idlh_ppm", "float", "IDLH", unit="ppm", minimum=0),
        Field("probit_a", "float", "毒性概率函数 a（ppm, min）"),
        Field("probit_b", "float", "毒性概率函数 b"),
        Field("probit_n", "float", "毒性概率函数 n"),
        Field("note", "str", "备注", max_length=1000),
    ),
    style=None,
    editors=ADMINS,
    seed="standards/substance_properties.csv",
)

RISK_SCENARIOS = Layer(
    name="risk_scenarios",
    label="定量风险评价事故场景与频率",
    group=STANDARDS,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("qra_category", "enum", "定量风险类别", required=True, enum=QRA_CATEGORY),
        Field("model", "enum", "后果模型", required=True, enum=SCENARIO_MODEL),
        Field("release_fraction", "float", "泄漏量占存量比例", minimum=0, maximum=1),
        Field("release_duration_s", "float", "泄漏持续时间", unit="s", minimum=1, maximum=86_400),
        Field("release_rate_kg_s", "float", "泄漏速率", unit="kg/s", minimum=0),
        Field("frequency_per_year", "float", "场景频率", required=True, unit="/a", minimum=0, maximum=1),
        Field("enabled", "bool", "启用"),
        Field("note", "str", "备注", max_length=1000),
    ),
    style=None,
    editors=ADMINS,
    seed="standards/risk_scenarios.csv",
)

STANDARDS_TABLES: tuple[Layer, ...] = (
    SEPARATION_RULES,
    GB18218_SUBSTANCES,
    GB18218_CLASSES,
    GB36894_LIMITS,
    SUBSTANCE_PROPERTIES,
    RISK_SCENARIOS,
)
