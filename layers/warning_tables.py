"""Warning templates as data: the wording of 预警信息 a dispatcher sends, without geometry.

``warning_templates`` holds one row per message (就地避险, 向…方向撤离, 关闭门窗, 远离, 解除),
with a title and a body in Chinese whose placeholders in braces — ``{物质}``, ``{方向}``,
``{撤离方向}``, ``{联系电话}``, ``{事件}``, ``{时间}`` — are filled in when the warning is
composed (``api/services/warnings.py``); a placeholder without a value is refused (422,
naming it). The table is seeded from ``data/standards/warning_templates.csv`` when the store
first creates it and edited afterwards by an admin through ``/api/layers/warning_templates``
(versioned, audited), so the county can adopt its own approved wording without a release.
The seeded rows are SafeMap's own wording (``source`` says so): synthetic, not an official
template.
"""

from __future__ import annotations

from safemap.layers.catalogue import Field, Layer, common_fields
from safemap.layers.enums import WARNING_ACTION

STANDARDS = "标准与参数"

#: The placeholders a template may use; each must be given a value when a warning is composed.
PLACEHOLDERS: tuple[str, ...] = ("物质", "方向", "撤离方向", "联系电话", "事件", "时间")

WARNING_TEMPLATES = Layer(
    name="warning_templates",
    label="预警信息模板",
    group=STANDARDS,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field(
            "code",
            "str",
            "模板代码",
            required=True,
            max_length=50,
            pattern=r"[a-z][a-z0-9_]*",
            description="What a request names the template by (e.g. shelter_in_place).",
        ),
        Field("action", "enum", "防护行动", required=True, enum=WARNING_ACTION),
        Field("title", "str", "标题", required=True, max_length=200),
        Field(
            "body",
            "str",
            "正文",
            required=True,
            max_length=1000,
            description="Message text; placeholders in braces: " + "、".join("{" + p + "}" for p in PLACEHOLDERS),
        ),
        Field("bands_hint", "str", "适用范围", max_length=200),
        Field("enabled", "bool", "启用"),
        Field("note", "str", "备注", max_length=1000),
    ),
    style=None,
    editors=frozenset({"admin"}),
    seed="standards/warning_templates.csv",
    description="Chinese warning messages with placeholders {物质} {方向} {撤离方向} {联系电话} {事件} {时间}.",
)

WARNING_TABLES: tuple[Layer, ...] = (WARNING_TEMPLATES,)
