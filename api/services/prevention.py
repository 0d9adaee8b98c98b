"""What the office and an enterprise read of double prevention: findings, statistics, one page per enterprise.

* :func:`form_catalogue` — the words and tables the forms offer (grades, states, the LEC/LS
  factor values with their meanings, checklists, the enterprises the user may choose).
* :func:`list_findings` — findings by state, grade, township, industry, enterprise, overdue.
* :func:`statistics` — per township or per industry: how many found, in rectification, waiting
  for review, closed, overdue, and major ones open.
* :func:`enterprise_page` — 企业一张图: its risk points and zones, findings, inspections, accidents.

An enterprise user only ever sees its own enterprise's rows (``owner`` in every query).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from safemap.api.services import dangers
from safemap.api.services.incidents import local
from safemap.api.services.problems import bad
from safemap.layers import prevention_enums as pe
from safemap.layers import row_access
from safemap.layers.enums import INDUSTRY, RISK_LEVEL, SEVERITY
from safemap.layers.errors import FeatureNotFound
from safemap.layers.model import Actor, Feature
from safemap.layers.store import FeatureStore

_FORM_ENUMS = {
    "danger_grade": pe.DANGER_GRADE,
    "danger_status": pe.DANGER_STATUS,
    "risk_point_kind": pe.RISK_POINT_KIND,
    "risk_method": pe.RISK_METHOD,
    "risk_level": RISK_LEVEL,
    "inspection_scope": pe.INSPECTION_SCOPE,
    "inspection_status": pe.INSPECTION_STATUS,
    "accident_industry": pe.ACCIDENT_INDUSTRY,
    "accident_kind": pe.ACCIDENT_KIND,
    "photo_stage": pe.PHOTO_STAGE,
    "industry": INDUSTRY,
    "severity": SEVERITY,
}


def owner_of(actor: Actor | None) -> int | None:
    """The enterprise an actor is limited to (``-1``: an enterprise user without one sees nothing)."""
    if not row_access.is_enterprise(actor):
        return None
    assert actor is not None
    return actor.enterprise_id if actor.enterprise_id is not None else -1


def _rows(store: FeatureStore, layer: str, owner: int | None = None, **query: Any) -> list[dict[str, Any]]:
    return store.query(layer, limit=None, count=False, children=False, owner=owner, **query).rows


def form_catalogue(store: FeatureStore, actor: Actor | None) -> dict[str, Any]:
    """Everything the double-prevention forms offer, in Chinese with the codes to send."""
    from safemap.api.services.danger_photos import MAX_BYTES

    enums = {
        name: [{"code": m.code, "label": m.label, "color": m.color} for m in enum.members]
        for name, enum in _FORM_ENUMS.items()
    }
    factors: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for row in sorted(_rows(store, "risk_factor_values"), key=lambda r: -float(r["value"])):
        factors[str(row["method"])][str(row["factor"])].append({"value": row["value"], "meaning": row.get("meaning")})
    checklists: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sorted(_rows(store, "checklist_items"), key=lambda r: (r["checklist"], r.get("seq") or 0)):
        checklists[str(row["checklist"])].append(
            {"seq": row.get("seq"), "item": row["item"], "clause": row.get("clause")}
        )
    enterprises = [
        {
            "id": r["id"],
            "name": r["name"],
            "township": r.get("township"),
            "industry_label": INDUSTRY.label(r["industry"]),
        }
        for r in sorted(_rows(store, "enterprises", owner_of(actor)), key=lambda r: str(r["name"]))
    ]
    bands = [
        {k: r.get(k) for k in ("method", "risk_level", "min_score", "max_score", "meaning")}
        | {"risk_level_label": RISK_LEVEL.label(r.get("risk_level"))}
        for r in _rows(store, "risk_level_bands")
    ]
    return {
        "enums": enums,
        "factors": {m: dict(v) for m, v in factors.items()},
        "bands": bands,
        "checklists": dict(checklists),
        "actions": dict(dangers.ACTION_LABELS),
        "max_photo_bytes": MAX_BYTES,
        "enterprises": enterprises,
        "today": dangers.today(store).isoformat(),
    }


def _codes(value: str | None, enum: Any, field: str) -> list[str] | None:
    """Codes from ``?field=`` (codes or labels, comma separated); 400 naming the field otherwise."""
    if value is None or not value.strip():
        return None
    out = []
    for part in value.replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        code = next((m.code for m in enum.members if part in (m.code, m.label)), None)
        if code is None:
            raise bad(field, f"应为 {enum.describe()} 之一，收到“{part}”")
        out.append(code)
    return out


def list_findings(
    store: FeatureStore,
    actor: Actor | None,
    *,
    status: str | None = None,
    grade: str | None = None,
    township: str | None = None,
    industry: str | None = None,
    enterprise_id: int | None = None,
    overdue: bool | None = None,
) -> dict[str, Any]:
    """Findings matching every given condition, newest first, as a FeatureCollection for people."""
    filters: dict[str, list[Any]] = {}
    statuses = _codes(status, pe.DANGER_STATUS, "status")
    if statuses:
        filters["status"] = statuses
    grades = _codes(grade, pe.DANGER_GRADE, "grade")
    if grades:
        filters["grade"] = grades
    if township and township.strip():
        filters["township"] = [t.strip() for t in township.replace("，", ",").split(",") if t.strip()]
    if enterprise_id is not None:
        filters["enterprise_id"] = [enterprise_id]
    owner = owner_of(actor)
    enterprises = {int(e["id"]): e for e in _rows(store, "enterprises", owner)}
    industries = _codes(industry, INDUSTRY, "industry")
    if industries:
        wanted = [i for i, e in enterprises.items() if e.get("industry") in industries]
        filters["enterprise_id"] = [i for i in wanted if enterprise_id in (None, i)]
    page = store.query(
        "hidden_dangers", filters=filters, limit=None, count=False, children=False, owner=owner, sort="-found_at"
    )
    on = dangers.today(store)
    features = []
    for f in page.features():
        shown = dangers.present(store, f, on)
        if overdue is not None and shown["properties"]["overdue"] != overdue:
            continue
        eid = f["properties"].get("enterprise_id")
        e = enterprises.get(int(eid)) if eid is not None else None
        shown["properties"]["enterprise_name"] = e["name"] if e else None
        shown["properties"]["industry"] = e.get("industry") if e else None
        shown["properties"]["industry_label"] = INDUSTRY.label(e.get("industry")) if e else None
        features.append(shown)
    return {"type": "FeatureCollection", "features": features, "numberReturned": len(features)}


def statistics(store: FeatureStore, actor: Actor | None, by: str) -> dict[str, Any]:
    """Counts per township or per industry (of the finding's enterprise; 无企业 for public places)."""
    if by not in ("township", "industry"):
        raise bad("by", "应为 township（按乡镇）或 industry（按行业）")
    owner = owner_of(actor)
    enterprises = {int(e["id"]): e for e in _rows(store, "enterprises", owner)}
    on = dangers.today(store)
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for row in _rows(store, "hidden_dangers", owner):
        if by == "township":
            key = row.get("township") or "未填乡镇"
        else:
            e = enterprises.get(int(row["enterprise_id"])) if row.get("enterprise_id") is not None else None
            key = e.get("industry") if e else "none"
        c = table[str(key)]
        c["total"] += 1
        c[str(row["status"])] += 1
        if dangers.is_overdue(row, on):
            c["overdue"] += 1
        if row.get("grade") == "major" and row["status"] != "closed":
            c["major_open"] += 1
    rows = []
    for key, c in sorted(table.items(), key=lambda kv: (-kv[1]["total"], kv[0])):
        label = key if by == "township" else ("无所属企业" if key == "none" else INDUSTRY.label(key))
        rows.append(
            {"key": key, "label": label, "total": c["total"]}
            | {s: c[s] for s in ("found", "rectifying", "review", "closed", "overdue", "major_open")}
        )
    closed = sum(r["closed"] for r in rows)
    total = sum(r["total"] for r in rows)
    return {
        "by": by,
        "by_label": "乡镇" if by == "township" else "行业",
        "rows": rows,
        "total": total,
        "closed_rate": round(closed / total, 4) if total else None,
    }


def _labelled(features: Iterable[Feature], fields: Sequence[tuple[str, Any]], tz: dt.tzinfo) -> list[dict[str, Any]]:
    out = []
    for f in features:
        props = {k: local(v, tz) for k, v in f["properties"].items()}
        for name, enum in fields:
            props[f"{name}_label"] = enum.label(props.get(name))
        out.append({"type": "Feature", "id": f["id"], "geometry": f["geometry"], "properties": props})
    return out


def enterprise_page(store: FeatureStore, enterprise_id: int, actor: Actor | None) -> dict[str, Any]:
    """企业一张图: the enterprise with its risk points and zones, findings, inspections and accidents."""
    owner = owner_of(actor)
    if owner is not None and owner != enterprise_id:
        raise FeatureNotFound(f"没有编号为 {enterprise_id} 的企业")
    found = store.query("enterprises", ids=[enterprise_id], limit=1, count=False)
    if not found.rows:
        raise FeatureNotFound(f"没有编号为 {enterprise_id} 的企业")
    mine = {"enterprise_id": [enterprise_id]}
    tz = store.tz
    points = store.query("risk_points", filters=mine, limit=None, count=False, sort="-score").features()
    zones = store.query("risk_zones", filters=mine, limit=None, count=False).features()
    accidents = store.query("accidents", filters=mine, limit=None, count=False, sort="-occurred_at").features()
    inspections = store.query("inspections", filters=mine, limit=None, count=False, sort="-planned_on").rows
    on = dangers.today(store)
    findings = [
        dangers.present(store, f, on)
        for f in store.query("hidden_dangers", filters=mine, limit=None, count=False, sort="-found_at").features()
    ]
    levels = Counter(str(p["properties"].get("risk_level")) for p in points)
    enterprise = _labelled(found.features(), (("industry", INDUSTRY), ("risk_level", RISK_LEVEL)), tz)[0]
    return {
        "enterprise": enterprise,
        "risk_points": {
            "type": "FeatureCollection",
            "features": _labelled(
                points,
                (("risk_level", RISK_LEVEL), ("kind", pe.RISK_POINT_KIND), ("method", pe.RISK_METHOD)),
                tz,
            ),
        },
        "risk_zones": {"type": "FeatureCollection", "features": _labelled(zones, (("risk_level", RISK_LEVEL),), tz)},
        "dangers": {"type": "FeatureCollection", "features": findings},
        "inspections": [
            {k: local(v, tz) for k, v in r.items()}
            | {
                "scope_label": pe.INSPECTION_SCOPE.label(r.get("scope")),
                "status_label": pe.INSPECTION_STATUS.label(r.get("status")),
            }
            for r in inspections
        ],
        "accidents": {
            "type": "FeatureCollection",
            "features": _labelled(
                accidents,
                (("severity", SEVERITY), ("industry", pe.ACCIDENT_INDUSTRY), ("kind", pe.ACCIDENT_KIND)),
                tz,
            ),
        },
        "counts": {
            "risk_points": len(points),
            "by_level": {RISK_LEVEL.label(k): levels.get(k, 0) for k in RISK_LEVEL.codes},
            "dangers_open": sum(1 for f in findings if f["properties"]["status"] != "closed"),
            "dangers_overdue": sum(1 for f in findings if f["properties"]["overdue"]),
            "accidents": len(accidents),
            "deaths": sum(int(a["properties"].get("deaths") or 0) for a in accidents),
        },
    }
