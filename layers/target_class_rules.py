"""The table that derives a protected target's GB 50156 class from its kind (GB 50156-2021 附录B).

A :class:`~layers.catalogue.Layer` without geometry like those of
:mod:`safemap.layers.standards_tables`, seeded from ``data/standards/target_class_rules.csv``
and edited by an admin afterwards. Each row says which class (``class_value``) a target of
``category`` gets, optionally only within a population range (``population_min`` <
people ≤ ``population_max``), with the standard and clause it follows and its ``source``;
a row with no ``class_value`` records why the standard does not allow a class to be derived
(hospitals by beds, markets by floor area, homes by 附录B B.0.3/B.0.4 not retrieved …), and
the safety checks then report 无法核查 with that ``note``. A class entered on the target
always wins over the derived one. GB 50028 LPG rules select targets by ``category`` directly
(the rule's target values are that mapping), so they need no row here.
"""

from __future__ import annotations

from safemap.layers.catalogue import EnumType, Field, Layer, Member, common_fields
from safemap.layers.enums import TARGET_CATEGORY

#: Fields of ``protected_targets`` a row can fill.
CLASS_FIELD = EnumType("class_field", (Member("gb50156_class", "GB 50156 民用建筑物保护类别"),))

TARGET_CLASS_RULES = Layer(
    name="target_class_rules",
    label="防护目标保护类别推定（GB 50156 附录B）",
    group="标准与参数",
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("target_field", "enum", "推定字段", required=True, enum=CLASS_FIELD),
        Field("category", "enum", "防护目标类别", required=True, enum=TARGET_CATEGORY),
        Field("population_min", "float", "人数下限（不含）", unit="人", minimum=0),
        Field("population_max", "float", "人数上限（含）", unit="人", minimum=0),
        Field(
            "class_value",
            "str",
            "推定类别",
            max_length=50,
            description="Code of the class given (e.g. important_public); empty: not derivable (see note).",
        ),
        Field("standard", "str", "标准", required=True, max_length=100),
        Field("clause", "str", "条款", max_length=200),
        Field("note", "str", "备注", max_length=1000),
    ),
    style=None,
    editors=frozenset({"admin"}),
    seed="standards/target_class_rules.csv",
    description="Protected-target class derived from its category (GB 50156-2021 Appendix B).",
)

TARGET_CLASS_TABLES: tuple[Layer, ...] = (TARGET_CLASS_RULES,)
