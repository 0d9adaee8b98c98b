"""Hidden dangers as a closed loop: 发现 → 整改中 → 待复查 → 销号, each step with who and when.

A finding (``hidden_dangers``) is written only here, so the rules hold on every path (API, CLI,
the phone's offline queue):

* **Creating** (:func:`create_finding`): inspectors, the office (planner, admin) and an
  enterprise for itself (自查). The deadline may not be in the past (in ``SAFEMAP_TIMEZONE``);
  the place is a point or the enterprise's own. A ``client_uuid`` (made by the phone when the
  form is filled) makes a replay of the offline queue return the finding already stored
  instead of a second one — also when two replays race (an advisory lock on PostGIS; the
  GeoPackage store has one writer).
* **Moving it on** (:func:`transition`): ``rectify`` 发现 → 整改中; ``submit`` 整改中 → 待复查 needs
  the measures taken and at least one evidence photo; ``pass`` 待复查 → 销号 and ``fail``
  待复查 → 整改中 are the reviewer's (inspector, planner, admin — never the enterprise), and a
  重大隐患 needs a reviewer other than the person who found it; ``extend`` sets a later deadline
  with a reason; ``note`` adds a remark. Anything else is a 409 saying what the state allows.
  A step quotes the version it saw (409 when stale, 428 when missing).
* 逾期 is not a state: an open finding past its deadline is overdue (:func:`is_overdue`), and
  :func:`api.services.danger_overdue.sweep_overdue` raises one 隐患整改逾期 alarm per such
  finding (the 监测预警 panel); closing the finding closes it.

Every step writes the finding, a ``hidden_danger_events`` row and the audit log in one
transaction, and reaches open maps over the event stream.
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text as sql_text

from safemap.api.services.incidents import local
from safemap.api.services.problems import invalid
from safemap.layers import row_access
from safemap.layers.errors import FeatureNotFound, Forbidden, VersionConflict, VersionRequired
from safemap.layers.model import Actor, Feature, utc_now
from safemap.layers.prevention_enums import DANGER_EVENT_KIND, DANGER_GRADE, DANGER_STATUS
from safemap.layers.store import FeatureStore
from safemap.layers.transaction import Transaction
from safemap.layers.validation import validate_feature

#: Who may record a finding (an enterprise only for itself).
FINDERS = frozenset({"inspector", "planner", "admin", "enterprise"})
#: Who may review (复查) and close (销号) a finding.
REVIEWERS = frozenset({"inspector", "planner", "admin"})
#: Who may move a finding through rectification (the enterprise for its own, the office for any).
RECTIFIERS = frozenset({"inspector", "planner", "admin", "enterprise"})
OPEN_STATUSES = ("found", "rectifying", "review")

#: action -> (allowed from, to, event kind). ``None`` as ``to``: the status does not change.
ACTIONS: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    "rectify": (("found",), "rectifying", "rectify"),
    "submit": (("found", "rectifying"), "review", "submit"),
    "pass": (("review",), "closed", "closed"),
    "fail": (("review",), "rectifying", "fail"),
    "extend": (OPEN_STATUSES, None, "extend"),
    "note": (("found", "rectifying", "review", "closed"), None, "note"),
}
ACTION_LABELS = {
    "rectify": "开始整改",
    "submit": "整改完成，提交复查",
    "pass": "复查通过并销号",
    "fail": "复查未通过，退回整改",
    "extend": "延期",
    "note": "备注",
}


@dataclass(frozen=True)
class FindingInput:
    """A finding as an inspector records it. ``location`` is (lon, lat) in degrees (WGS 84)."""

    grade: str
    description: str
    deadline: str | dt.date
    location: tuple[float, float] | None = None
    enterprise_id: int | None = None
    inspection_id: int | None = None
    name: str | None = None
    clause: str | None = None
    checklist_item: str | None = None
    responsible: str | None = None
    found_at: str | dt.datetime | None = None
    client_uuid: str | None = None


# ---------------------------------------------------------------------------- reading
def today(store: FeatureStore, now: dt.datetime | None = None) -> dt.date:
    """Today's date in the store's zone (``SAFEMAP_TIMEZONE``)."""
    return (now or utc_now()).astimezone(store.tz).date()


def as_date(value: Any) -> dt.date | None:
    """A stored or typed date (``date``, ``datetime`` or ISO text) as a ``date``; ``None`` when empty."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        return dt.date.fromisoformat(value[:10])
    return None


