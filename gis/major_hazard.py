"""GB 18218-2018 identification and grading of major hazard sources (重大危险源辨识与分级).

Rules (reference/safety-standards.md §1):

- S = Σ qᵢ/Qᵢ; S ≥ 1 (S = 1 exactly included) → major hazard source (重大危险源).
- Qᵢ: Table 1 by name or CAS when listed there (even if a Table 2 class also fits);
  otherwise the Table 2 class; several classes → the lowest Q, and among classes with that
  same Q the larger β (conservative and independent of the order typed; said in the term's basis).
- Flammable liquids not in Table 1: the flash point (and initial boiling point) decide W5.1 /
  W5.3 / W5.4, and above 60 ℃ the liquid is listed as outside GB 18218, not counted
  (:mod:`safemap.gis.substances`).
- A quantity above 100 × Q is flagged ("是否把 kg 填成了 t？"), not refused.
- R = α Σ βᵢ qᵢ/Qᵢ; β from Table 3 (named toxic gases) or Table 4 (by class).
- α (Table 5) from the people within 500 m outside the unit: ≥ 100 → 2.0; 50–99 → 1.5;
  30–49 → 1.2; 1–29 → 1.0; 0 → 0.5.
- Grade (Table 6): 一级 R ≥ 100; 二级 50 ≤ R < 100; 三级 10 ≤ R < 50; 四级 R < 10.

The tables themselves are data (``gb18218_substances``, ``gb18218_classes``) passed in as
DataFrames; nothing here restates a critical quantity. How names, CAS numbers, units and
flash points are read is :mod:`safemap.gis.substances`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from safemap.gis.substances import (
    FLAMMABLE_LIQUID,
    FLASH_DERIVED,
    SubstanceError,
    base_name,
    flash_point_class,
    is_category3_by_name,
    normalise_cas,
    normalise_name,
)

EXPOSURE_RADIUS_M = 500.0
#: Table 5: (fewest people, α), checked from the top.
ALPHA_TABLE = ((100, 2.0), (50, 1.5), (30, 1.2), (1, 1.0), (0, 0.5))
#: Table 6: (smallest R, grade), checked from the top.
GRADE_TABLE = ((100.0, 1), (50.0, 2), (10.0, 3), (-math.inf, 4))
GRADE_LABELS = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
#: Above this many times its critical quantity a substance's quantity is flagged (kg typed as t?).
PLAUSIBLE_RATIO = 100.0


def alpha_for(exposed_population: int) -> float:
    """α of GB 18218 Table 5 for ``exposed_population`` people within 500 m."""
    if exposed_population < 0:
        raise ValueError("exposed population must be ≥ 0")
    for least, alpha in ALPHA_TABLE:
        if exposed_population >= least:
            return alpha
    return 0.5


def grade_for(r: float) -> int:
    """Grade 1–4 of GB 18218 Table 6 for the grading index ``r``."""
    for least, grade in GRADE_TABLE:
        if r >= least:
            return grade
    return 4


def _split(text: Any) -> list[str]:
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return []
    return [p for p in re.split(r"[|;；]", str(text)) if p.strip()]


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class Listing:
    """Q and β found for one substance, and where they came from.

    ``critical_t`` is ``None`` for a substance outside GB 18218 (a liquid whose flash point
    is above 60 ℃): listed with the reason in ``basis``, not counted in S.
    """

    critical_t: float | None
    beta: float | None
    basis: str
    entry: str


def _records(table: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Rows of a standards table given as a DataFrame or as row mappings."""
    if isinstance(table, pd.DataFrame):
        # pandas-stubs types the keys as Hashable; the standards tables have string column names.
        return cast(list[Mapping[str, Any]], table.to_dict("records"))
    return list(table)


def _row_label(row: Mapping[str, Any]) -> str:
    cas = row.get("cas")
    return f"{row['name']}（CAS {cas}）" if isinstance(cas, str) and cas.strip() else str(row["name"])


