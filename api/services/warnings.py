"""Warnings of an incident (预警信息发布): compose from a template, find who is inside, queue, record, acknowledge.

A dispatcher picks a template (``warning_templates``), the bands of the incident's current
zone and the channels; :func:`send_warning` fills the placeholders, finds the recipients
(:mod:`safemap.api.services.warning_recipients`) and writes, in **one transaction**, a
``warnings`` row and one ``warning_deliveries`` row per recipient and channel — the
outbox the delivery worker (:mod:`safemap.api.services.warning_worker`) empties. Nothing
is sent inside the request, so a slow SMTP server never holds a dispatcher's screen.

Idempotency: every send has a key — the client's ``Idempotency-Key`` or, without one, a
digest of the incident, zone version, template, placeholder values, bands and channels
(not the time filled in, so a double click across a minute boundary is still one
warning). The incident row is locked while the key is looked up, so a double click or a
retried POST (even two at once, on PostGIS) finds the first warning and creates nothing;
a key reused for a different warning is refused (409). To repeat a warning on purpose,
send it with a new key.

Channels not set up on the server (no SMTP URL, no webhook URL or secret) get deliveries in
state 未配置: recorded, not failures, never retried. The call list always works: its
deliveries wait (排队) until someone has phoned and marks them 已确认.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from sqlalchemy import select

from safemap.api.services.problems import invalid
from safemap.api.services.warning_channels import ChannelConfig, require_channels
from safemap.api.services.warning_recipients import Band, Recipient, find_recipients
from safemap.layers.enums import DELIVERY_STATE, INCIDENT_KIND, WARNING_CHANNEL
from safemap.layers.errors import FeatureNotFound, Problem, Unprocessable, VersionConflict
from safemap.layers.model import Actor, utc_now
from safemap.layers.store import FeatureStore
from safemap.layers.transaction import Transaction
from safemap.layers.validation import validate_feature
from safemap.layers.warning_tables import PLACEHOLDERS

PLACEHOLDER = re.compile(r"\{([^{}]{1,20})\}")
MAX_VALUE = 200
#: The kind of the incident-timeline entries of warnings (incident_event_kind).
TIMELINE_KIND = "warning"


@dataclass(frozen=True)
class Zone:
    """The zone a warning is sent for: its bands (lon/lat) and the id of the stored zone version."""

    bands: tuple[Band, ...]
    zone_id: int | None = None


@dataclass(frozen=True)
class WarningRequest:
    """What the dispatcher chose."""

    template: str
    bands: tuple[str, ...]
    channels: tuple[str, ...]
    values: Mapping[str, str] = field(default_factory=dict)
    preview: bool = False
    idempotency_key: str | None = None


# ---------------------------------------------------------------------- templates
def templates(store: FeatureStore) -> list[dict[str, Any]]:
    """The enabled templates with the placeholders each uses."""
    rows = store.query("warning_templates", limit=None, count=False).rows
    out = []
    for r in rows:
        if r.get("enabled") is False:
            continue
        out.append({**r, "placeholders": placeholders_of(r["title"], r["body"])})
    return out


def placeholders_of(*texts: str) -> list[str]:
    """Placeholder names used in ``texts``, in order of first use."""
    return list(dict.fromkeys(m.group(1) for t in texts for m in PLACEHOLDER.finditer(t or "")))


def template_by_code(store: FeatureStore, code: str) -> dict[str, Any]:
    """The enabled template ``code``; 422 naming 模板 (``template``) with the codes there are."""
    found = {t["code"]: t for t in templates(store)}
    if code not in found:
        have = "、".join(f"{c}（{t['name']}）" for c, t in found.items()) or "无"
        raise invalid("template", f"预警模板 {code!r} 不存在或未启用；可选：{have}")
    return found[code]


def compose(template: Mapping[str, Any], values: Mapping[str, str], defaults: Mapping[str, str]) -> tuple[str, str]:
    """The title and message with every placeholder filled.

    ``values`` (the dispatcher's) win over ``defaults`` (时间: now; 事件: the incident). A
    placeholder with no value is a 422 naming each missing one, e.g. ``缺少占位符取值：{物质}、{方向}``.
    """
    bad = [k for k, v in values.items() if not isinstance(v, str) or len(v) > MAX_VALUE]
    if bad:
        raise invalid("values", f"占位符 {'、'.join(bad)} 的取值应为不超过 {MAX_VALUE} 字的文字")
    filled = {k: v.strip() for k, v in {**defaults, **values}.items() if isinstance(v, str) and v.strip()}
    used = placeholders_of(template["title"], template["body"])
    missing = [p for p in used if p not in filled]
    if missing:
        names = "、".join("{" + p + "}" for p in missing)
        problems = [Problem(f"values.{p}", f"缺少占位符“{p}”的取值") for p in missing]
        raise Unprocessable(f"values: 缺少占位符取值：{names}（模板 {template['code']}）", problems)
    unknown = [k for k in values if k not in PLACEHOLDERS and k not in used]
    if unknown:
        raise invalid("values", f"模板中没有占位符 {'、'.join(unknown)}；可用：{'、'.join(PLACEHOLDERS)}")

    def fill(text: str) -> str:
        return PLACEHOLDER.sub(lambda m: filled.get(m.group(1), m.group(0)), text)

    return fill(template["title"]), fill(template["body"])


# ---------------------------------------------------------------------- sending
def choose_bands(zone: Zone, labels: Sequence[str]) -> list[Band]:
    """The zone's bands named in ``labels``; 422 naming 分区 (``bands``) when one is unknown or none given."""
    have = {b.label: b for b in zone.bands}
    if not zone.bands:
        raise invalid("bands", "该事件尚无危险区，请先计算危险区（POST /api/incidents/{id}/zone）")
    if not labels:
        raise invalid("bands", f"请选择预警范围（分区）；可选：{'、'.join(have)}")
    wrong = [b for b in labels if b not in have]
    if wrong:
        raise invalid("bands", f"当前危险区没有分区 {'、'.join(wrong)}；可选：{'、'.join(have)}")
    wanted = set(labels)
    return [b for b in zone.bands if b.label in wanted]  # the zone's order: innermost first


def _defaults(store: FeatureStore, incident: dict[str, Any], now: dt.datetime) -> dict[str, str]:
    """时间: now (local); 事件: the incident's name (its kind when unnamed)."""
    props = incident["properties"]
    event = str(props.get("name") or INCIDENT_KIND.label(props.get("kind")) or "")
    local = now.astimezone(store.tz)
    return {"时间": f"{local.month}月{local.day}日{local.hour}时{local.minute:02d}分", "事件": event}


def request_digest(req: WarningRequest) -> str:
    """What makes two sends the same warning: template, the values given, bands and channels (not the clock)."""
    what = [req.template, sorted(req.values.items()), sorted(req.bands), sorted(req.channels)]
    return hashlib.sha256(json.dumps(what, ensure_ascii=False).encode()).hexdigest()


def idempotency_key(incident_id: int, zone: Zone, req: WarningRequest) -> str:
    """The client's key, or one derived from the incident, the zone version and :func:`request_digest`.

    The derived key leaves out the time filled into ``{时间}``, so a double click a minute
    apart is still the same warning.
    """
    if req.idempotency_key:
        return req.idempotency_key
    what = f"{incident_id}|{zone.zone_id}|{request_digest(req)}"
    return "auto:" + hashlib.sha256(what.encode()).hexdigest()[:32]


def send_warning(
    store: FeatureStore,
    actor: Actor,
    incident_id: int,
    zone: Zone,
    req: WarningRequest,
    config: ChannelConfig,
    *,
    on_sent: Callable[[Transaction, dict[str, Any]], None] | None = None,
) -> tuple[bool, dict[str, Any]]:
    """Compose, find recipients and queue a warning (or only preview it).

    Parameters
    ----------
    store, actor
        Where it is recorded, and who sends it.
    incident_id
        The incident (404 when absent).
    zone
        Its current zone (bands in lon/lat).
    req
        Template, bands, channels, placeholder values, preview flag, idempotency key.
    config
        Which channels this server can send through.
    on_sent
        Called inside the transaction with the warning written (the incident's timeline).

    Returns
    -------
    tuple[bool, dict]
        Whether a new warning was stored (``False`` for a preview or a replayed key) and the
        result: ``warning``, ``recipients`` (count), ``unreachable``, ``channels`` (status),
        ``deliveries`` — or, for a preview, the text and the recipient list.
    """
    incident = store.get("incidents", incident_id)
    template = template_by_code(store, req.template)
    channels = require_channels(list(req.channels))
    bands = choose_bands(zone, req.bands)
    now = utc_now()
    title, message = compose(template, req.values, _defaults(store, incident, now))
    uncovered: list[dict[str, Any]] = []
    recipients = find_recipients(store, bands, uncovered)
    if not recipients:
        raise invalid("bands", f"所选分区（{'、'.join(b.label for b in bands)}）内没有需要通知的对象，未发送")
    status = config.status()
    summary = {
        "title": title,
        "message": message,
        "template": template["code"],
        "bands": [b.label for b in bands],
        "channels": {c: {**status[c], "label": WARNING_CHANNEL.label(c)} for c in channels},
        "recipients": len(recipients),
        "unreachable": sum(not r.reachable for r in recipients),
        "uncovered_targets": {
            "count": len(uncovered),
            "population": sum(int(u.get("population") or 0) for u in uncovered),
            "note": "无专门联系人的一般防护目标（住宅、商铺等），由所在村（社区）和乡镇联系人通知",
            "examples": [u["name"] for u in uncovered[:10]],
        },
    }
    if req.preview:
        return False, {**summary, "preview": True, "recipient_list": [r.as_dict() for r in recipients]}
    key = idempotency_key(incident_id, zone, req)
    area = shapely.union_all([b.geometry for b in bands])
    warn_layer = store.layer("warnings")
    props = {
        "name": title[:200],
        "incident_id": incident_id,
        "zone_id": zone.zone_id,
        "template": template["code"],
        "title": title,
        "message": message,
        "bands": "|".join(b.label for b in bands),
        "channels": "|".join(channels),
        "recipients": len(recipients),
        "created_by": actor.name,
        "created_at": now.isoformat(),
        "idempotency_key": key,
        "request_digest": request_digest(req),
        "township": incident["properties"].get("township"),
        "source": f"预警发布（{actor.name}）",
    }
    feature = {"type": "Feature", "geometry": shapely.geometry.mapping(_polygonal(area)), "properties": props}
    clean_warning = validate_feature(warn_layer, feature, partial=False, extent=None)
    with store.transaction() as tx:
        tx.lock("incidents", incident_id)
        existing = _by_key(tx, incident_id, key)
        if existing is not None:
            _same_request(tx, existing, props)
            return False, {**summary, **_result(tx, existing), "replayed": True}
        wid = tx.insert(warn_layer, [clean_warning], actor, now=now)[0]
        drafts = _deliveries(store, wid, incident_id, recipients, channels, config, now)
        did = tx.insert(store.layer("warning_deliveries"), drafts, actor, now=now)
        written = tx.fetch(warn_layer, wid)
        assert written is not None
        tx.record_audit(actor, "create", warn_layer, [(wid, None, written)], f"预警 {title}：{len(did)} 条送达记录")
        if on_sent is not None:
            on_sent(tx, written)
        record_timeline(tx, incident_id, _timeline_text(written, len(recipients), channels), actor, wid)
        tx.bump_generation()
        result = _result(tx, wid)
    return True, {**summary, **result, "replayed": False}


def _polygonal(area: Any) -> Any:
    """The warned area as a (Multi)Polygon (bands are areas; lines or points are dropped)."""
    parts = [g for g in shapely.get_parts(area) if g.geom_type == "Polygon"]
    return shapely.MultiPolygon(parts) if len(parts) != 1 else parts[0]


def _deliveries(
    store: FeatureStore,
    wid: int,
    incident_id: int,
    recipients: Sequence[Recipient],
    channels: Sequence[str],
    config: ChannelConfig,
    now: dt.datetime,
) -> list[Any]:
    layer = store.layer("warning_deliveries")
    out = []
    for r in recipients:
        for ch in channels:
            if ch == "email" and not r.email:
                continue
            if ch == "webhook" and not r.phone:
                continue
            state = "queued" if config.configured(ch) else "unconfigured"
            props = {
                "name": r.name,
                "warning_id": wid,
                "incident_id": incident_id,
                "channel": ch,
                "state": state,
                "organisation": r.organisation,
                "role": r.role_label,
                "phone": r.phone,
                "email": r.email,
                "band": r.band,
                "target_layer": r.target_layer,
                "target_id": r.target_id,
                "population": r.population,
                "township": r.township,
                "attempts": 0,
                "next_attempt_at": now.isoformat() if state == "queued" and ch != "call_list" else None,
                "last_error": None if config.configured(ch) else config.status()[ch]["reason"],
                "source": "预警发布",
            }
            feature = {"type": "Feature", "geometry": None, "properties": props}
            out.append(validate_feature(layer, feature, partial=False, extent=None))
    return out


def _same_request(tx: Transaction, warning_id: int, props: Mapping[str, Any]) -> None:
    """Refuse (409) a key already used for a different warning: a replay must repeat the request."""
    found = tx.fetch("warnings", warning_id)
    assert found is not None
    old = found["properties"]
    if old.get("request_digest") != props["request_digest"]:
        message = f"幂等键已用于另一条预警（编号 {warning_id}：{old['title']}）；新的预警请使用新的 Idempotency-Key"
        raise VersionConflict(message, [Problem("Idempotency-Key", message)])


def _by_key(tx: Transaction, incident_id: int, key: str) -> int | None:
    t = tx.table("warnings")
    row = tx.execute(
        select(t.c.id).where(t.c.incident_id == incident_id, t.c.idempotency_key == key).order_by(t.c.id).limit(1)
    ).first()
    return None if row is None else int(row[0])


def _timeline_text(warning: dict[str, Any], n: int, channels: Sequence[str]) -> str:
    p = warning["properties"]
    via = "、".join(str(WARNING_CHANNEL.label(c)) for c in channels)
    return f"发布预警“{p['title']}”：{p['bands'].replace('|', '、')}，{n} 个接收对象，渠道：{via}"


def record_timeline(tx: Transaction, incident_id: int, text: str, actor: Actor, warning_id: int) -> None:
    """Append a 预警发布 entry to the incident's timeline, in the same transaction as the write it records."""
    from safemap.api.services.incidents import record_event

    record_event(tx, incident_id, TIMELINE_KIND, text, actor, ref=f"warnings:{warning_id}")


def incident_zone(store: FeatureStore, incident_id: int) -> Zone:
    """The incident's current zone as :class:`Zone` (no bands before a zone was modelled; 404 for no incident)."""
    from shapely.geometry import shape

    from safemap.api.services.incident_zones import current_zone

    found = current_zone(store, incident_id)
    if found is None:
        return Zone(())
    bands = tuple(
        Band(
            str(b["label"]),
            shapely.make_valid(shape(b["geometry"])),
            None if b.get("threshold") is None else str(b["threshold"]),
        )
        for b in found["bands"]
    )
    return Zone(bands, int(found["id"]))


# ---------------------------------------------------------------------- reading
def _delivery_json(row: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "id", "name", "channel", "state", "organisation", "role", "phone", "email", "band", "target_layer",
        "target_id", "population", "attempts", "last_error", "next_attempt_at", "sent_at", "acknowledged_at",
        "acknowledged_by", "response", "version",
    )  # fmt: skip
    out = {k: row.get(k) for k in keep}
    out["channel_label"] = WARNING_CHANNEL.label(row["channel"])
    out["state_label"] = DELIVERY_STATE.label(row["state"])
    return out


def _result(tx: Transaction, wid: int) -> dict[str, Any]:
    warning = tx.fetch("warnings", wid)
    assert warning is not None
    t = tx.table("warning_deliveries")
    layer = tx.layer("warning_deliveries")
    names = [f.name for f in layer.fields]
    rows = [
        dict(r)
        for r in tx.execute(select(*(t.c[n] for n in names)).where(t.c.warning_id == wid).order_by(t.c.id)).mappings()
    ]
    return {"warning": _warning_json(warning), "deliveries": [_delivery_json(r) for r in rows], "counts": _counts(rows)}


def _warning_json(feature: dict[str, Any]) -> dict[str, Any]:
    p = dict(feature["properties"])
    p["bands"] = p["bands"].split("|") if p.get("bands") else []
    p["channels"] = p["channels"].split("|") if p.get("channels") else []
    p["geometry"] = feature.get("geometry")
    return p


def _counts(rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    counts = {str(DELIVERY_STATE.label(code)): 0 for code in DELIVERY_STATE.codes}
    for r in rows:
        counts[str(DELIVERY_STATE.label(r["state"]))] += 1
    return counts


def list_warnings(store: FeatureStore, incident_id: int) -> list[dict[str, Any]]:
    """The incident's warnings, newest first, each with its deliveries and their states."""
    store.get("incidents", incident_id)
    with store.transaction(readonly=True) as tx:
        t = tx.table("warnings")
        ids = [
            int(i)
            for i in tx.execute(select(t.c.id).where(t.c.incident_id == incident_id).order_by(t.c.id.desc())).scalars()
        ]
        return [_result(tx, wid) for wid in ids]


def get_warning(store: FeatureStore, incident_id: int, warning_id: int) -> dict[str, Any]:
    """One warning of the incident with its deliveries; 404 when it is not this incident's."""
    with store.transaction(readonly=True) as tx:
        found = tx.fetch("warnings", warning_id)
        if found is None or found["properties"]["incident_id"] != incident_id:
            raise FeatureNotFound(f"事件 {incident_id} 没有编号为 {warning_id} 的预警")
        return _result(tx, warning_id)


def acknowledge(store: FeatureStore, actor: Actor, delivery_id: int, note: str | None = None) -> dict[str, Any]:
    """Mark a delivery 已确认 (the recipient confirmed: answered the call, replied). Repeating it changes nothing."""
    layer = store.layer("warning_deliveries")
    now = utc_now()
    with store.transaction() as tx:
        before = tx.lock("warning_deliveries", delivery_id)
        p = before["properties"]
        if p["state"] == "acknowledged":
            return _delivery_json(p)
        values = {"state": "acknowledged", "acknowledged_at": now, "acknowledged_by": actor.name[:100]}
        if note:
            values["response"] = note[:500]
        tx.update("warning_deliveries", delivery_id, values, now=now)
        after = tx.fetch(layer, delivery_id)
        assert after is not None
        tx.record_audit(actor, "acknowledge", layer, [(delivery_id, before, after)], note)
        text = f"{p.get('organisation') or ''}{p['name']}已确认收到预警（{WARNING_CHANNEL.label(p['channel'])}）"
        record_timeline(tx, int(p["incident_id"]), text, actor, int(p["warning_id"]))
        tx.bump_generation()
    return _delivery_json(after["properties"])


__all__ = [
    "Band",
    "WarningRequest",
    "Zone",
    "acknowledge",
    "choose_bands",
    "compose",
    "get_warning",
    "incident_zone",
    "list_warnings",
    "send_warning",
    "template_by_code",
    "templates",
]