def is_overdue(props: dict[str, Any], on: dt.date) -> bool:
    """Open (not 销号) and past its deadline on day ``on``."""
    deadline = as_date(props.get("deadline"))
    return props.get("status") in OPEN_STATUSES and deadline is not None and deadline < on


def present(store: FeatureStore, feature: Feature, on: dt.date | None = None) -> dict[str, Any]:
    """A finding for people: local times, labels beside codes, ``overdue`` and ``age_days``."""
    on = on or today(store)
    props = {k: local(v, store.tz) for k, v in feature["properties"].items()}
    overdue = is_overdue(feature["properties"], on)
    props["overdue"] = overdue
    props["grade_label"] = DANGER_GRADE.label(props.get("grade"))
    status_label = DANGER_STATUS.label(props.get("status"))
    props["status_label"] = f"{status_label}（逾期）" if overdue else status_label
    found = feature["properties"].get("found_at")
    if isinstance(found, dt.datetime):
        props["age_days"] = (on - found.astimezone(store.tz).date()).days
    return {"type": "Feature", "id": feature["id"], "geometry": feature["geometry"], "properties": props}


def get(store: FeatureStore, danger_id: int, actor: Actor | None = None) -> Feature:
    """The stored finding; 404 in Chinese when there is none or it is another enterprise's."""
    owner = actor.enterprise_id if row_access.is_enterprise(actor) and actor is not None else None
    if row_access.is_enterprise(actor) and owner is None:
        owner = -1
    rows = store.query("hidden_dangers", ids=[danger_id], limit=1, count=False, owner=owner)
    if not rows.rows:
        raise FeatureNotFound(f"没有编号为 {danger_id} 的隐患")
    return rows.features()[0]


def events(store: FeatureStore, danger_id: int, actor: Actor | None = None) -> list[dict[str, Any]]:
    """The finding's timeline, oldest first, times in the store's zone, kinds in Chinese."""
    get(store, danger_id, actor)
    rows = store.query(
        "hidden_danger_events", filters={"danger_id": [danger_id]}, limit=None, count=False, sort="at"
    ).rows
    out = []
    for r in rows:
        at = r["at"]
        aware = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        out.append(
            {
                "id": r["id"],
                "at": aware.astimezone(store.tz).isoformat(timespec="seconds"),
                "kind": r["kind"],
                "kind_label": DANGER_EVENT_KIND.label(r["kind"]),
                "actor": r["actor"],
                "text": r.get("text") or "",
                "photos": json.loads(r["photos"]) if r.get("photos") else [],
            }
        )
    return out


# ---------------------------------------------------------------------------- creating
def _grade(value: str) -> str:
    text = (value or "").strip()
    for m in DANGER_GRADE.members:
        if text in (m.code, m.label) or (text and text in ("一般", "重大") and m.label.startswith(text)):
            return m.code
    raise invalid("grade", f"应为 {DANGER_GRADE.describe()} 之一，收到“{value}”")


def _parse_date(value: Any, field: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    text = str(value or "").strip().replace("／", "/").replace("/", "-").replace("．", "-").replace(".", "-")
    for ch, rep in (("年", "-"), ("月", "-"), ("日", "")):
        text = text.replace(ch, rep)
    text = text.translate(str.maketrans("０１２３４５６７８９－", "0123456789-"))
    try:
        parts = [int(p) for p in text.split("-") if p]
        if len(parts) != 3:
            raise ValueError(text)
        return dt.date(*parts)
    except (ValueError, TypeError):
        raise invalid(field, f"应为日期，如 2026-12-31，收到“{value}”") from None


def _parse_time(store: FeatureStore, value: Any, field: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise invalid(field, f"应为时间，如 2026-12-02T09:30，收到“{value}”") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=store.tz)
    return parsed.astimezone(dt.UTC)


def _lock_key(tx: Transaction, key: str) -> None:
    """Serialise writers of the same ``key`` until the transaction ends (PostGIS advisory lock)."""
    if tx.backend_name == "postgis":  # GeoPackage has a single writer already
        tx.execute(sql_text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(key.encode()) - 2**31})


