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

Everything is in a metric CRS (see :mod:`gis.projection`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from safemap.gis.consequence_vce import kb_scaled_distance
from safemap.gis.fuel_station import station_grade
from safemap.gis.major_hazard import normalise_name

TANK_KINDS = frozenset({"storage_tank", "tank_farm", "lpg_tank", "fuel_station_tank"})
#: Fill level assumed when a tank's volume is estimated from the mass it holds.
FILL_FRACTION = 0.85
TNT_NAMES = ("tnt", "三硝基甲苯", "梯恩梯", "硝化甘油")
GROUP_KEY = ["standard", "clause", "target_layer", "target_field", "target_values"]
#: GB 50016 liquid fire class → tank family; keyed by whatever the table cell holds (str, None, NaN).
_LIQUID_FAMILY: dict[object, str] = {"甲": "ab", "乙": "ab", "丙": "c"}


class SubstanceProperties:
    """Lookup of the ``substance_properties`` table by name/alias first, then CAS."""

    def __init__(self, table: pd.DataFrame | Sequence[Mapping[str, Any]]) -> None:
        rows: list[Mapping[str, Any]]
        if isinstance(table, pd.DataFrame):
            # pandas-stubs types to_dict() keys as Hashable; the table has string column names.
            rows = cast(list[Mapping[str, Any]], table.to_dict("records"))
        else:
            rows = list(table)
        self.by_name: dict[str, Mapping[str, Any]] = {}
        self.by_cas: dict[str, Mapping[str, Any]] = {}
        for r in rows:
            for n in [r.get("name"), *str(r.get("aliases") or "").split("|")]:
                if n and str(n) != "nan":
                    self.by_name.setdefault(normalise_name(n), r)
            cas = r.get("cas")
            if isinstance(cas, str) and cas:
                self.by_cas.setdefault(cas, r)

    def find(self, name: str | None, cas: str | None) -> Mapping[str, Any] | None:
        """The row for a substance, or ``None``."""
        row = self.by_name.get(normalise_name(name))
        if row is None and cas:
            row = self.by_cas.get(cas)
        return row


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _liquid_volumes(subs: Sequence[Mapping[str, Any]], props: SubstanceProperties) -> dict[str, float]:
    """Estimated tank volume (m³) per GB 50016 class ('ab'/'c'/'lpg') from the masses held."""
    out: dict[str, float] = {}
    for s in subs:
        row = props.find(s.get("name"), s.get("cas"))
        if row is None:
            continue
        density = _num(row.get("liquid_density_t_m3"))
        q = _num(s.get("quantity_t")) or 0.0
        if not density:
            continue
        cls = row.get("liquid_fire_class")
        key = "lpg" if row.get("qra_category") == "liquefied_flammable_gas" else _LIQUID_FAMILY.get(cls)
        if key:
            out[key] = out.get(key, 0.0) + q / density / FILL_FRACTION
    return out


def tnt_mass_kg(subs: Sequence[Mapping[str, Any]]) -> float:
    """TNT-equivalent mass (kg) of the mass-explosion explosives held (class W1.1 or TNT/nitroglycerin, factor 1.0)."""
    total = 0.0
    for s in subs:
        name = normalise_name(s.get("name"))
        if s.get("hazard_class") == "W1.1" or any(n in name for n in TNT_NAMES):
            total += (_num(s.get("quantity_t")) or 0.0) * 1000.0
    return total


def hazard_profiles(hazards: pd.DataFrame, props: SubstanceProperties) -> pd.DataFrame:
    """Rule families of each hazard source (one row per source and family).

    Columns: ``pos`` (row position in ``hazards``), ``hazard_category``, ``station_grade``,
    ``vapour_recovery``, ``volume_m3`` (the enterprise's total of that family), ``single_tank_m3``,
    ``tnt_kg``, ``volume_estimated``.
    """
    rows: list[dict[str, Any]] = []
    for pos, h in enumerate(hazards.itertuples(index=False)):
        # pandas-stubs' PandasNamedTuple lacks the namedtuple method _asdict (its __getattr__ answers).
        rec: dict[str, Any] = h._asdict()  # type: ignore[operator,misc]
        kind = rec.get("kind")
        subs = rec.get("substances") or []
        if not isinstance(subs, list):
            subs = []
        base = {
            "pos": pos,
            "enterprise_id": rec.get("enterprise_id"),
            "station_grade": None,
            "vapour_recovery": None,
            "volume_m3": None,
            "single_tank_m3": None,
            "tnt_kg": None,
            "volume_estimated": False,
        }
        if kind == "fuel_station_tank":
            g = station_grade(_num(rec.get("gasoline_m3")), _num(rec.get("diesel_m3")), _num(rec.get("max_tank_m3")))
            rows.append(
                {
                    **base,
                    "hazard_category": "fuel_station",
                    "station_grade": g,
                    "vapour_recovery": rec.get("vapour_recovery") or "none",
                }
            )
        elif kind in TANK_KINDS:
            est = _liquid_volumes(subs, props)
            # A declared total (volume_m3, or the GB 50156 volumes, or the one tank) beats the
            # estimate from mass; the estimate only splits it between GB 50016 classes.
            declared = (
                _num(rec.get("volume_m3"))
                or (_num(rec.get("gasoline_m3")) or 0) + (_num(rec.get("diesel_m3")) or 0)
                or _num(rec.get("max_tank_m3"))
            )
            total_est = sum(est.values())
            for key, vol in est.items():
                cat = {"lpg": "lpg_storage", "ab": "flammable_liquid_ab", "c": "flammable_liquid_c"}[key]
                if declared and total_est:
                    vol = declared * vol / total_est
                single = _num(rec.get("single_tank_m3")) or _num(rec.get("max_tank_m3")) or vol
                rows.append(
                    {
                        **base,
                        "hazard_category": cat,
                        "volume_m3": vol,
                        "single_tank_m3": single,
                        "volume_estimated": not declared,
                    }
                )
        tnt = tnt_mass_kg(subs)
        if tnt > 0:
            rows.append({**base, "hazard_category": "explosives", "tnt_kg": tnt})
        if subs and kind != "tailings_pond" and tnt < sum((_num(s.get("quantity_t")) or 0) for s in subs) * 1000 - 1e-9:
            rows.append({**base, "hazard_category": "hazchem_site"})
    out = pd.DataFrame(
        rows,
        columns=[
            "pos",
            "enterprise_id",
            "hazard_category",
            "station_grade",
            "vapour_recovery",
            "volume_m3",
            "single_tank_m3",
            "tnt_kg",
            "volume_estimated",
        ],
    )
    # Tank farms: the band is set by all tanks of one family in the same enterprise.
    banded = out["volume_m3"].notna() & out["enterprise_id"].notna()
    if banded.any():
        out.loc[banded, "volume_m3"] = (
            out[banded].groupby(["enterprise_id", "hazard_category"])["volume_m3"].transform("sum")
        )
        out.loc[banded, "single_tank_m3"] = (
            out[banded].groupby(["enterprise_id", "hazard_category"])["single_tank_m3"].transform("max")
        )
    return out


def applicable_rules(profiles: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """Rows (pos, rule_pos, required_m, band_note) of the rules each hazard source must keep.

    Volume-banded rules: per rule group (same standard, clause and target) the smallest
    band holding both the total volume and the largest single tank; a total above the
    table's last band takes the last band and says so in ``band_note``.
    """
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
    return m[["pos", "rule_pos", "required_m", "band_note"]].reset_index(drop=True)


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
    """Pairs as a GeoDataFrame (metric CRS) of shortest lines, with names, rule, clause, shortfall."""
    rules = rules.reset_index(drop=True)
    h = hazards.iloc[pairs["pos"].to_numpy()]
    t = targets.iloc[pairs["target_pos"].to_numpy()]
    r = rules.iloc[pairs["rule_pos"].to_numpy()]
    lines = shapely.shortest_line(h.geometry.to_numpy(), t.geometry.to_numpy())
    required = pairs["required_m"].to_numpy(dtype=float)
    actual = pairs["actual_m"].to_numpy(dtype=float)
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
            "shortfall_m": np.round(np.maximum(required - actual, 0), 2),
            "passed": actual >= required - 1e-9,
            "measured_between": r["measured_between"].to_numpy(),
            "note": pairs["band_note"].to_numpy(),
        },
        geometry=lines,
        crs=hazards.crs,
    )
    return frame.sort_values(["passed", "shortfall_m"], ascending=[True, False]).reset_index(drop=True)


def audit(
    hazards: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame,
    rules: pd.DataFrame,
    props: SubstanceProperties,
) -> gpd.GeoDataFrame:
    """Every violation of every enabled rule: one row per (hazard, target, rule), metric CRS.

    ``hazards`` need ``id, name, kind, enterprise_id, gasoline_m3, diesel_m3, max_tank_m3,
    vapour_recovery, substances``; ``targets`` need ``layer, id, name`` and the fields the
    rules name (``category``, ``gb50156_class``, ``kind``, ``road_class`` …). Both in one metric CRS.
    """
    rules = rules.reset_index(drop=True)
    profiles = hazard_profiles(hazards, props)
    applicable = applicable_rules(profiles, rules)
    masks = target_masks(targets, rules, only=applicable["rule_pos"].unique())
    pairs = check_pairs(hazards.geometry.to_numpy(), applicable, targets.geometry.to_numpy(), masks)
    return describe_pairs(pairs, hazards, targets, rules, profiles)
