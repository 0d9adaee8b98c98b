"""Layers of the warning and evacuation work of an incident: contacts, warnings, deliveries, shelters.

* ``warning_contacts`` 预警联系人 — who is told when a zone covers a school, hospital,
  village or enterprise: name, organisation, role, phone, e-mail, and the feature they
  answer for (``target_id``, ``settlement_id``, ``enterprise_id``) or, with none of
  those, the township they keep duty for; the point is where that place is. The other
  layers hold at most an enterprise's safety officer and phone
  (``enterprises.contact/phone``) and no e-mail at all, so the people to warn need a
  layer of their own.
* ``warnings`` 预警记录 — one per send: incident, template, the message as sent, the bands
  and channels chosen, who sent it and when, the idempotency key that makes a resend
  harmless, and (as geometry) the area warned.
* ``warning_deliveries`` 预警送达 — one per recipient and channel, with its state
  (排队 → 已发送 / 失败 → 已确认; 未配置 when the channel is not set up), attempts, last
  error, the next attempt's time and the lease of the worker sending it. The outbox lives
  here, in the store, so a restart loses nothing.
* ``shelters`` 应急避难场所 — capacity (persons) and facilities, for evacuation.

``warnings`` and ``warning_deliveries`` are written by the warning service only
(``editors`` empty), like ``dispatches``.
"""

from __future__ import annotations

from safemap.layers.catalogue import Field, GeometryType, Layer, Style, common_fields
from safemap.layers.enums import CONTACT_ROLE, DELIVERY_STATE, SHELTER_KIND, WARNING_CHANNEL

EVENTS = "应急事件"
FORCES = "救援力量"
POLY: tuple[GeometryType, ...] = ("Polygon", "MultiPolygon")
PHONE = r"[0-9+\-() ]{5,30}"
EMAIL = r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,63}"

WARNING_CONTACTS = Layer(
    name="warning_contacts",
    label="预警联系人",
    group=EVENTS,
    geometry_types=("Point",),
    fields=(
        *common_fields(),
        Field("organisation", "str", "单位", max_length=200),
        Field("role", "enum", "身份", required=True, enum=CONTACT_ROLE),
        Field("phone", "str", "联系电话", max_length=30, pattern=PHONE),
        Field("email", "str", "电子邮箱", max_length=254, pattern=EMAIL),
        Field("target_id", "int", "防护目标编号", references="protected_targets"),
        Field("settlement_id", "int", "居民点编号", references="settlements"),
        Field("enterprise_id", "int", "企业编号", references="enterprises"),
        Field("note", "str", "备注", max_length=500),
    ),
    style=Style("circle", "#6d4c41", by="role", radius=3),
    editors=frozenset({"dispatcher", "admin"}),
    description=(
        "People to warn, at the place they answer for: linked to a protected target, settlement or "
        "enterprise; with no link, the duty "
        "contact of the township named in `township` (warned when the zone reaches the township)."
    ),
)

WARNINGS = Layer(
    name="warnings",
    label="预警记录",
    group=EVENTS,
    geometry_types=POLY,
    fields=(
        *common_fields(),
        Field("incident_id", "int", "事件编号", required=True, references="incidents"),
        Field("zone_id", "int", "危险区版本编号", minimum=1),
        Field("template", "str", "模板代码", required=True, max_length=50),
        Field("title", "str", "标题", required=True, max_length=200),
        Field("message", "str", "预警内容", required=True, max_length=2000),
        Field("bands", "str", "预警范围（分区）", required=True, max_length=500, description="Labels joined by |"),
        Field("channels", "str", "发布渠道", required=True, max_length=100, description="Codes joined by |"),
        Field("recipients", "int", "接收对象数", required=True, unit="个", minimum=0),
        Field("created_by", "str", "发布人", required=True, max_length=100),
        Field("created_at", "datetime", "发布时间", required=True),
        Field("idempotency_key", "str", "幂等键", required=True, max_length=200),
        Field(
            "request_digest",
            "str",
            "请求摘要",
            max_length=64,
            description="SHA-256 of template, placeholder values, bands and channels: a replayed key must match it.",
        ),
    ),
    style=Style("fill", "#ff6f00", weight=2, fill_opacity=0.08),
    editors=frozenset(),
    temporal="created_at",
    description="One row per warning sent for an incident; the geometry is the area warned (the bands chosen).",
)

WARNING_DELIVERIES = Layer(
    name="warning_deliveries",
    label="预警送达记录",
    group=EVENTS,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("warning_id", "int", "预警编号", required=True, references="warnings"),
        Field("incident_id", "int", "事件编号", required=True, references="incidents"),
        Field("channel", "enum", "渠道", required=True, enum=WARNING_CHANNEL),
        Field("state", "enum", "送达状态", required=True, enum=DELIVERY_STATE),
        Field("organisation", "str", "单位", max_length=200),
        Field("role", "str", "身份", max_length=50),
        Field("phone", "str", "联系电话", max_length=30),
        Field("email", "str", "电子邮箱", max_length=254),
        Field("band", "str", "所在分区", max_length=100),
        Field("target_layer", "str", "对象图层", max_length=50),
        Field("target_id", "int", "对象编号", minimum=1),
        Field("population", "int", "涉及人数", unit="人", minimum=0),
        Field("attempts", "int", "发送次数", required=True, minimum=0),
        Field("last_error", "str", "最近错误", max_length=1000),
        Field("next_attempt_at", "datetime", "下次发送时间"),
        Field("lease_until", "datetime", "发送锁定至"),
        Field("claimed_by", "str", "发送进程", max_length=100),
        Field("sent_at", "datetime", "发送时间"),
        Field("acknowledged_at", "datetime", "确认时间"),
        Field("acknowledged_by", "str", "确认人", max_length=100),
        Field("response", "str", "回执", max_length=500),
    ),
    style=None,
    editors=frozenset(),
    description="One row per recipient and channel of a warning: the outbox of the delivery worker.",
)

SHELTERS = Layer(
    name="shelters",
    label="应急避难场所",
    group=FORCES,
    geometry_types=("Point", *POLY),
    fields=(
        *common_fields(),
        Field("kind", "enum", "类型", required=True, enum=SHELTER_KIND),
        Field("capacity", "int", "可容纳人数", required=True, unit="人", minimum=0, maximum=1_000_000),
        Field("area_m2", "float", "有效避难面积", unit="m²", minimum=0, maximum=10_000_000),
        Field("facilities", "str", "配套设施", max_length=500),
        Field("address", "str", "地址", max_length=200),
        Field("manager", "str", "管理人", max_length=50),
        Field("phone", "str", "值班电话", max_length=30, pattern=PHONE),
        Field("available", "bool", "可启用", description="False: closed (repairs, already full); not assigned."),
    ),
    style=Style("circle", "#2e7d32", by="kind", radius=7),
    editors=frozenset({"dispatcher", "planner", "admin"}),
    description="Emergency shelters (应急避难场所) with their capacity in persons; evacuation assigns people to them.",
)

WARNING_LAYERS: tuple[Layer, ...] = (WARNING_CONTACTS, WARNINGS, WARNING_DELIVERIES, SHELTERS)
