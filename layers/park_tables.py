"""Layers of the industrial park and the mines (issue 18): the experts (专家) the plan names with teams and materials.

An expert is offered in dispatch by the incident's kind: :data:`EXPERT_FIELDS_BY_INCIDENT` lists,
for every incident kind, the fields of expertise a command centre calls first (in that order).
The list follows the expert groups the county's emergency plans name for each kind of accident
(危险化学品、消防、矿山与尾矿库、医疗救护、环境监测、气象…); it is catalogue data, changed here, not in code.
"""

from __future__ import annotations

from safemap.layers.catalogue import Field, Layer, Style, common_fields
from safemap.layers.enums import enum_of

FORCES = "救援力量"  # the group of teams and depots (layers.definitions)
_PHONE = r"[0-9+\-() ]{5,30}"

EXPERT_FIELD = enum_of(
    "expert_field",
    ("hazchem", "危险化学品", "#6a1b9a"),
    ("fire", "消防", "#d50000"),
    ("explosives", "民用爆炸物品", "#b71c1c"),
    ("mine", "非煤矿山", "#4e342e"),
    ("tailings", "尾矿库与地质灾害", "#8d6e63"),
    ("structure", "建筑结构与抢险", "#546e7a"),
    ("electric", "电力", "#f9a825"),
    ("gas", "燃气", "#ef6c00"),
    ("medical", "医疗救护", "#2e7d32"),
    ("environment", "环境监测", "#00838f"),
    ("meteorology", "气象", "#0277bd"),
    ("traffic", "交通运输", "#ff6d00"),
)

#: Incident kind (layers.enums.INCIDENT_KIND) → fields of expertise to call, most needed first.
EXPERT_FIELDS_BY_INCIDENT: dict[str, tuple[str, ...]] = {
    "fire": ("fire", "hazchem", "structure", "electric", "gas"),
    "explosion": ("explosives", "hazchem", "gas", "structure", "fire", "medical"),
    "leak": ("hazchem", "environment", "meteorology", "medical", "fire"),
    "poisoning": ("hazchem", "medical", "environment"),
    "collapse": ("structure", "mine", "tailings", "medical"),
    "traffic": ("traffic", "hazchem", "medical"),
    "mine": ("mine", "tailings", "explosives", "medical"),
    "natural": ("tailings", "meteorology", "structure", "electric", "medical"),
    "other": (),
}

EXPERTS = Layer(
    name="experts",
    label="应急专家",
    group=FORCES,
    geometry_types=("Point",),
    fields=(
        *common_fields(),
        Field("field", "enum", "专业领域", required=True, enum=EXPERT_FIELD),
        Field("specialties", "str", "专长", max_length=300),
        Field("title", "str", "职称", max_length=50),
        Field("employer", "str", "工作单位", max_length=100),
        Field("phone", "str", "联系电话", required=True, max_length=30, pattern=_PHONE),
        Field("available", "bool", "可联系", description="False while the expert is away or cannot be called."),
    ),
    style=Style("circle", "#5e35b1", by="field", radius=6),
    editors=frozenset({"dispatcher", "admin"}),
    description=(
        "应急专家库: offered in dispatch by incident kind (EXPERT_FIELDS_BY_INCIDENT in layers/park_tables.py); "
        "the point is where the expert works (their distance is shown, they usually advise by phone first)."
    ),
)

PARK_LAYERS: tuple[Layer, ...] = (EXPERTS,)
