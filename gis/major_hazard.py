"""GB 18218-2018 identification and grading of major hazard sources (重大危险源辨识与分级).

Rules (reference/safety-standards.md §1):

- S = Σ qᵢ/Qᵢ; S ≥ 1 (S = 1 exactly included) → major hazard source (重大危险源).
- Qᵢ: Table 1 by name or CAS when listed there (even if a Table 2 class also fits);
  otherwise the Table 2 class; several classes → the lowest Q.
- R = α Σ βᵢ qᵢ/Qᵢ; β from Table 3 (named toxic gases) or Table 4 (by class).
- α (Table 5) from the people within 500 m outside the unit: ≥ 100 → 2.0; 50–99 → 1.5;
  30–49 → 1.2; 1–29 → 1.0; 0 → 0.5.
- Grade (Table 6): 一级 R ≥ 100; 二级 50 ≤ R < 100; 三级 10 ≤ R < 50; 四级 R < 10.

The tables themselves are data (``gb18218_substances``, ``gb18218_classes``) passed in as
DataFrames; nothing here restates a critical quantity.
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

EXPOSURE_RADIUS_M = 500.0
#: Table 5: (fewest people, α), checked from the top.
ALPHA_TABLE = ((100, 2.0), (50, 1.5), (30, 1.2), (1, 1.0), (0, 0.5))
#: Table 6: (smallest R, grade), checked from the top.
GRADE_TABLE = ((100.0, 1), (50.0, 2), (10.0, 3), (-math.inf, 4))
GRADE_LABELS = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}


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


def normalise_name(text: str | None) -> str:
    """Name for matching: full-width brackets and spaces folded, lower case."""
    if not text:
        return ""
    t = str(text).strip().replace("（", "(").replace("）", ")").replace("，", ",").replace(" ", "")
    return t.lower()


def _split(text: Any) -> list[str]:
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return []
    return [p for p in re.split(r"[|;；]", str(text)) if p.strip()]


@dataclass(frozen=True)
class Listing:
    """Q and β found for one substance, and where they came from."""

    critical_t: float
    beta: float
    basis: str
    entry: str


def _records(table: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Rows of a standards table given as a DataFrame or as row mappings."""
    if isinstance(table, pd.DataFrame):
        # pandas-stubs types the keys as Hashable; the standards tables have string column names.
        return cast(list[Mapping[str, Any]], table.to_dict("records"))
    return list(table)


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
        for r in subs:
            cas = r.get("cas")
            if isinstance(cas, str) and cas.strip():
                self.by_cas.setdefault(cas.strip(), []).append(r)
            for n in [r["name"], *_split(r.get("aliases"))]:
                self.by_name.setdefault(normalise_name(n), r)

    def _table1(self, name: str | None, cas: str | None) -> tuple[Mapping[str, Any] | None, str | None]:
        key = normalise_name(name)
        if key in self.by_name:
            row = self.by_name[key]
            if not cas or not row.get("cas") or row.get("cas") == cas:
                return row, None
        candidates = self.by_cas.get((cas or "").strip(), [])
        if len(candidates) == 1:
            return candidates[0], None
        if len(candidates) > 1:
            named = [
                r
                for r in candidates
                if any(
                    normalise_name(a) in key
                    for a in [r["name"], *_split(r.get("aliases"))]
                    if len(normalise_name(a)) >= 3
                )
            ]
            if len(named) == 1:
                return named[0], None
            pick = min(named or candidates, key=lambda r: float(r["critical_t"]))
            return pick, f"CAS {cas} 在表1中有多行，按名称无法确定，取临界量最小的“{pick['name']}”"
        return None, None

    def lookup(
        self, name: str | None, cas: str | None, hazard_class: str | Sequence[str] | None
    ) -> tuple[Listing | None, list[str]]:
        """Q and β of a substance, or ``None`` with a reason when it is neither in Table 1 nor classed."""
        notes: list[str] = []
        row, warn = self._table1(name, cas)
        if warn:
            notes.append(warn)
        if row is not None:
            beta = row.get("beta")
            if beta is None or (isinstance(beta, float) and math.isnan(beta)):
                cls = self.classes.get(str(row.get("beta_class") or ""))
                if cls is None:
                    notes.append(f"“{row['name']}”未给出β及其类别，按 β = 1 计")
                    beta = 1.0
                else:
                    beta = float(cls["beta"])
                basis = f"表1（β按表4 {row.get('beta_class')}）" if cls is not None else "表1"
            else:
                basis = "表1（β按表3）"
            return Listing(float(row["critical_t"]), float(beta), basis, str(row["name"])), notes
        codes = [hazard_class] if isinstance(hazard_class, str) else list(hazard_class or [])
        codes = [c.strip() for code in codes for c in str(code).split(",") if c.strip()]
        known = [self.classes[c] for c in codes if c in self.classes]
        unknown = [c for c in codes if c not in self.classes]
        if unknown:
            notes.append(f"未知危险性类别 {', '.join(unknown)}")
        if not known:
            notes.append(f"“{name or cas}”不在表1中，且未给出表2危险性类别：未计入S")
            return None, notes
        best = min(known, key=lambda c: float(c["critical_t"]))
        return Listing(float(best["critical_t"]), float(best["beta"]), f"表2 {best['code']}", str(best["code"])), notes


@dataclass
class Term:
    """One substance's contribution: q/Q and β q/Q."""

    name: str | None
    cas: str | None
    quantity_t: float
    critical_t: float | None
    beta: float | None
    basis: str | None
    ratio: float | None
    weighted: float | None


@dataclass
class Grading:
    """Result of identification and grading of one unit."""

    s: float
    is_major: bool
    exposed_population: int
    alpha: float
    r: float
    grade: int | None
    terms: list[Term] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

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
        }


def grade(
    substances: Iterable[Mapping[str, Any]],
    exposed_population: int,
    table: CriticalQuantities,
) -> Grading:
    """Identify and grade one unit holding ``substances`` (rows with name/cas/hazard_class/quantity_t)."""
    terms: list[Term] = []
    notes: list[str] = []
    for sub in substances:
        q = float(sub.get("quantity_t") or 0.0)
        if q < 0 or not math.isfinite(q):
            raise ValueError("quantity_t must be ≥ 0")
        listing, why = table.lookup(sub.get("name"), sub.get("cas"), sub.get("hazard_class"))
        notes.extend(why)
        if listing is None:
            terms.append(Term(sub.get("name"), sub.get("cas"), q, None, None, None, None, None))
            continue
        ratio = q / listing.critical_t
        terms.append(
            Term(
                sub.get("name"),
                sub.get("cas"),
                q,
                listing.critical_t,
                listing.beta,
                listing.basis,
                ratio,
                listing.beta * ratio,
            )
        )
    # Summed with fsum so that e.g. 0.5 + 0.3 + 0.2 gives exactly 1 and counts as major.
    s = math.fsum(t.ratio for t in terms if t.ratio is not None)
    s = round(s, 12)
    weighted = math.fsum(t.weighted for t in terms if t.weighted is not None)
    alpha = alpha_for(int(exposed_population))
    r = round(alpha * weighted, 12)
    is_major = s >= 1.0
    return Grading(s, is_major, int(exposed_population), alpha, r, grade_for(r) if is_major else None, terms, notes)


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