def _existing_uuid(tx: Transaction, client_uuid: str) -> int | None:
    t = tx.table("hidden_dangers")
    row = tx.execute(t.select().with_only_columns(t.c.id).where(t.c.client_uuid == client_uuid)).first()
    return int(row[0]) if row else None


def create_finding(store: FeatureStore, data: FindingInput, actor: Actor) -> tuple[Feature, bool]:
    """Record a finding (status 发现) with its first timeline entry; ``(finding, created)``.

    ``created`` is False when a finding with the same ``client_uuid`` is already stored (a
    replay from the phone's queue): the stored one is returned and nothing is written.
    """
    if actor.role not in FINDERS:
        raise Forbidden("当前角色无权登记隐患（执法检查/网格员、规划/应急管理、系统管理员或企业自查）")
    grade = _grade(data.grade)
    description = (data.description or "").strip()
    if not description:
        raise invalid("description", "请填写隐患描述")
    deadline = _parse_date(data.deadline, "deadline")
    found_at = _parse_time(store, data.found_at, "found_at") if data.found_at else utc_now()
    if found_at > utc_now() + dt.timedelta(minutes=5):
        raise invalid("found_at", "发现时间不能晚于现在")
    if deadline < today(store):
        raise invalid("deadline", f"{deadline.isoformat()} 已过，登记时期限不能早于今天（{today(store)}）")
    enterprise_id = data.enterprise_id
    if row_access.is_enterprise(actor):
        if enterprise_id not in (None, actor.enterprise_id):
            raise Forbidden("企业用户只能登记本企业的隐患")
        enterprise_id = actor.enterprise_id
    uuid = (data.client_uuid or "").strip() or None
    if uuid is not None and len(uuid) > 64:
        raise invalid("client_uuid", "最长 64 个字符")
    with store.transaction() as tx:
        if uuid is not None:
            _lock_key(tx, f"hidden_dangers:{uuid}")
            found_id = _existing_uuid(tx, uuid)
            if found_id is not None:
                stored = tx.fetch("hidden_dangers", found_id)
                assert stored is not None
                if row_access.is_enterprise(actor) and stored["properties"].get("enterprise_id") != enterprise_id:
                    raise Forbidden("该客户端编号已被其他企业的隐患使用")
                return stored, False
        enterprise = tx.fetch("enterprises", enterprise_id) if enterprise_id is not None else None
        if enterprise_id is not None and enterprise is None:
            raise invalid("enterprise_id", f"没有编号为 {enterprise_id} 的企业")
        if data.inspection_id is not None and tx.fetch("inspections", data.inspection_id) is None:
            raise invalid("inspection_id", f"没有编号为 {data.inspection_id} 的检查任务")
        if data.location is not None:
            geometry: dict[str, Any] = {"type": "Point", "coordinates": [data.location[0], data.location[1]]}
        elif enterprise is not None and enterprise["geometry"] is not None:
            geometry = enterprise["geometry"]
        else:
            raise invalid("location", "请在地图上点选隐患位置，或选择所属企业（取企业位置）")
        township = enterprise["properties"].get("township") if enterprise else None
        name = (data.name or "").strip() or description[:30]
        props = {
            "name": name,
            "township": township,
            "enterprise_id": enterprise_id,
            "inspection_id": data.inspection_id,
            "grade": grade,
            "description": description,
            "clause": (data.clause or "").strip() or None,
            "checklist_item": (data.checklist_item or "").strip() or None,
            "found_at": found_at.isoformat(),
            "found_by": actor.name[:100],
            "responsible": (data.responsible or "").strip() or None,
            "deadline": deadline.isoformat(),
            "status": "found",
            "client_uuid": uuid,
            "source": f"现场检查（{actor.name}）",
        }
        layer = tx.layer("hidden_dangers")
        clean = validate_feature(
            layer,
            {"type": "Feature", "geometry": geometry, "properties": {k: v for k, v in props.items() if v is not None}},
            partial=False,
            extent=store.extent,
        )
        (fid,) = tx.insert(layer, [clean], actor)
        created = tx.fetch(layer, fid)
        assert created is not None
        tx.record_audit(actor, "create", layer, [(fid, None, created)], f"登记{DANGER_GRADE.label(grade)}")
        text = f"{actor.name} 登记{DANGER_GRADE.label(grade)}：{description[:200]}；整改期限 {deadline.isoformat()}"
        record_event(tx, fid, "found", actor, text, [])
        tx.bump_generation()
    return created, True