class CriticalQuantities:
    """GB 18218 Tables 1–4 from the two standards tables (as DataFrames or row dicts)."""

    def __init__(
        self,
        substances: pd.DataFrame | Iterable[Mapping[str, Any]],
        classes: pd.DataFrame | Iterable[Mapping[str, Any]],
    ) -> None:
        subs = _records(substances)
        cls = _records(classes)
        self.classes: dict[str, Mapping[str, Any]] = {str(c["code"]): c for c in cls}
        self.rows = subs
        self.by_cas: dict[str, list[Mapping[str, Any]]] = {}
        self.by_name: dict[str, Mapping[str, Any]] = {}
        self.by_base: dict[str, list[Mapping[str, Any]]] = {}
        for r in subs:
            cas = r.get("cas")
            if isinstance(cas, str) and cas.strip():
                try:
                    key = normalise_cas(cas) or cas.strip()
                except SubstanceError:
                    key = cas.strip()
                self.by_cas.setdefault(key, []).append(r)
            for n in [r["name"], *_split(r.get("aliases"))]:
                self.by_name.setdefault(normalise_name(n), r)
        for key, r in self.by_name.items():
            rows = self.by_base.setdefault(base_name(key), [])
            if r not in rows:
                rows.append(r)

    def _by_name(self, key: str) -> Mapping[str, Any] | None:
        if not key:
            return None
        if key in self.by_name:
            return self.by_name[key]
        rows = self.by_base.get(base_name(key), [])
        return rows[0] if len(rows) == 1 else None

    def _table1(self, name: str | None, cas: str | None, strict: bool) -> tuple[Mapping[str, Any] | None, list[str]]:
        key = normalise_name(name)
        named = self._by_name(key)
        candidates = self.by_cas.get(cas or "", [])
        notes: list[str] = []
        if named is not None and cas:
            if named in candidates:
                return named, notes
            if candidates:
                other = candidates[0]
                message = (
                    f"物质名称“{name}”是 {_row_label(named)}，而 CAS号 {cas} 是 {_row_label(other)}："
                    "两者不一致，请核对物质名称或 CAS号"
                )
                if strict:
                    raise SubstanceError(("name", "cas"), message)
                pick = min((named, *candidates), key=lambda r: float(r["critical_t"]))
                notes.append(f"{message}；按临界量较小的“{pick['name']}”保守计")
                return pick, notes
            notes.append(f"CAS号 {cas} 不在表1中；按物质名称“{name}”取表1 {_row_label(named)}")
            return named, notes
        if named is not None:
            return named, notes
        if len(candidates) == 1:
            return candidates[0], notes
        if len(candidates) > 1:
            matching = [
                r
                for r in candidates
                if any(
                    normalise_name(a) in key
                    for a in [r["name"], *_split(r.get("aliases"))]
                    if len(normalise_name(a)) >= 3
                )
            ]
            if len(matching) == 1:
                return matching[0], notes
            pick = min(matching or candidates, key=lambda r: float(r["critical_t"]))
            notes.append(f"CAS {cas} 在表1中有多行，按名称无法确定，取临界量最小的“{pick['name']}”")
            return pick, notes
        return None, notes

    def _table1_listing(self, row: Mapping[str, Any]) -> tuple[Listing, list[str]]:
        notes: list[str] = []
        beta = _number(row.get("beta"))
        if beta is not None:
            basis = "表1（β按表3）"
        else:
            cls = self.classes.get(str(row.get("beta_class") or ""))
            if cls is None:
                notes.append(f"“{row['name']}”未给出β及其类别，按 β = 1 计")
                beta, basis = 1.0, "表1"
            else:
                beta, basis = float(cls["beta"]), f"表1（β按表4 {row.get('beta_class')}）"
        return Listing(float(row["critical_t"]), float(beta), basis, str(row["name"])), notes

    def lookup(
        self,
        name: str | None,
        cas: str | None,
        hazard_class: str | Sequence[str] | None,
        *,
        flash_point_c: float | None = None,
        boiling_point_c: float | None = None,
        strict: bool = False,
    ) -> tuple[Listing | None, list[str]]:
        """Q and β of a substance, or ``None`` with a reason when it is neither in Table 1 nor classed.

        Parameters
        ----------
        name, cas
            As typed; the CAS number is normalised and its check digit validated.
        hazard_class
            Table 2 codes (``"J3,W4"`` or a list); used only when Table 1 does not list it.
        flash_point_c, boiling_point_c
            ℃; decide the flammable-liquid class W5.1/W5.3/W5.4 (or out of scope above 60 ℃).
        strict
            Raise :class:`SubstanceError` on a bad CAS number or a name–CAS conflict (requests);
            otherwise note it and go on conservatively (stored data).
        """
        notes: list[str] = []
        try:
            cas_n = normalise_cas(cas)
        except SubstanceError as exc:
            if strict:
                raise
            notes.append(f"{exc.message}；按物质名称识别")
            cas_n = None
        row, why = self._table1(name, cas_n, strict)
        notes += why
        if row is not None:
            listing, why = self._table1_listing(row)
            return listing, notes + why
        return self._table2(name, cas_n, hazard_class, flash_point_c, boiling_point_c, notes)

    def _table2(
        self,
        name: str | None,
        cas: str | None,
        hazard_class: str | Sequence[str] | None,
        flash_point_c: float | None,
        boiling_point_c: float | None,
        notes: list[str],
    ) -> tuple[Listing | None, list[str]]:
        codes = [hazard_class] if isinstance(hazard_class, str) else list(hazard_class or [])
        codes = sorted({c.strip() for code in codes for c in str(code).split(",") if c.strip()})
        label = name or cas
        flash = _number(flash_point_c)
        if flash is not None:
            derived = flash_point_class(flash, _number(boiling_point_c))
            dropped = [c for c in codes if c in FLASH_DERIVED and c != derived.code]
            if derived.code is None:
                dropped += [c for c in codes if c in FLAMMABLE_LIQUID and c not in dropped]
            if dropped:
                notes.append(f"“{label}”给出的类别 {', '.join(dropped)} 与闪点不符，按闪点：{derived.basis}")
            codes = [c for c in codes if c not in dropped]
            if derived.code is not None and derived.code not in codes:
                codes.append(derived.code)
            if derived.code == "W5.3" and boiling_point_c is None:
                notes.append(f"“{label}”闪点 < 23 ℃ 但未给出沸点：按类别2（W5.3）计；初沸点 ≤ 35 ℃ 时应为 W5.1")
            if derived.code is None and not codes:
                notes.append(f"“{label}”：{derived.basis}（GB 18218-2018 表2 W5 易燃液体；GB 30000.7 闪点 ≤ 60 ℃）")
                return Listing(None, None, derived.basis, "闪点 > 60 ℃"), notes
        elif not any(c in FLAMMABLE_LIQUID for c in codes) and is_category3_by_name(normalise_name(name)):
            codes.append("W5.4")
            notes.append(
                f"“{label}”未给出闪点：按易燃液体类别3（表2 W5.4，闪点 23–60 ℃）保守计入；"
                "闪点 > 60 ℃ 的柴油不属于 GB 18218 易燃液体，请填写闪点"
            )
        known = [self.classes[c] for c in codes if c in self.classes]
        unknown = [c for c in codes if c not in self.classes]
        if unknown:
            notes.append(f"未知危险性类别 {', '.join(unknown)}")
        if not known:
            notes.append(f"“{label}”不在表1中，且未给出表2危险性类别：未计入S")
            return None, notes
        return _lowest_q_largest_beta(known, flash, _number(boiling_point_c)), notes


