"""Risk grading of risk points (风险点): LEC and LS scores, the four-colour level, allowed factor values.

Pure functions over plain numbers and rows of the standards tables ``risk_level_bands`` and
``risk_factor_values`` (``data/standards/``); no I/O.

- LEC (作业条件危险性评价法, Graham & Kinney 1976): ``D = L × E × C`` with L the likelihood,
  E the exposure frequency and C the consequence, each one of a fixed list of values.
- LS (风险矩阵, DB37/T 2882-2016): ``R = L × S`` with L and S each 1–5.

Scores are dimensionless. A band applies when ``min_score < score <= max_score``; an empty bound is
unbounded, so the bands of one method tile (−∞, +∞).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

LEVEL_ORDER: tuple[str, ...] = ("red", "orange", "yellow", "blue")
"""Risk levels from the most to the least severe (红 > 橙 > 黄 > 蓝)."""

_RANK = {level: i for i, level in enumerate(LEVEL_ORDER)}
_TOL = 1e-9
"""Tolerance for comparing scores and factor values: 0.1 × 0.2 etc. are not exact in binary."""


def lec_score(l: float, e: float, c: float) -> float:  # noqa: E741 - L is the method's own name
    """LEC hazard score ``D = L × E × C``.

    Parameters
    ----------
    l
        Likelihood of the accident (L, dimensionless, 0.1–10).
    e
        Frequency of exposure (E, dimensionless, 0.5–10).
    c
        Consequence (C, dimensionless, 1–100).

    Returns
    -------
    float
        D, dimensionless (e.g. 6 × 6 × 7 = 252).
    """
    return float(l) * float(e) * float(c)


def ls_score(l: int, s: int) -> float:  # noqa: E741 - L is the method's own name
    """Risk-matrix score ``R = L × S``.

    Parameters
    ----------
    l
        Likelihood grade, 1–5.
    s
        Severity grade, 1–5.

    Returns
    -------
    float
        R, dimensionless, 1–25.
    """
    return float(l) * float(s)


def _bound(value: Any) -> float | None:
    """A band bound as a float; None, NaN and '' mean unbounded."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        value = float(value)
    out = float(value)
    return None if math.isnan(out) else out


def level_of(score: float | None, bands: Sequence[Mapping[str, Any]]) -> str | None:
    """The risk level whose band holds ``score``.

    Parameters
    ----------
    score
        LEC D or LS R (dimensionless); None when the point has not been assessed.
    bands
        Rows of one method's ``risk_level_bands`` with ``risk_level``, ``min_score`` and
        ``max_score``. A band applies when ``min_score < score <= max_score`` (within 1e-9);
        an empty bound (None, NaN, '') is unbounded.

    Returns
    -------
    str | None
        The ``risk_level`` code, or None when ``score`` is None/NaN or no band holds it. When
        bands overlap, the most severe matching level wins (a cautious reading).
    """
    if score is None or math.isnan(float(score)):
        return None
    s = float(score)
    hits: list[str] = []
    for band in bands:
        lo = _bound(band.get("min_score"))
        hi = _bound(band.get("max_score"))
        # min exclusive, max inclusive: "D > 320" is red, so 320 itself belongs to the band below.
        if lo is not None and not s > lo + _TOL:
            continue
        if hi is not None and s > hi + _TOL:
            continue
        hits.append(str(band.get("risk_level")))
    return highest_level(hits) if hits else None


def highest_level(levels: Iterable[str | None]) -> str | None:
    """The most severe of some risk levels (red > orange > yellow > blue).

    Parameters
    ----------
    levels
        Risk-level codes; None and codes outside red/orange/yellow/blue are ignored.

    Returns
    -------
    str | None
        The most severe level, or None when there is none.
    """
    known = [lv for lv in levels if lv in _RANK]
    if not known:
        return None
    return min(known, key=lambda lv: _RANK[lv])


def _fmt(value: float) -> str:
    return f"{value:g}"


def factor_problem(method: str, factor: str, value: float | None, allowed: Sequence[Mapping[str, Any]]) -> str | None:
    """Why a factor value is not allowed, or None when it is.

    Parameters
    ----------
    method
        ``lec`` or ``ls`` (case-insensitive).
    factor
        ``L``, ``E``, ``C`` (LEC) or ``L``, ``S`` (LS), case-insensitive.
    value
        The value entered (dimensionless); None is not checked (a missing factor is a
        different problem, reported by the form).
    allowed
        Rows of ``risk_factor_values`` with ``method``, ``factor`` and ``value``.

    Returns
    -------
    str | None
        A Chinese message listing the allowed values in table order, e.g.
        ``"L 应为 10、6、3、1、0.5、0.2、0.1 之一（当前为 5）"``; None when ``value`` is allowed
        (within 1e-9) or None.
    """
    if value is None:
        return None
    m = method.strip().lower()
    f = factor.strip().upper()
    values = [
        float(row["value"])
        for row in allowed
        if str(row.get("method", "")).strip().lower() == m and str(row.get("factor", "")).strip().upper() == f
    ]
    if not values:
        return f"方法 {method} 没有因子 {factor} 的取值表"
    v = float(value)
    if not math.isnan(v) and any(abs(v - a) <= _TOL for a in values):
        return None
    listed = "、".join(_fmt(a) for a in values)
    return f"{f} 应为 {listed} 之一（当前为 {_fmt(v)}）"