# ---------------------------------------------------------------------------- moving on
def record_event(tx: Transaction, danger_id: int, kind: str, actor: Actor, text: str, photos: Sequence[int]) -> int:
    """Append a step to a finding's timeline inside ``tx`` (audited); return its id."""
    layer = tx.layer("hidden_danger_events")
    when = utc_now()
    props = {
        "name": f"{DANGER_EVENT_KIND.label(kind)}·隐患{danger_id}",
        "danger_id": danger_id,
        "at": when.isoformat(),
        "kind": kind,
        "actor": actor.name[:100],
        "text": text[:4000],
        "photos": json.dumps(list(photos)) if photos else None,
        "source": "隐患处置记录",
    }
    clean = validate_feature(
        layer,
        {"type": "Feature", "geometry": None, "properties": {k: v for k, v in props.items() if v is not None}},
        partial=False,
        extent=None,
    )
    (eid,) = tx.insert(layer, [clean], actor, now=when)
    tx.record_audit(actor, "create", layer, [(eid, None, tx.fetch(layer, eid))], text[:200])
    return eid


def _photos_of(tx: Transaction, danger_id: int, stage: str | None = None) -> list[int]:
    t = tx.table("danger_photos")
    stmt = t.select().with_only_columns(t.c.id).where(t.c.danger_id == danger_id)
    if stage is not None:
        stmt = stmt.where(t.c.stage == stage)
    return [int(r[0]) for r in tx.execute(stmt)]


def transition(
    store: FeatureStore,
    danger_id: int,
    action: str,
    actor: Actor,
    *,
    version: int | None,
    text: str = "",
    deadline: str | dt.date | None = None,
    measures: str | None = None,
    photo_ids: Sequence[int] = (),
) -> Feature:
    """Apply one step of the closed loop (see the module's rules); return the finding as stored."""
    if action not in ACTIONS:
        labels = "、".join(f"{v}（{k}）" for k, v in ACTION_LABELS.items())
        raise invalid("action", f"应为 {labels} 之一，收到“{action}”")
    if version is None:
        raise VersionRequired("请提供所处理隐患的版本号（version），以免覆盖他人刚做的处理")
    allowed_from, to, kind = ACTIONS[action]
    text = (text or "").strip()
    with store.transaction() as tx:
        layer = tx.layer("hidden_dangers")
        current = tx.lock("hidden_dangers", danger_id)
        props = current["properties"]
        if row_access.is_enterprise(actor) and props.get("enterprise_id") != actor.enterprise_id:
            raise FeatureNotFound(f"没有编号为 {danger_id} 的隐患")
        if int(props["version"]) != int(version):
            raise VersionConflict(
                f"隐患 {danger_id} 已被他人处理（当前版本 {props['version']}，你看到的是 {version}），请刷新后再操作"
            )
        status = str(props["status"])
        if status not in allowed_from:
            now_label = DANGER_STATUS.label(status)
            raise VersionConflict(
                f"隐患当前为“{now_label}”，不能“{ACTION_LABELS[action]}”；"
                f"该操作仅适用于：{'、'.join(str(DANGER_STATUS.label(s)) for s in allowed_from)}"
            )
        _check_role(action, actor, props)
        patch: dict[str, Any] = {}
        photos = [int(p) for p in photo_ids]
        known = set(_photos_of(tx, danger_id))
        stray = [p for p in photos if p not in known]
        if stray:
            raise invalid("photo_ids", f"照片 {stray} 不属于隐患 {danger_id}，请先上传")
        if action == "submit":
            done = (measures or "").strip() or text
            if not done:
                raise invalid("text", "提交复查前请写明已采取的整改措施")
            if not _photos_of(tx, danger_id, "evidence"):
                raise invalid("photo_ids", "提交复查前请上传至少一张整改后的照片（整改证据）")
            patch["measures"] = done[:2000]
        elif action == "fail" and not text:
            raise invalid("text", "复查未通过时请写明原因和整改要求")
        elif action == "pass":
            patch["reviewer"] = actor.name[:100]
            patch["closed_at"] = utc_now().isoformat()
            if not _photos_of(tx, danger_id, "evidence"):
                raise invalid("photo_ids", "没有整改证据照片，不能销号")
        elif action == "extend":
            new = _parse_date(deadline, "deadline")
            old = as_date(props.get("deadline"))
            if new < today(store) or (old is not None and new <= old):
                raise invalid("deadline", f"新的整改期限应晚于原期限 {old} 且不早于今天")
            if not text:
                raise invalid("text", "延期请写明原因")
            patch["deadline"] = new.isoformat()
        elif action == "note" and not text:
            raise invalid("text", "请填写备注内容")
        if to is not None:
            patch["status"] = to
        clean = validate_feature(layer, {"type": "Feature", "properties": patch}, partial=True, extent=store.extent)
        tx.update("hidden_dangers", danger_id, tx.storage_values(layer, clean.properties))
        after = tx.fetch(layer, danger_id)
        assert after is not None
        summary = _summary(action, actor, text, patch)
        tx.record_audit(actor, "update", layer, [(danger_id, current, after)], summary[:200])
        record_event(tx, danger_id, kind, actor, summary, photos)
        if to == "closed":
            _close_overdue_alarm(tx, danger_id, actor)
        tx.bump_generation()
    return after


