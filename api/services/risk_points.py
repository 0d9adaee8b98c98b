"""Risk points and the four-colour maps: score and level of every point, zone and enterprise.

A risk point is assessed by LEC (D = L×E×C, Graham & Kinney 1976) or LS (R = L×S, 风险矩阵);
the allowed factor values are the rows of ``risk_factor_values`` and the level bands those of
``risk_level_bands`` (both seeded from ``data/standards/``, editable by an admin). Derived on
every write path (:mod:`api.services.editing` ``DERIVED``):

* each point's ``score`` and ``risk_level``;
* each ``risk_zones`` polygon's ``risk_level``: the highest of the points in it (``zone_id``);
* each enterprise's ``risk_level``: the highest of its points — unless the office fixed it
  (``risk_level_fixed``), or it has no assessed point (then it keeps what was entered).

Before a point is written its factors are checked (:func:`check_point`): the method's factors
must all be given and be values of the table, e.g. “L 应为 10、6、3、1、0.5、0.2、0.1 之一”.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from safemap.gis.risk_grading import factor_problem, highest_level, lec_score, level_of, ls_score
from safemap.layers.enums import RISK_LEVEL
from safemap.layers.errors import Problem, ValidationFailed
from safemap.layers.model import Actor
from safemap.layers.prevention_enums import RISK_METHOD
from safemap.layers.store import FeatureStore

#: The actor recorded in the audit log for derived risk levels.
GRADER = Actor("system:risk", "admin")
#: The fields of each method's factors: (field, factor letter of ``risk_factor_values``).
FACTORS: dict[str, tuple[tuple[str, str], ...]] = {
    "lec": (("lec_l", "L"), ("lec_e", "E"), ("lec_c", "C")),
    "ls": (("ls_l", "L"), ("ls_s", "S")),
}
_LABELS = {
    "lec_l": "L（事故发生的可能性）",
    "lec_e": "E（暴露于危险环境的频繁程度）",
    "lec_c": "C（发生事故的后果）",
    "ls_l": "L（可能性等级）",
    "ls_s": "S（严重性等级）",
}


def _rows(store: FeatureStore, layer: str) -> list[dict[str, Any]]:
    return store.query(layer, limit=None, count=False, children=False).rows


def _method_code(value: Any) -> str | None:
    """``lec``/``ls`` from a code, its label, or the short name people type (LEC, ls, 风险矩阵)."""
    text = str(value or "").strip()
    for m in RISK_METHOD.members:
        if text.lower() == m.code or text == m.label or (len(text) >= 2 and text.upper() in m.label):
            return m.code
    return None


def score_of(props: Mapping[str, Any]) -> float | None:
    """The point's D (LEC) or R (LS); ``None`` while a factor is missing."""
    method = _method_code(props.get("method"))
    if method is None:
        return None
    values = [props.get(f) for f, _ in FACTORS[method]]
    if any(v is None for v in values):
        return None
    nums = [float(v) for v in values]  # type: ignore[arg-type]
    return lec_score(*nums) if method == "lec" else ls_score(int(nums[0]), int(nums[1]))


def check_point(store: FeatureStore, props: Mapping[str, Any], merged: Mapping[str, Any]) -> None:
    """422 naming the field when the method's factors are missing or not values of the table.

    ``props`` is what the write sets, ``merged`` the point as it will be stored.
    """
    method = _method_code(merged.get("method"))
    if method is None:
        return  # the catalogue's validation names a missing or unknown method
    allowed = _rows(store, "risk_factor_values")
    problems: list[Problem] = []
    for field, factor in FACTORS[method]:
        value = merged.get(field)
        if value is None or value == "":
            problems.append(Problem(f"properties.{field}", f"{_LABELS[field]}：按所选评价方法必须填写"))
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue  # the catalogue's validation names a value that is not a number
        why = factor_problem(method, factor, number, allowed)
        if why:
            problems.append(Problem(f"properties.{field}", f"{_LABELS[field]}：{why}"))
    zone = merged.get("zone_id")
    if zone not in (None, "") and merged.get("enterprise_id") not in (None, ""):
        rows = store.query("risk_zones", ids=[int(zone)], limit=1, count=False, children=False).rows
        if rows and str(rows[0].get("enterprise_id")) != str(merged.get("enterprise_id")).strip():
            problems.append(Problem("properties.zone_id", "所在风险分区编号：该分区属于另一家企业"))
    if problems:
        raise ValidationFailed("；".join(p.message for p in problems), problems)


def recompute_risk(store: FeatureStore, actor: Actor = GRADER) -> dict[str, int]:
    """Bring every derived risk value up to date; return how many points, zones, enterprises changed."""
    bands = _rows(store, "risk_level_bands")
    by_method: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for band in bands:
        by_method[str(band.get("method"))].append(band)
    points = _rows(store, "risk_points")
    point_changes: dict[int, dict[str, Any]] = {}
    levels_by_zone: dict[int, list[str | None]] = defaultdict(list)
    levels_by_enterprise: dict[int, list[str | None]] = defaultdict(list)
    for p in points:
        score = score_of(p)
        level = level_of(score, by_method.get(str(p.get("method")), [])) if score is not None else None
        if p.get("score") != score or p.get("risk_level") != level:
            point_changes[int(p["id"])] = {"score": score, "risk_level": level}
        if p.get("zone_id") is not None:
            levels_by_zone[int(p["zone_id"])].append(level)
        if p.get("enterprise_id") is not None:
            levels_by_enterprise[int(p["enterprise_id"])].append(level)
    if point_changes:
        store.set_computed(
            "risk_points", point_changes, actor, note=f"风险值与风险等级（{len(point_changes)} 个风险点）"
        )
    zone_changes: dict[int, dict[str, Any]] = {}
    for z in _rows(store, "risk_zones"):
        level = highest_level(levels_by_zone.get(int(z["id"]), []))
        if z.get("risk_level") != level:
            zone_changes[int(z["id"])] = {"risk_level": level}
    if zone_changes:
        store.set_computed("risk_zones", zone_changes, actor, note=f"分区风险等级（{len(zone_changes)} 个分区）")
    enterprise_changes = _enterprise_levels(store, levels_by_enterprise)
    if enterprise_changes:
        _write_enterprise_levels(store, enterprise_changes, actor)
    return {"risk_points": len(point_changes), "risk_zones": len(zone_changes), "enterprises": len(enterprise_changes)}


def _enterprise_levels(store: FeatureStore, levels: Mapping[int, list[str | None]]) -> dict[int, str]:
    changes: dict[int, str] = {}
    for e in _rows(store, "enterprises"):
        if e.get("risk_level_fixed"):
            continue
        level = highest_level(levels.get(int(e["id"]), []))
        if level is not None and e.get("risk_level") != level:
            changes[int(e["id"])] = level
    return changes


def _write_enterprise_levels(store: FeatureStore, changes: Mapping[int, str], actor: Actor) -> None:
    """The enterprises' levels from their points, audited as a computation (version not bumped)."""
    with store.transaction() as tx:
        layer = tx.layer("enterprises")
        entries = []
        for fid, level in changes.items():
            before = tx.fetch(layer, fid)
            tx.set_values("enterprises", fid, {"risk_level": level})
            old = before["properties"].get("risk_level") if before else None
            entries.append((fid, {"risk_level": old}, {"risk_level": level}))
        note = "企业风险等级取其风险点最高等级：" + "，".join(
            f"{fid}→{RISK_LEVEL.label(level)}" for fid, level in list(changes.items())[:20]
        )
        tx.record_audit(actor, "compute", layer, entries, note)
        tx.bump_generation()