def _lowest_q_largest_beta(known: Sequence[Mapping[str, Any]], flash: float | None, boiling: float | None) -> Listing:
    """Several Table 2 classes fit: the lowest Q; among equal Q the larger β (order-independent)."""
    q = min(float(c["critical_t"]) for c in known)
    tied = sorted((c for c in known if float(c["critical_t"]) == q), key=lambda c: (-float(c["beta"]), str(c["code"])))
    best = tied[0]
    basis = f"表2 {best['code']}"
    if len(known) > 1:
        basis += f"（{'、'.join(sorted(str(c['code']) for c in known))} 中临界量最小）"
    if len(tied) > 1 and len({float(c["beta"]) for c in tied}) > 1:
        basis += (
            f"；{'、'.join(str(c['code']) for c in tied)} 临界量同为 {q:g} t，"
            f"取较大的 β = {float(best['beta']):g}（{best['code']}，从严）"
        )
    if flash is not None and str(best["code"]) in FLAMMABLE_LIQUID:
        basis += f"；{flash_point_class(flash, boiling).basis}"
    return Listing(q, float(best["beta"]), basis, str(best["code"]))


@dataclass
class Term:
    """One substance's contribution: q/Q and β q/Q (``None`` when not counted, with ``basis`` saying why)."""

    name: str | None
    cas: str | None
    quantity_t: float
    critical_t: float | None
    beta: float | None
    basis: str | None
    ratio: float | None
    weighted: float | None
    entry: str | None = None


