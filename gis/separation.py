"""Separation audit: which hazard/target pairs are closer than a rule allows.

The rules are rows of the ``separation_rules`` table (standard, clause, hazard category and
its conditions, target layer/field/values, minimum distance or allowed overpressure). This
module only matches and measures:

1. :func:`hazard_profiles` derives, per hazard source, the rule families it falls under
   (fuel station with its GB 50156 grade, LPG storage or flammable-liquid tanks with the
   enterprise's total volume, explosives with their TNT mass, hazardous-chemical site).
2. :func:`applicable_rules` picks the matching rows (grade, vapour recovery, volume band)
   and the distance each requires.
3. :func:`check_pairs` finds candidate pairs with one STRtree over the targets
   (``dwithin`` the required distance) and measures the distance between the real metric
   geometries (polygon edge to polygon edge; 0 when they overlap).
4. :func:`evaluate` gives every check a three-valued ``status`` (:mod:`gis.verdicts`):
   ``fail`` closer than required, ``pass``, or ``cannot_check`` with the reason — a target
   without the class a rule selects on (unless it is beyond the strictest class's distance),
   a source without a grade or volume (:mod:`gis.hazard_profiles`), a volume above the
   table's last band; rules whose targets have no map layer become hazard-level issues.

Everything is in a metric CRS (see :mod:`gis.projection`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from safemap.gis.consequence_vce import kb_scaled_distance
from safemap.gis.hazard_profiles import (
    FILL_FRACTION as FILL_FRACTION,
)
from safemap.gis.hazard_profiles import (
    TANK_KINDS as TANK_KINDS,
)
from safemap.gis.hazard_profiles import (
    SubstanceProperties as SubstanceProperties,
)
from safemap.gis.hazard_profiles import (
    hazard_profiles as hazard_profiles,
)
from safemap.gis.hazard_profiles import (
    tnt_mass_kg as tnt_mass_kg,
)
from safemap.gis.target_classes import missing, unknown_class_mask
from safemap.gis.verdicts import CANNOT_CHECK, FAIL, PASS, STATUS_ORDER

GROUP_KEY = ["standard", "clause", "target_layer", "target_field", "target_values"]


def applicable_rules(profiles: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """Rows (pos, rule_pos, required_m, band_note) of the rules each hazard source must keep.

    Volume-banded rules: per rule group (same standard, clause and target) the smallest
    band holding both the total volume and the largest single tank; a total above the
    table's last band takes the last band, says so in ``band_note`` and sets ``over_band``
    (a distance below it fails; one above it cannot be confirmed). Profiles with a
    ``reason`` (not gradable) match no rule.
    """
    if "reason" in profiles:
        profiles = profiles[profiles["reason"].isna()]
    r = rules.reset_index(drop=True).copy()
    r["rule_pos"] = np.arange(len(r))
    if "enabled" in r:  # a rules table without the column has every rule enabled
        r = r[r["enabled"].fillna(True).astype(bool)]
    for col in GROUP_KEY:
        r[col] = r[col].fillna("")
    m = profiles.merge(r, on="hazard_category", suffixes=("", "_rule"))
    grade_ok = m["station_grade_rule"].isna() | (m["station_grade_rule"] == m["station_grade"])
    vr_ok = m["vapour_recovery_rule"].isna() | (m["vapour_recovery_rule"] == m["vapour_recovery"])
    m = m[grade_ok & vr_ok].copy()
    m["band_note"] = ""
    m["over_band"] = False
    banded = m["volume_max_m3"].notna()
    plain = m[~banded]
    parts = [plain]
    if banded.any():
        b = m[banded].copy()
        v = b["volume_m3"].astype(float)
        s = b["single_tank_m3"].astype(float)
        first_min = b.groupby(["pos", *GROUP_KEY])["volume_min_m3"].transform("min").fillna(0)
        b["fits"] = (v <= b["volume_max_m3"]) & (
            s.isna() | b["single_tank_max_m3"].isna() | (s <= b["single_tank_max_m3"])
        )
        b = b[v > first_min]
        b = b.sort_values("volume_max_m3")
        fits = b[b["fits"]].groupby(["pos", *GROUP_KEY], sort=False).head(1)
        over = b.groupby(["pos", *GROUP_KEY], sort=False).tail(1)
        over = over[~over.set_index(["pos", *GROUP_KEY]).index.isin(fits.set_index(["pos", *GROUP_KEY]).index)].copy()
        over["band_note"] = "总容积或单罐容积超出表列最大档，按最大档核查"
        over["over_band"] = True
        parts += [fits, over]
    m = pd.concat(parts, ignore_index=True)
    required = m["min_distance_m"].astype(float)
    op = m["overpressure_kpa"].astype(float)
    has_op = op.notna() & m["tnt_kg"].notna()
    if has_op.any():
        z = {k: kb_scaled_distance(k) for k in op[has_op].unique()}
        required = required.where(~has_op, op.map(z) * m["tnt_kg"].astype(float) ** (1 / 3))
    m["required_m"] = required
    m = m[m["required_m"].notna()]
    m["over_band"] = m["over_band"].astype(bool)
    return m[["pos", "rule_pos", "required_m", "band_note", "over_band"]].reset_index(drop=True)


def target_masks(
    targets: pd.DataFrame, rules: pd.DataFrame, only: Iterable[int] | None = None
) -> dict[int, np.ndarray]:
    """Per rule position: which targets (by ``layer`` and field values) the rule protects.

    ``only`` limits the work to those rule positions; rules naming the same target set share one mask.
    """
    out: dict[int, np.ndarray] = {}
    layer = targets["layer"].to_numpy() if len(targets) else np.array([], dtype=object)
    wanted = None if only is None else set(int(i) for i in only)
    shared: dict[tuple[Any, str, str], np.ndarray] = {}
    by_layer: dict[Any, np.ndarray] = {}
    for pos, rule in enumerate(rules.itertuples(index=False)):
        if wanted is not None and pos not in wanted:
            continue
        fieldname = rule.target_field if isinstance(rule.target_field, str) else ""
        values = str(rule.target_values or "") if fieldname else ""
        key = (rule.target_layer, fieldname, values)
        if key not in shared:
            if rule.target_layer not in by_layer:
                by_layer[rule.target_layer] = layer == rule.target_layer
            mask = by_layer[rule.target_layer]
            if fieldname:
                col = targets[fieldname] if fieldname in targets else pd.Series([None] * len(targets))
                mask = mask & col.isin(set(values.split("|"))).to_numpy()
            shared[key] = mask
        out[pos] = shared[key]
    return out


def check_pairs(
    hazard_geoms: np.ndarray,
    applicable: pd.DataFrame,
    target_geoms: np.ndarray,
    masks: Mapping[int, np.ndarray],
    *,
    extra_m: float = 0.0,
    only_failing: bool = True,
    tree: STRtree | None = None,
) -> pd.DataFrame:
    """Measure every hazard/target pair a rule covers within its required distance (+ ``extra_m``).

    Candidates come from the STRtree by envelope (each hazard's bounds grown by the distance),
    are narrowed to the targets the rule protects, and only then measured exactly — cheaper
    than a ``dwithin`` query that would measure targets of every class.

    Returns columns ``pos`` (hazard), ``target_pos``, ``rule_pos``, ``required_m``,
    ``actual_m``, ``band_note``; with ``only_failing`` only pairs closer than required.
    """
    tree = tree or STRtree(target_geoms)
    bounds = shapely.bounds(hazard_geoms) if len(hazard_geoms) else np.zeros((0, 4))
    frames = []
    for key, grp in applicable.groupby("rule_pos", sort=True):
        rule_pos = cast(int, key)  # pandas-stubs types group keys as any Scalar; rule_pos is an integer column
        mask = masks.get(int(rule_pos))
        if mask is None or not mask.any():
            continue
        hz = grp["pos"].to_numpy()
        req = grp["required_m"].to_numpy(dtype=float)
        reach = req + extra_m
        b = bounds[hz]
        boxes = shapely.box(b[:, 0] - reach, b[:, 1] - reach, b[:, 2] + reach, b[:, 3] + reach)
        hi, tj = tree.query(boxes)
        keep = mask[tj]
        hi, tj = hi[keep], tj[keep]
        if hi.size == 0:
            continue
        dist = shapely.distance(hazard_geoms[hz[hi]], target_geoms[tj])
        limit = req[hi] - 1e-9 if only_failing else reach[hi]
        near = dist < limit if only_failing else dist <= limit
        hi, tj, dist = hi[near], tj[near], dist[near]
        if hi.size == 0:
            continue
        frames.append(
            pd.DataFrame(
                {
                    "pos": hz[hi],
                    "target_pos": tj,
                    "rule_pos": int(rule_pos),
                    "required_m": req[hi],
                    "actual_m": dist,
                    "band_note": grp["band_note"].to_numpy()[hi],
                }
            )
        )
    cols = ["pos", "target_pos", "rule_pos", "required_m", "actual_m", "band_note"]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


def describe_pairs(
    pairs: pd.DataFrame,
    hazards: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame,
    rules: pd.DataFrame,
    profiles: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Pairs as a GeoDataFrame (metric CRS) of shortest lines, with names, rule, clause, shortfall.

    ``pairs`` may carry ``status`` and ``reason`` (from :func:`gis.separation_checks.evaluate`);
    without them the status follows the distances (pass when ``actual_m ≥ required_m``).
    Columns added: ``status`` (``pass``/``fail``/``cannot_check``), ``passed`` (status is
    pass), ``reason``, ``class_basis`` (``explicit``/``derived`` when the rule selects by a
    class the targets carry with a ``<field>_basis`` column) and ``class_note``.
    """
    rules = rules.reset_index(drop=True)
    h = hazards.iloc[pairs["pos"].to_numpy()]
    t = targets.iloc[pairs["target_pos"].to_numpy()]
    r = rules.iloc[pairs["rule_pos"].to_numpy()]
    lines = shapely.shortest_line(h.geometry.to_numpy(), t.geometry.to_numpy())
    required = pairs["required_m"].to_numpy(dtype=float)
    actual = pairs["actual_m"].to_numpy(dtype=float)
    if "status" in pairs:
        status = pairs["status"].to_numpy(dtype=object)
    else:
        status = np.where(actual >= required - 1e-9, PASS, FAIL).astype(object)
    reason = pairs["reason"].to_numpy(dtype=object) if "reason" in pairs else np.full(len(pairs), None, dtype=object)
    basis = np.full(len(pairs), None, dtype=object)
    class_note = np.full(len(pairs), None, dtype=object)
    fields = r["target_field"].to_numpy(dtype=object)
    for f in {x for x in fields if isinstance(x, str) and x}:
        sel = fields == f
        if f"{f}_basis" in t:
            basis[sel] = t[f"{f}_basis"].to_numpy(dtype=object)[sel]
        if f"{f}_note" in t:
            class_note[sel] = t[f"{f}_note"].to_numpy(dtype=object)[sel]
    frame = gpd.GeoDataFrame(
        {
            "hazard_id": h["id"].to_numpy(),
            "hazard_name": h["name"].to_numpy(),
            "hazard_category": r["hazard_category"].to_numpy(),
            "target_layer": t["layer"].to_numpy(),
            "target_id": t["id"].to_numpy(),
            "target_name": t["name"].to_numpy(),
            "target_class": r["target_label"].to_numpy(),
            "rule_id": r["id"].to_numpy() if "id" in r else pairs["rule_pos"].to_numpy(),
            "rule": r["name"].to_numpy(),
            "standard": r["standard"].to_numpy(),
            "clause": r["clause"].to_numpy(),
            "required_m": np.round(required, 2),
            "actual_m": np.round(actual, 2),
            # Only a failure falls short; a pair that cannot be checked has no shortfall to state.
            "shortfall_m": np.where(status == CANNOT_CHECK, np.nan, np.round(np.maximum(required - actual, 0), 2)),
            "status": status,
            "passed": status == PASS,
            "reason": reason,
            "class_basis": basis,
            "class_note": class_note,
            "measured_between": r["measured_between"].to_numpy(),
            "note": pairs["band_note"].to_numpy(),
        },
        geometry=lines,
        crs=hazards.crs,
    )
    frame["_order"] = frame["status"].map(STATUS_ORDER).fillna(3)
    frame = frame.sort_values(["_order", "shortfall_m"], ascending=[True, False]).drop(columns="_order")
    return frame.reset_index(drop=True)


def _issue(pos: int, category: Any, reason: str, rule_pos: int | None = None, required: float | None = None) -> dict:
    return {
        "pos": int(pos),
        "hazard_category": category,
        "rule_pos": rule_pos,
        "required_m": required,
        "status": CANNOT_CHECK,
        "reason": reason,
    }


def evaluate(
    hazards: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame,
    rules: pd.DataFrame,
    props: SubstanceProperties,
    *,
    extra_m: float = 0.0,
    report_passes: bool = False,
    ungradable_extra_m: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every rule check of every hazard/target pair, three-valued, and the hazard-level findings.

    Parameters
    ----------
    hazards, targets
        As for :func:`audit` (one metric CRS). Targets may carry ``<field>_note`` (from
        :func:`gis.target_classes.derive_classes`): the reason a class is missing.
    rules
        The ``separation_rules`` table.
    props
        Substance lookup.
    extra_m
        Pairs up to this far (m) beyond the required distance are reported too.
    report_passes
        Keep the passes (site check); otherwise only failures and 无法核查 (audit).
    ungradable_extra_m
        How far (m) beyond the largest distance of its family a source without a grade or
        volume still makes targets 无法核查; default ``extra_m``. A proposed station that
        cannot be graded is itself 无法核查, so its site check lists only the targets within
        that distance (0).

    Returns
    -------
    (pairs, issues)
        ``pairs``: ``pos, target_pos, rule_pos, required_m, actual_m, band_note, status,
        reason`` — status ``fail`` (closer than required), ``pass``, or ``cannot_check``:
        a target with no class the rule selects on closer than the strictest class would
        need (the reason is the target's ``<field>_note``), a source with no grade or volume
        (every target within the largest distance of its family), or a total above the
        table's last band that keeps the last band's distance. ``issues``: ``pos,
        hazard_category, rule_pos, required_m, status, reason`` — sources that cannot be
        checked at all (no geometry, no grade, no volume), rules whose targets have no map
        layer (railways, substations …), volume above the table's last band.
    """
    rules = rules.reset_index(drop=True)
    hgeo = hazards.geometry.to_numpy()
    tgeo = targets.geometry.to_numpy()
    h_ok = ~(shapely.is_missing(hgeo) | shapely.is_empty(hgeo)) if len(hgeo) else np.zeros(0, dtype=bool)
    t_ok = ~(shapely.is_missing(tgeo) | shapely.is_empty(tgeo)) if len(tgeo) else np.zeros(0, dtype=bool)
    usable = np.array([g if ok else None for g, ok in zip(tgeo, t_ok, strict=True)], dtype=object)
    tree = STRtree(usable)
    no_geom = "危险源没有位置（几何为空），未核查安全间距"
    issues: list[dict] = [_issue(int(p), None, no_geom) for p in np.flatnonzero(~h_ok)]
    profiles = hazard_profiles(hazards, props)
    profiles = profiles[h_ok[profiles["pos"].to_numpy(dtype=int)]] if len(profiles) else profiles
    layers = rules["target_layer"].fillna("").to_numpy(dtype=object)
    fields = rules["target_field"].to_numpy(dtype=object)
    applicable = applicable_rules(profiles, rules)
    is_none = layers[applicable["rule_pos"].to_numpy(dtype=int)] == "none"
    rule_rows = cast(list[dict[str, Any]], rules.to_dict("records"))
    for a in applicable[is_none].itertuples(index=False):
        rule = rule_rows[int(a.rule_pos)]
        why = f"「{rule['target_label']}」在地图上没有对应图层，未自动核查（要求 {float(a.required_m):g} m）"
        issues.append(_issue(a.pos, rule["hazard_category"], why, int(a.rule_pos), float(a.required_m)))
    mapped = applicable[~is_none].reset_index(drop=True)
    for (pos, cat), grp in (
        mapped[mapped["over_band"]]
        .merge(rules[["hazard_category"]].reset_index(names="rule_pos"), on="rule_pos")
        .groupby(["pos", "hazard_category"])
    ):
        why = "总容积或单罐容积超出表列最大档：按最大档核查，不足者为不符合，满足最大档者无法确认"
        issues.append(_issue(pos, cat, why, None, float(grp["required_m"].max())))
    frames = []
    # A. Targets whose class the rule names: measured against the rule's distance.
    masks = target_masks(targets, rules, only=mapped["rule_pos"].unique())
    masks = {k: m & t_ok for k, m in masks.items()}
    a = check_pairs(hgeo, mapped, tgeo, masks, extra_m=extra_m, only_failing=False, tree=tree)
    ok = a["actual_m"].to_numpy(dtype=float) >= a["required_m"].to_numpy(dtype=float) - 1e-9
    over = a["band_note"].astype(bool).to_numpy()
    a["status"] = np.where(ok, np.where(over, CANNOT_CHECK, PASS), FAIL)
    beyond = "容积超出表列最大档，已满足最大档的间距，但更大容积所需间距无法由表确定"
    a["reason"] = [beyond if x else None for x in ok & over]
    frames.append(a)
    # B. Targets with no class: measured against the strictest class of the family.
    keyed = mapped[[isinstance(fields[i], str) and bool(fields[i]) for i in mapped["rule_pos"]]].copy()
    empties: dict[Any, np.ndarray] = {}
    if len(keyed):
        standards = rules["standard"].to_numpy(dtype=object)
        clauses = rules["clause"].to_numpy(dtype=object)
        keyed["family"] = [(standards[i], clauses[i], layers[i], fields[i]) for i in keyed["rule_pos"]]
        strict = keyed.loc[keyed.groupby(["pos", "family"])["required_m"].idxmax()]
        umasks = {
            int(i): unknown_class_mask(targets, layers[i], fields[i], t_ok, empties)
            for i in strict["rule_pos"].unique()
        }
        b = check_pairs(hgeo, strict, tgeo, umasks, extra_m=extra_m, only_failing=False, tree=tree)
        near = b["actual_m"].to_numpy(dtype=float) < b["required_m"].to_numpy(dtype=float) - 1e-9
        b["status"] = np.where(near, CANNOT_CHECK, PASS)
        b["reason"] = [
            _class_reason(targets, int(t), rule_rows[int(r)], float(q)) if n else "类别未填写，已满足最严类别的间距"
            for t, r, q, n in zip(b["target_pos"], b["rule_pos"], b["required_m"], near, strict=True)
        ]
        frames.append(b)
    # C. Sources in a family without a grade or volume: every target the family could protect.
    bad = profiles[profiles["reason"].notna()] if len(profiles) else profiles
    for prof in bad.itertuples(index=False):
        issues.append(_issue(int(cast(int, prof.pos)), prof.hazard_category, str(prof.reason)))
        fam = rules[(rules["hazard_category"] == prof.hazard_category) & (layers != "none")]
        if "enabled" in fam:
            fam = fam[fam["enabled"].fillna(True).astype(bool)]
        fam = fam[fam["min_distance_m"].notna()]
        if not len(fam):
            continue
        key = fam[GROUP_KEY].fillna("").astype(str).agg("|".join, axis=1)
        top = fam.loc[fam["min_distance_m"].astype(float).groupby(key).idxmax()]
        rows = pd.DataFrame(
            {
                "pos": prof.pos,
                "rule_pos": top.index.to_numpy(),
                "required_m": top["min_distance_m"].astype(float).to_numpy(),
                "band_note": "",
            }
        )
        cmasks = target_masks(targets, rules, only=rows["rule_pos"])
        for i in rows["rule_pos"]:
            f = fields[i]
            extra = unknown_class_mask(targets, layers[i], f, t_ok, empties) if isinstance(f, str) and f else False
            cmasks[int(i)] = (cmasks[int(i)] | extra) & t_ok
        reach = extra_m if ungradable_extra_m is None else ungradable_extra_m
        c = check_pairs(hgeo, rows, tgeo, cmasks, extra_m=reach, only_failing=False, tree=tree)
        if len(c):
            c = c.sort_values("required_m", ascending=False).drop_duplicates(["pos", "target_pos"])
            c["status"] = CANNOT_CHECK
            c["reason"] = str(prof.reason)
            frames.append(c)
    cols = ["pos", "target_pos", "rule_pos", "required_m", "actual_m", "band_note", "status", "reason"]
    frames = [f[cols] for f in frames if len(f)]
    pairs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    if not report_passes:
        pairs = pairs[pairs["status"] != PASS].reset_index(drop=True)
    issue_cols = ["pos", "hazard_category", "rule_pos", "required_m", "status", "reason"]
    return pairs, pd.DataFrame(issues, columns=issue_cols)


def _class_reason(targets: pd.DataFrame, pos: int, rule: Mapping[str, Any], strictest_m: float) -> str:
    """Why a target without a class cannot be checked against a rule family (Chinese)."""
    field = rule["target_field"]
    note = targets[f"{field}_note"].iloc[pos] if f"{field}_note" in targets else None
    head = str(note) if not missing(note) else "防护目标未填写该规则所需的类别"
    return f"{head}（{rule['standard']} {rule['clause']} 最严类别「{rule['target_label']}」要求 {strictest_m:g} m）"


def audit_with_issues(
    hazards: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame,
    rules: pd.DataFrame,
    props: SubstanceProperties,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The audit's pairs (:func:`describe_pairs`, fail and 无法核查) and its hazard-level issues.

    The issues of :func:`evaluate` get ``hazard_id``, ``hazard_name``, ``rule``, ``standard``,
    ``clause`` and ``target_class`` (empty when not about one rule).
    """
    rules = rules.reset_index(drop=True)
    pairs, issues = evaluate(hazards, targets, rules, props)
    frame = describe_pairs(pairs, hazards, targets, rules)
    return frame, describe_issues(issues, hazards, rules)


def describe_issues(issues: pd.DataFrame, hazards: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """Hazard-level findings with the source's id and name and, when about one rule, its citation."""
    out = issues.copy()
    h = hazards.iloc[out["pos"].to_numpy(dtype=int)] if len(out) else hazards.iloc[0:0]
    out["hazard_id"] = h["id"].to_numpy()
    out["hazard_name"] = h["name"].to_numpy()
    cite = (("rule", "name"), ("standard", "standard"), ("clause", "clause"), ("target_class", "target_label"))
    for col, src in cite:
        values = rules[src].to_numpy(dtype=object)
        out[col] = pd.Series([None if pd.isna(r) else values[int(r)] for r in out["rule_pos"]], dtype=object)
    return out.drop(columns=["pos"]).reset_index(drop=True)


def audit(
    hazards: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame,
    rules: pd.DataFrame,
    props: SubstanceProperties,
) -> gpd.GeoDataFrame:
    """Every violation (不符合) and every pair that cannot be checked (无法核查), metric CRS.

    One row per (hazard, target, rule) with ``status`` ``fail`` or ``cannot_check`` and the
    ``reason`` of the latter; :func:`audit_with_issues` gives the hazard-level findings too.

    ``hazards`` need ``id, name, kind, enterprise_id, gasoline_m3, diesel_m3, max_tank_m3,
    vapour_recovery, substances``; ``targets`` need ``layer, id, name`` and the fields the
    rules name (``category``, ``gb50156_class``, ``kind``, ``road_class`` …). Both in one metric CRS.
    """
    return audit_with_issues(hazards, targets, rules, props)[0]
