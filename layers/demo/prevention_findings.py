"""Inspections, findings with their timelines and evidence photos of the demo's double prevention.

The tables (``data/demo/prevention_inspections.csv``, ``prevention_findings.csv``) are synthetic;
:mod:`safemap.layers.demo.prevention` drafts everything else and re-exports the public names here.
The helpers shared by both modules (:func:`read_table`, :func:`table_row`, :func:`point_of`,
:func:`stamp`) and the constants they need live here so that the import goes one way only.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from shapely.geometry import Point
from sqlalchemy import insert

from safemap.layers import paths
from safemap.layers.catalogue import Layer
from safemap.layers.demo.county import County
from safemap.layers.demo.identities import person
from safemap.layers.demo.plan import Draft, Plan
from safemap.layers.demo.shapes import lonlat_to_xy
from safemap.layers.model import Actor, utc_now
from safemap.layers.prevention_enums import DANGER_EVENT_KIND, DANGER_GRADE
from safemap.layers.store import FeatureStore
from safemap.layers.validation import CleanFeature, validate_feature

SOURCE = "synthetic：演示数据（双重预防；企业风险点、检查、隐患、人员与日期均为虚构）"
PHOTO_SOURCE = "synthetic：演示照片（程序生成的示意图，非现场照片）"
TZ = dt.timezone(dt.timedelta(hours=8))
#: The demo's "as of" day: open findings due before it are overdue, closed ones were closed before it.
AS_OF = dt.date(2026, 12, 1)
#: Three synthetic inspectors of the county's emergency management bureau.
INSPECTORS = ("马建国", "叶尔兰·别克", "李晓东")
CHECKLIST_CSV = paths.DATA_DIR / "standards" / "checklist_items.csv"
#: The synthetic demo tables (``data/demo/README.md``).
DEMO_DIR = paths.DATA_DIR / "demo"
FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
PHOTO_SIZE = (640, 480)
PHOTO_ACTOR = Actor("safemap-demo", "admin")
#: Timeline steps taken by the reviewer; the others by the finder (发现) or the enterprise.
REVIEW_KINDS = frozenset({"fail", "closed", "extend"})

#: Inspection: (key, scope, township, industry, enterprise key, checklist, planned, inspector index, status, name).
Inspection = tuple[str, str, str | None, str | None, str | None, str | None, str, int, str, str]
#: Finding: (inspection key, enterprise key, checklist item name, grade, status, title, description, measures).
Finding = tuple[str, str, str, str, str, str, str, str]
#: Index into the findings of the closed finding that failed its first review, and of the one whose
#: deadline was extended (equipment replacement needs the winter shutdown).
FAILED_ONCE = 18
EXTENDED = 16
EXTENDED_TO = dt.date(2027, 3, 31)


def read_table(name: str) -> list[dict[str, str]]:
    """The rows of ``data/demo/<name>.csv`` in file order, every cell a string (empty = ``""``)."""
    with (DEMO_DIR / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _text(cell: str) -> str | None:
    return cell or None


def _inspections() -> tuple[Inspection, ...]:
    return tuple(
        (
            r["key"],
            r["scope"],
            _text(r["township"]),
            _text(r["industry"]),
            _text(r["enterprise"]),
            _text(r["checklist"]),
            r["planned_on"],
            int(r["inspector"]),
            r["status"],
            r["name"],
        )
        for r in read_table("prevention_inspections")
    )


def _findings() -> tuple[Finding, ...]:
    """Every column is text; an empty ``measures`` stays ``""`` (no measures recorded yet)."""
    return tuple(
        (
            r["inspection"],
            r["enterprise"],
            r["checklist_item"],
            r["grade"],
            r["status"],
            r["title"],
            r["description"],
            r["measures"],
        )
        for r in read_table("prevention_findings")
    )


def table_row(plan: Plan, layer: str, key: str, **props: Any) -> Draft:
    """A draft of a layer without geometry.

    ``lonlat=True`` makes the writer pass the (absent) geometry through unchanged as ``None``.
    """
    clean = {k: v for k, v in props.items() if v is not None}
    geom: Any = None
    return plan.add(Draft(layer, key, clean, geom, lonlat=True))


def point_of(plan: Plan, key: str) -> Point:
    """The point (metres) of a draft: its geometry, or a representative point of it."""
    d = plan.get(key)
    g = d.geom if isinstance(d.geom, Point) else d.geom.representative_point()
    return Point(lonlat_to_xy(g.x, g.y)) if d.lonlat else g


def stamp(day: dt.date, minutes: int) -> dt.datetime:
    """``minutes`` after midnight of ``day`` in the county's time zone (UTC+8)."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=TZ) + dt.timedelta(minutes=minutes)