@dataclass
class Grading:
    """Result of identification and grading of one unit.

    ``notes`` explain how substances were read; ``warnings`` flag inputs that look wrong
    (e.g. a quantity above 100 × Q: tonnes typed as kilograms?).
    """

    s: float
    is_major: bool
    exposed_population: int
    alpha: float
    r: float
    grade: int | None
    terms: list[Term] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (values rounded for display, not for further arithmetic)."""
        return {
            "S": self.s,
            "is_major": self.is_major,
            "exposed_population": self.exposed_population,
            "alpha": self.alpha,
            "R": self.r,
            "grade": self.grade,
            "grade_label": GRADE_LABELS.get(self.grade) if self.grade else None,
            "terms": [t.__dict__ for t in self.terms],
            "notes": self.notes,
            "warnings": self.warnings,
        }


def grade(
    substances: Iterable[Mapping[str, Any]],
    exposed_population: int,
    table: CriticalQuantities,
    *,
    strict: bool = False,
) -> Grading:
    """Identify and grade one unit holding ``substances``.

    Parameters
    ----------
    substances
        Rows with ``name``, ``cas``, ``hazard_class``, ``quantity_t`` (t) and optionally
        ``flash_point_c`` / ``boiling_point_c`` (℃).
    exposed_population
        People within 500 m of the unit (persons), for α.
    table
        GB 18218 Tables 1–4.
    strict
        Raise :class:`SubstanceError` (with ``row`` set to the substance's index) on a bad
        CAS number or a name–CAS conflict instead of noting it.
    """
    terms: list[Term] = []
    notes: list[str] = []
    warnings: list[str] = []
    for i, sub in enumerate(substances):
        q = float(sub.get("quantity_t") or 0.0)
        if q < 0 or not math.isfinite(q):
            raise ValueError("quantity_t must be ≥ 0")
        try:
            listing, why = table.lookup(
                sub.get("name"),
                sub.get("cas"),
                sub.get("hazard_class"),
                flash_point_c=sub.get("flash_point_c"),
                boiling_point_c=sub.get("boiling_point_c"),
                strict=strict,
            )
        except SubstanceError as exc:
            exc.row = i
            raise
        notes.extend(why)
        cas = _display_cas(sub.get("cas"))
        if listing is None or listing.critical_t is None:
            basis = None if listing is None else listing.basis
            terms.append(Term(sub.get("name"), cas, q, None, None, basis, None, None, None))
            continue
        ratio = q / listing.critical_t
        if ratio > PLAUSIBLE_RATIO:
            warnings.append(
                f"“{sub.get('name') or cas}” {q:g} t 超过其临界量 {listing.critical_t:g} t 的 {PLAUSIBLE_RATIO:g} 倍："
                "是否把 kg 填成了 t？"
            )
        terms.append(
            Term(
                sub.get("name"),
                cas,
                q,
                listing.critical_t,
                listing.beta,
                listing.basis,
                ratio,
                (listing.beta or 0.0) * ratio,
                listing.entry,
            )
        )
    # Summed with fsum so that e.g. 0.5 + 0.3 + 0.2 gives exactly 1 and counts as major.
    s = math.fsum(t.ratio for t in terms if t.ratio is not None)
    s = round(s, 12)
    weighted = math.fsum(t.weighted for t in terms if t.weighted is not None)
    alpha = alpha_for(int(exposed_population))
    r = round(alpha * weighted, 12)
    is_major = s >= 1.0
    return Grading(
        s, is_major, int(exposed_population), alpha, r, grade_for(r) if is_major else None, terms, notes, warnings
    )


def _display_cas(cas: Any) -> str | None:
    try:
        return normalise_cas(cas)
    except SubstanceError:
        return None if cas is None else str(cas)


def exposed_population(
    units: Sequence[Any], targets: Sequence[Any], population: Sequence[float], radius_m: float = EXPOSURE_RADIUS_M
) -> np.ndarray:
    """People within ``radius_m`` of each unit (metric geometries), from protected targets.

    A target whose geometry comes within ``radius_m`` of the unit counts with its whole
    population (conservative: α only grows with people). GB 18218 counts residents outside
    the plant boundary; the unit's own outline stands in for that boundary here.
    """
    unit_geoms = np.asarray(units, dtype=object)
    out = np.zeros(len(unit_geoms), dtype=np.int64)
    if len(targets) == 0 or len(unit_geoms) == 0:
        return out
    pop = np.nan_to_num(np.asarray(population, dtype=float)).astype(np.int64)
    tree = STRtree(np.asarray(targets, dtype=object))
    ui, tj = tree.query(unit_geoms, predicate="dwithin", distance=radius_m)
    np.add.at(out, ui, pop[tj])
    return out


def unit_distance_ok(geoms: Sequence[Any]) -> bool:
    """True when every geometry is valid and non-empty (for callers validating input)."""
    arr = np.asarray(geoms, dtype=object)
    return bool(np.all(shapely.is_valid(arr)) and not np.any(shapely.is_empty(arr)))