def _check_role(action: str, actor: Actor, props: dict[str, Any]) -> None:
    if action in ("pass", "fail"):
        if actor.role not in REVIEWERS:
            raise Forbidden("复查须由执法检查/网格员或应急管理部门进行，企业不能自行销号")
        if props.get("grade") == "major" and actor.name == props.get("found_by"):
            raise Forbidden("重大隐患须由发现人以外的人员复查销号")
    elif action == "extend":
        if actor.role not in REVIEWERS:
            raise Forbidden("延期须由执法检查/网格员或应急管理部门批准")
    elif actor.role not in RECTIFIERS:
        raise Forbidden("当前角色无权处理隐患")


def _summary(action: str, actor: Actor, text: str, patch: dict[str, Any]) -> str:
    parts = [f"{actor.name} {ACTION_LABELS[action]}"]
    if action == "extend":
        parts.append(f"新期限 {patch['deadline']}")
    if action == "submit":
        parts.append(f"整改措施：{patch['measures']}")
    if text and action != "submit":
        parts.append(text)
    return "；".join(parts)


def _close_overdue_alarm(tx: Transaction, danger_id: int, actor: Actor) -> None:
    """A finding closed (销号) ends its overdue alarm."""
    t = tx.table("alarms")
    rows = tx.execute(
        t.select()
        .with_only_columns(t.c.id)
        .where(t.c.danger_id == danger_id, t.c.state.in_(("active", "acknowledged")))
    ).all()
    now = utc_now()
    for (aid,) in rows:
        tx.set_values("alarms", int(aid), {"state": "closed", "closed_at": now, "closed_by": actor.name[:100]})


def allowed_actions(props: dict[str, Any], actor: Actor | None) -> list[str]:
    """The steps ``actor`` may take on a finding now (the detail view's buttons)."""
    if actor is None:
        return []
    if row_access.is_enterprise(actor) and props.get("enterprise_id") != actor.enterprise_id:
        return []
    out = []
    for action, (allowed_from, _to, _kind) in ACTIONS.items():
        if props.get("status") not in allowed_from:
            continue
        try:
            _check_role(action, actor, props)
        except Forbidden:
            continue
        out.append(action)
    return out