def _read_checklists(path: Path = CHECKLIST_CSV) -> dict[str, dict[str, str]]:
    """Checklist rows by ``name`` (``<checklist>-<seq>``)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["name"]: row for row in csv.DictReader(fh)}


def inspections_and_findings(plan: Plan, county: County, rng: np.random.Generator) -> None:
    """Draft the inspections, their findings and each finding's timeline (``hidden_danger_events``)."""
    items = _read_checklists()
    planned: dict[str, dt.date] = {}
    inspectors: dict[str, str] = {}
    for key, scope, township, industry, ent_key, checklist, on, who, status, name in _inspections():
        day = dt.date.fromisoformat(on)
        planned[key] = day
        inspectors[key] = INSPECTORS[who]
        finished = stamp(day + dt.timedelta(days=int(rng.integers(2, 5))), 17 * 60 + 30) if status == "done" else None
        ent_township = plan.get(ent_key).props.get("township") if ent_key else None
        draft = table_row(
            plan,
            "inspections",
            key,
            name=name,
            township=township or ent_township,
            source=SOURCE,
            scope=scope,
            industry=industry,
            checklist=checklist,
            planned_on=day.isoformat(),
            inspector=f"{INSPECTORS[who]}、{INSPECTORS[(who + 1) % 3]}",
            status=status,
            finished_at=finished.isoformat() if finished else None,
        )
        if ent_key:
            draft.refs["enterprise_id"] = ent_key
    for i, (insp, ent_key, item_name, grade, status, title, description, measures) in enumerate(_findings()):
        item = items.get(item_name, {})
        found_by = inspectors[insp]
        start = planned[insp] + dt.timedelta(days=int(rng.integers(0, 3)))
        found_at = stamp(start, int(rng.integers(9 * 60 + 30, 17 * 60)))
        if insp == "insp:08":
            days = int(rng.integers(45, 61))  # found late in November: due in 2027
        elif grade == "major":
            days = int(rng.integers(30, 61))
        else:
            days = int(rng.integers(15, 46))
        deadline = found_at.date() + dt.timedelta(days=days)
        origin = point_of(plan, ent_key)
        angle = float(rng.uniform(0, 2 * np.pi))
        r = float(rng.uniform(8.0, 30.0))
        at = Point(origin.x + r * np.cos(angle), origin.y + r * np.sin(angle))
        responsible = person(rng)
        others = [n for n in INSPECTORS if n != found_by]
        reviewer = str(rng.choice(others)) if grade == "major" else str(rng.choice(INSPECTORS))
        timeline = _timeline(i, status, found_at, deadline, rng)
        closed_at = timeline[-1][1] if status == "closed" else None
        final_deadline = EXTENDED_TO if i == EXTENDED else deadline
        key = f"hd:{i + 1:02d}"
        finding = plan.new(
            "hidden_dangers",
            key,
            at,
            name=title,
            township=county.township_at((origin.x, origin.y)),
            source=SOURCE,
            grade=grade,
            description=description,
            clause=item.get("clause") or None,
            checklist_item=item.get("item") or None,
            found_at=found_at.isoformat(),
            found_by=found_by,
            responsible=responsible,
            deadline=final_deadline.isoformat(),
            status=status,
            measures=measures or None,
            reviewer=reviewer if status == "closed" else None,
            closed_at=closed_at.isoformat() if closed_at else None,
        )
        finding.refs["enterprise_id"] = ent_key
        finding.refs["inspection_id"] = insp
        for k, (kind, when) in enumerate(timeline, start=1):
            step_by = found_by if kind == "found" else reviewer if kind in REVIEW_KINDS else responsible
            text = _event_text(kind, step_by, grade, description, deadline, measures)
            event = table_row(
                plan,
                "hidden_danger_events",
                f"{key}:ev{k}",
                name=f"{DANGER_EVENT_KIND.label(kind)}·{title}"[:200],
                township=finding.props.get("township"),
                source=SOURCE,
                at=when.isoformat(),
                kind=kind,
                actor=step_by,
                text=text,
            )
            event.refs["danger_id"] = key


