"""Protected-target classes derived from their kind (GB 50156-2021 附录B) where a target has none.

The mapping is data: rows of the ``target_class_rules`` table (``data/standards/
target_class_rules.csv``), each with ``target_field`` (the field it fills, e.g.
``gb50156_class``), ``category``, an optional population range ``population_min`` <
population ≤ ``population_max`` (people), the ``class_value`` it gives (empty: the standard
does not allow a class to be derived from what the map holds; the row's ``note`` says why),
``standard`` and ``clause``. An explicit value on the target always wins.

:func:`derive_classes` adds, for every mapped field ``F``, the columns ``F_basis``
(``explicit``, ``derived`` or empty) and ``F_note`` (Chinese: the clause a derived class
follows, or why no class could be found — which the separation checks turn into 无法核查
records).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import pandas as pd

EXPLICIT = "explicit"
DERIVED = "derived"


def missing(value: Any) -> bool:
    """True for ``None``, NaN and empty text (a field with nothing entered)."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _num(value: Any) -> float | None:
    if missing(value):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _in_range(row: Mapping[str, Any], population: float | None) -> bool | None:
    """Whether ``population`` lies in the row's range; ``None`` when it is needed but unknown."""
    lo, hi = _num(row.get("population_min")), _num(row.get("population_max"))
    if lo is None and hi is None:
        return True
    if population is None:
        return None
    return (lo is None or population > lo) and (hi is None or population <= hi)


def derive_one(
    category: Any,
    population: Any,
    rules: list[Mapping[str, Any]],
    category_label: str | None = None,
) -> tuple[str | None, str]:
    """The class the rows give a target of ``category`` and ``population``: ``(value, text)``.

    ``text`` is the citation ("GB 50156-2021 附录B 第B.0.1条第6款") when a value is found,
    otherwise the reason no value can be derived.
    """
    name = category_label or (str(category) if not missing(category) else "")
    if missing(category):
        return None, "未填写防护目标类别，无法推定"
    rows = [r for r in rules if r.get("category") == category]
    if not rows:
        return None, f"类别「{name}」没有推定规则"
    pop = _num(population)
    unknown_pop = False
    for r in rows:
        hit = _in_range(r, pop)
        if hit is None:
            unknown_pop = True
            continue
        if not hit:
            continue
        value = r.get("class_value")
        cite = f"{r.get('standard') or ''} {r.get('clause') or ''}".strip()
        if missing(value):
            return None, str(r.get("note") or f"类别「{name}」按 {cite} 不能推定")
        return str(value), cite
    if unknown_pop:
        return None, f"{name}未填写人数，无法按 {rows[0].get('standard') or ''} {rows[0].get('clause') or ''} 推定"
    return None, f"{name}人数 {pop:g} 人不在推定表的范围内"


def derive_classes(
    targets: pd.DataFrame,
    class_rules: pd.DataFrame | None,
    category_labels: Mapping[str, str] | None = None,
    layer: str = "protected_targets",
) -> pd.DataFrame:
    """A copy of ``targets`` with each mapped class field filled from the category where empty.

    Parameters
    ----------
    targets
        Targets with ``category`` and ``population`` (people); a ``layer`` column, when
        present, limits the derivation to rows of ``layer``.
    class_rules
        Rows of the ``target_class_rules`` table (see the module docstring).
    category_labels
        Chinese label of each category code, for the reasons.
    layer
        The layer whose rows are classified.

    Returns
    -------
    pandas.DataFrame
        The copy, with ``F``, ``F_basis`` and ``F_note`` for every mapped field ``F``.
    """
    out = targets.copy()
    if class_rules is None or not len(class_rules) or not len(out):
        return out
    labels = dict(category_labels or {})
    in_layer = out["layer"].eq(layer) if "layer" in out else pd.Series(True, index=out.index)
    cats = out["category"] if "category" in out else pd.Series([None] * len(out), index=out.index)
    pops = out["population"] if "population" in out else pd.Series([None] * len(out), index=out.index)
    # pandas-stubs types to_dict() keys as Hashable; the table has string column names.
    records = cast(list[Mapping[str, Any]], class_rules.to_dict("records"))
    for field in sorted({str(r["target_field"]) for r in records if not missing(r.get("target_field"))}):
        rows = [r for r in records if r.get("target_field") == field]
        current = out[field] if field in out else pd.Series([None] * len(out), index=out.index)
        values: list[Any] = []
        basis: list[str | None] = []
        reasons: list[str | None] = []
        for idx in out.index:
            v = current.loc[idx]
            if not missing(v):
                values.append(v)
                basis.append(EXPLICIT)
                reasons.append(None)
            elif not bool(in_layer.loc[idx]):
                values.append(None)
                basis.append(None)
                reasons.append(None)
            else:
                cat = cats.loc[idx]
                got, text = derive_one(cat, pops.loc[idx], rows, labels.get(str(cat)))
                values.append(got)
                basis.append(DERIVED if got is not None else None)
                reasons.append(text)
        out[field] = pd.Series(values, index=out.index, dtype=object)
        out[f"{field}_basis"] = pd.Series(basis, index=out.index, dtype=object)
        out[f"{field}_note"] = pd.Series(reasons, index=out.index, dtype=object)
    return out


def missing_values(col: pd.Series) -> np.ndarray:
    """True where a field holds nothing (None, NaN, empty text), as :func:`missing` says, vectorised."""
    na = col.isna().to_numpy(dtype=bool)
    if col.dtype != object or na.all():
        return na
    try:
        # .str gives NaN for the values that are not text, which count as entered.
        blank = col.str.strip().eq("").to_numpy(dtype=bool)
    except AttributeError:  # no text at all in the column (pandas refuses .str)
        return na
    return na | blank


def unknown_class_mask(
    targets: pd.DataFrame, layer: str, field: str, usable: np.ndarray, cache: dict[Any, np.ndarray] | None = None
) -> np.ndarray:
    """Targets of ``layer`` (with a geometry) whose ``field`` is empty: no class to match a rule on.

    ``cache`` keeps the mask per (layer, field): many rules share them, and the audit
    asks once per rule over every target.
    """
    key = (layer, field)
    if cache is not None and key in cache:
        return cache[key]
    in_layer = (targets["layer"].to_numpy() == layer) if len(targets) else np.zeros(0, dtype=bool)
    empty = missing_values(targets[field]) if field in targets else np.ones(len(targets), dtype=bool)
    mask = in_layer & empty & usable
    if cache is not None:
        cache[key] = mask
    return mask