def _timeline(
    i: int, status: str, found_at: dt.datetime, deadline: dt.date, rng: np.random.Generator
) -> list[tuple[str, dt.datetime]]:
    """The steps of finding ``i`` up to ``status``: office hours, ascending, before :data:`AS_OF`."""
    last = AS_OF - dt.timedelta(days=1)
    steps: list[tuple[str, dt.datetime]] = [("found", found_at)]

    def step(kind: str, day: dt.date) -> None:
        prev = steps[-1][1]
        day = min(max(day, prev.date()), last)
        t = stamp(day, int(rng.integers(9 * 60 + 30, 18 * 60)))
        steps.append((kind, t if t > prev else prev + dt.timedelta(minutes=40)))

    if status == "found":
        return steps
    step("rectify", found_at.date() + dt.timedelta(days=int(rng.integers(1, 4))))
    if i == EXTENDED:
        step("extend", steps[-1][1].date() + dt.timedelta(days=10))
    if status == "rectifying":
        return steps
    begun = steps[-1][1].date()
    span = max((deadline - begun).days, 2)
    step("submit", begun + dt.timedelta(days=int(span * float(rng.uniform(0.4, 0.8)))))
    if i == FAILED_ONCE:
        step("fail", steps[-1][1].date() + dt.timedelta(days=2))
        step("submit", steps[-1][1].date() + dt.timedelta(days=5))
    if status == "review":
        return steps
    step("closed", steps[-1][1].date() + dt.timedelta(days=int(rng.integers(1, 5))))
    return steps


def _event_text(kind: str, who: str, grade: str, description: str, deadline: dt.date, measures: str) -> str:
    if kind == "found":
        return f"{who} 登记{DANGER_GRADE.label(grade)}：{description}；整改期限 {deadline.isoformat()}"
    if kind == "rectify":
        return f"{who} 开始整改"
    if kind == "submit":
        return f"{who} 整改完成，提交复查；整改措施：{measures or '已按要求整改'}"
    if kind == "fail":
        return f"{who} 复查未通过，退回整改；现场仍有外包人员未参加班前安全交底"
    if kind == "extend":
        return (
            f"{who} 延期；新期限 {EXTENDED_TO.isoformat()}；改造需停产并采购乙二醇载冷机组，"
            "利用冬季检修期实施，期间落实氨气检测和人员限员措施"
        )
    return f"{who} 复查通过并销号"


# ---------------------------------------------------------------------------- photos
def demo_photo(label: str) -> bytes:
    """A 640×480 grey JPEG saying 演示照片 (DEMO PHOTO without a CJK font) and ``label``; deterministic."""
    img = Image.new("RGB", PHOTO_SIZE, (150, 150, 150))
    draw = ImageDraw.Draw(img)
    draw.rectangle((40, 300, 600, 440), fill=(120, 120, 120))
    draw.rectangle((80, 330, 260, 420), fill=(170, 170, 170))
    lines: list[tuple[str, Any, int]]
    if FONT.exists():
        lines = [("演示照片", ImageFont.truetype(str(FONT), 64), 150), (label, ImageFont.truetype(str(FONT), 26), 240)]
    else:
        lines = [("DEMO PHOTO", ImageFont.load_default(), 150), ("synthetic evidence", ImageFont.load_default(), 240)]
    for text, font, y in lines:
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
        draw.text(((PHOTO_SIZE[0] - (x1 - x0)) / 2 - x0, y - (y1 - y0) / 2 - y0), text, fill=(255, 255, 255), font=font)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=80)
    return out.getvalue()


def write_demo_photos(store: FeatureStore) -> int:
    """Give every demo finding under review or closed one generated evidence photo; return how many.

    Each photo's bytes go into ``safemap_photos``, its metadata into ``danger_photos`` (stage
    整改证据) and the finding's timeline gets a 上传照片 entry shortly before its submission.
    Call after :func:`layers.demo.build.write_plan`.
    """
    page = store.query("hidden_dangers", filters={"status": ["review", "closed"]}, limit=None, count=False)
    findings = sorted(
        (f for f in page.features() if "synthetic" in str(f["properties"].get("source") or "")),
        key=lambda f: int(f["id"]),
    )
    if not findings:
        return 0
    taken: dict[int, dt.datetime] = {}
    for f in findings:
        fid = int(f["id"])
        rows = store.query(
            "hidden_danger_events", filters={"danger_id": [fid], "kind": ["submit"]}, limit=None, count=False, sort="at"
        ).rows
        when = rows[0]["at"] if rows else f["properties"]["found_at"] + dt.timedelta(days=1)
        when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
        taken[fid] = when - dt.timedelta(minutes=20)
    with store.transaction() as tx:
        photos = tx.layer("danger_photos")
        events = tx.layer("hidden_danger_events")
        for f in findings:
            props = f["properties"]
            fid = int(f["id"])
            data = demo_photo(f"{props['name']}·整改后")
            digest = hashlib.sha256(data).hexdigest()
            tx.execute(
                insert(tx.photos_table).values(
                    sha256=digest, content_type="image/jpeg", size_bytes=len(data), data=data, created_at=utc_now()
                )
            )
            uploader = str(props.get("responsible") or PHOTO_ACTOR.name)
            meta = {
                "name": f"{props['name']}·整改证据照片"[:200],
                "township": props.get("township"),
                "source": PHOTO_SOURCE,
                "danger_id": fid,
                "stage": "evidence",
                "content_type": "image/jpeg",
                "size_bytes": len(data),
                "sha256": digest,
                "width": PHOTO_SIZE[0],
                "height": PHOTO_SIZE[1],
                "taken_at": taken[fid].isoformat(),
                "uploaded_by": uploader,
            }
            (pid,) = tx.insert(photos, [_clean(photos, meta)], PHOTO_ACTOR)
            event = {
                "name": f"上传照片·{props['name']}"[:200],
                "township": props.get("township"),
                "source": SOURCE,
                "danger_id": fid,
                "at": taken[fid].isoformat(),
                "kind": "photo",
                "actor": uploader,
                "text": f"{uploader} 上传整改证据照片",
                "photos": json.dumps([pid]),
            }
            tx.insert(events, [_clean(events, event)], PHOTO_ACTOR)
        tx.record_audit(PHOTO_ACTOR, "seed", photos, [(None, None, None)], f"演示隐患整改证据照片 {len(findings)} 张")
        tx.bump_generation()
    return len(findings)


def _clean(layer: Layer, props: dict[str, Any]) -> CleanFeature:
    feature = {"type": "Feature", "geometry": None, "properties": {k: v for k, v in props.items() if v is not None}}
    return validate_feature(layer, feature, partial=False, extent=None)
