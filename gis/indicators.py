"""Progress of the county's 十四五 safety-plan indicators (专栏1) year by year.

Pure functions over an accidents table, a table of yearly base data (GDP, employees, coal
output, operating vehicles) and the rows of the standards table ``plan_indicators``
(``data/standards/plan_indicators.csv``); no I/O.

For every indicator and every year from its baseline year to the year asked for, the value is
computed (a count, a number of deaths, or a rate per denominator) and judged against the target:

- ``change_pct``: the target is ``baseline × (1 + target_value / 100)`` in the target year, and a
  year is on track when its value is not above the straight line from the baseline to the target
  (a plan's reduction is expected to come evenly, not all in the last year);
- ``zero``: no such accident in any year after the baseline;
- ``annual_mean_below``: the mean of the yearly values after the baseline is below the target.

A year whose denominator is missing cannot be checked, a denominator of 0 makes the indicator
not applicable (no coal mine, no output); neither is ever reported as on track.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

MEASURES = ("deaths", "count")
TARGET_KINDS = ("change_pct", "zero", "annual_mean_below")
DENOMINATOR_LABELS: dict[str, str] = {
    "gdp_100m_yuan": "地区生产总值（亿元）",
    "employees_gmt": "工矿商贸就业人员数",
    "coal_output_10kt": "煤炭产量",
    "operating_vehicles": "营运车辆数",
}
"""Denominator columns of the yearly base data and their Chinese labels (for reasons)."""

_ZERO_MEANING: dict[str, str] = {
    "gdp_100m_yuan": "无地区生产总值数据",
    "employees_gmt": "无工矿商贸就业人员",
    "coal_output_10kt": "无煤矿生产",
    "operating_vehicles": "无营运车辆",
}
_TOL = 1e-9
"""Tolerance for "not above the path": rates like 0.2 × 0.63 are not exact in binary."""


@dataclass(frozen=True)
class IndicatorYear:
    """One indicator in one year.

    Attributes
    ----------
    year
        Calendar year.
    value
        The indicator's value in its unit (deaths, accidents or a rate); None when it cannot be
        computed (missing or zero denominator).
    numerator
        Deaths or number of accidents counted that year (persons or accidents).
    denominator
        The denominator column's value that year in its own unit (亿元, persons, 万吨,
        vehicles); None when there is no denominator or it is missing.
    state
        ``on_track``, ``off_track``, ``cannot_check`` or ``not_applicable``.
    reason
        Why, in Chinese, with the numbers.
    """

    year: int
    value: float | None
    numerator: float
    denominator: float | None
    state: str
    reason: str


@dataclass(frozen=True)
class IndicatorResult:
    """One indicator over the years from its baseline year to the year asked for.

    Attributes
    ----------
    code, label, unit
        From the definition.
    target_kind, target_value
        From the definition (``target_value`` None for ``zero``).
    baseline_year, target_year
        From the definition.
    baseline
        The value in the baseline year, in ``unit``; None when it cannot be computed.
    target
        The value to reach: ``baseline × (1 + target_value/100)`` for ``change_pct`` (None
        without a baseline), 0 for ``zero``, ``target_value`` for ``annual_mean_below``.
    years
        One :class:`IndicatorYear` per year, ascending.
    latest_state, latest_reason
        State and reason of the year asked for.
    """

    code: str
    label: str
    unit: str
    target_kind: str
    target_value: float | None
    baseline_year: int
    target_year: int
    baseline: float | None
    target: float | None
    years: tuple[IndicatorYear, ...]
    latest_state: str
    latest_reason: str


def _text(value: Any) -> str:
    """A definition's text field; None and NaN are empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _opt_float(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    out = float(value)
    return None if math.isnan(out) else out


def _fmt(value: float) -> str:
    """Four significant digits: enough to see 0.1333 against 0.1556, short enough to read."""
    return f"{value:.4g}"


@dataclass(frozen=True)
class _Definition:
    code: str
    label: str
    measure: str
    industries: frozenset[str]
    severity: str
    denominator: str
    per: float
    unit: str
    target_kind: str
    target_value: float | None
    baseline_year: int
    target_year: int


def _definition(row: Mapping[str, Any]) -> _Definition:
    """Validate one ``plan_indicators`` row; a bad field raises ValueError naming it."""
    code = _text(row.get("code")) or _text(row.get("name"))

    def bad(field: str, why: str) -> ValueError:
        return ValueError(f"指标 {code or '?'} 的字段 {field} {why}")

    measure = _text(row.get("measure"))
    if measure not in MEASURES:
        raise bad("measure", f"无效：{measure!r}（应为 {'、'.join(MEASURES)}）")
    denominator = _text(row.get("denominator"))
    if denominator and denominator not in DENOMINATOR_LABELS:
        raise bad("denominator", f"无效：{denominator!r}（应为空或 {'、'.join(DENOMINATOR_LABELS)}）")
    kind = _text(row.get("target_kind"))
    if kind not in TARGET_KINDS:
        raise bad("target_kind", f"无效：{kind!r}（应为 {'、'.join(TARGET_KINDS)}）")
    try:
        per = _opt_float(row.get("per"))
        target_value = _opt_float(row.get("target_value"))
    except (TypeError, ValueError) as exc:
        raise bad("per/target_value", f"不是数值：{exc}") from exc
    per = 1.0 if per is None else per
    if denominator and per <= 0:
        raise bad("per", f"应为正数：{per:g}")
    if kind != "zero" and target_value is None:
        raise bad("target_value", "缺失")
    years: list[int] = []
    for field in ("baseline_year", "target_year"):
        try:
            y = _opt_float(row.get(field))
        except (TypeError, ValueError) as exc:
            raise bad(field, f"不是年份：{row.get(field)!r}") from exc
        if y is None or y != int(y):
            raise bad(field, f"不是年份：{row.get(field)!r}")
        years.append(int(y))
    if years[1] <= years[0]:
        raise bad("target_year", f"应晚于基准年 {years[0]}")
    industries = frozenset(p.strip() for p in _text(row.get("industries")).split("|") if p.strip())
    return _Definition(
        code=code,
        label=_text(row.get("label")) or code,
        measure=measure,
        industries=industries,
        severity=_text(row.get("severity")),
        denominator=denominator,
        per=per,
        unit=_text(row.get("unit")),
        target_kind=kind,
        target_value=target_value,
        baseline_year=years[0],
        target_year=years[1],
    )


def _truthy(value: Any) -> bool:
    """Whether a vehicle_operating cell says yes; None/NaN/unknown text is no (not counted)."""
    if value is None:
        return False
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return not math.isnan(float(value)) and float(value) != 0
    return str(value).strip().lower() in {"true", "1", "yes", "y", "是", "t"}


def _yearly_numerators(accidents: pd.DataFrame, d: _Definition) -> dict[int, float]:
    """Deaths or accident counts per year for one definition's filters."""
    if len(accidents) == 0 or "year" not in accidents:
        return {}
    keep = pd.Series(True, index=accidents.index)
    if d.industries:
        industry = accidents["industry"] if "industry" in accidents else pd.Series("", index=accidents.index)
        keep &= industry.astype(str).isin(d.industries)
    if d.severity:
        severity = accidents["severity"] if "severity" in accidents else pd.Series("", index=accidents.index)
        keep &= severity.astype(str).eq(d.severity)
    if d.denominator == "operating_vehicles":
        # 万车死亡率 counts only accidents of operating (营运) vehicles; private cars are not in its base.
        if "vehicle_operating" in accidents:
            keep &= accidents["vehicle_operating"].map(_truthy).astype(bool)
        else:
            keep &= False
    chosen = accidents.loc[keep]
    if len(chosen) == 0:
        return {}
    years = pd.to_numeric(chosen["year"], errors="coerce")
    if d.measure == "deaths":
        amounts = (
            pd.to_numeric(chosen["deaths"], errors="coerce").fillna(0.0)
            if "deaths" in chosen
            else pd.Series(0.0, index=chosen.index)
        )
    else:
        amounts = pd.Series(1.0, index=chosen.index)
    grouped = amounts.groupby(years).sum()
    idx = grouped.index.to_numpy(dtype=float)
    return {int(y): float(v) for y, v in zip(idx, grouped.to_numpy(dtype=float), strict=True) if not math.isnan(y)}


def _denominators(years: pd.DataFrame, column: str) -> dict[int, float]:
    """A denominator column by year; NaN cells are left out (a later non-missing row wins)."""
    out: dict[int, float] = {}
    if column not in years or "year" not in years:
        return out
    ys = pd.to_numeric(years["year"], errors="coerce").to_numpy(dtype=float)
    vs = pd.to_numeric(years[column], errors="coerce").to_numpy(dtype=float)
    for y, v in zip(ys, vs, strict=True):
        if not math.isnan(y) and not math.isnan(v):
            out[int(y)] = float(v)
    return out


def _raw_years(
    d: _Definition, numerators: dict[int, float], dens: dict[int, float], through: int
) -> list[IndicatorYear]:
    """Values per year, states left for judging: ``pending`` or the denominator's verdict."""
    out: list[IndicatorYear] = []
    label = DENOMINATOR_LABELS.get(d.denominator, "")
    for y in range(d.baseline_year, through + 1):
        num = numerators.get(y, 0.0)
        if not d.denominator:
            out.append(IndicatorYear(y, num, num, None, "pending", ""))
            continue
        den = dens.get(y)
        if den is None:
            out.append(IndicatorYear(y, None, num, None, "cannot_check", f"缺少{y}年{label}，无法计算"))
        elif den < 0:
            out.append(IndicatorYear(y, None, num, den, "cannot_check", f"{y}年{label}为负数（{den:g}），无法计算"))
        elif den == 0:
            if num > 0:
                why = f"{y}年有死亡但分母为0（{label}为0，死亡 {num:g} 人），无法计算"
                out.append(IndicatorYear(y, None, num, den, "cannot_check", why))
            else:
                why = f"{y}年{label}为0（{_ZERO_MEANING[d.denominator]}），该指标不适用"
                out.append(IndicatorYear(y, None, num, den, "not_applicable", why))
        else:
            out.append(IndicatorYear(y, num / (den / d.per), num, den, "pending", ""))
    return out


def _with(item: IndicatorYear, state: str, reason: str) -> IndicatorYear:
    return IndicatorYear(item.year, item.value, item.numerator, item.denominator, state, reason)


def _judge_change(d: _Definition, raw: list[IndicatorYear]) -> tuple[list[IndicatorYear], float | None, float | None]:
    base_item = raw[0] if raw and raw[0].year == d.baseline_year else None
    baseline = base_item.value if base_item is not None else None
    target = None if baseline is None else baseline * (1 + (d.target_value or 0.0) / 100)
    span = d.target_year - d.baseline_year
    out: list[IndicatorYear] = []
    for item in raw:
        if item.state != "pending":
            out.append(item)
        elif item.year == d.baseline_year:
            out.append(_with(item, "on_track", "基准年"))
        elif baseline is None or target is None:
            out.append(_with(item, "cannot_check", f"缺少基准年数据（{d.baseline_year}年），无法判断进度"))
        else:
            assert item.value is not None
            # Past the target year the target itself stays the limit.
            fraction = min(1.0, (item.year - d.baseline_year) / span)
            allowed = baseline + (target - baseline) * fraction
            text = f"{item.year}年 {_fmt(item.value)} {d.unit}，按线性进度应不高于 {_fmt(allowed)}"
            text += f"（基准 {_fmt(baseline)}，{d.target_year}年目标 {_fmt(target)}）"
            state = "on_track" if item.value <= allowed + _TOL else "off_track"
            out.append(_with(item, state, text))
    return out, baseline, target


def _judge_after_baseline(d: _Definition, raw: list[IndicatorYear]) -> list[IndicatorYear]:
    """States of ``zero`` and ``annual_mean_below``: both look at every year after the baseline."""
    out: list[IndicatorYear] = []
    for i, item in enumerate(raw):
        if item.state != "pending":
            out.append(item)
            continue
        if item.year == d.baseline_year:
            out.append(_with(item, "on_track", "基准年"))
            continue
        window = [r for r in raw[: i + 1] if r.year > d.baseline_year]
        missing = next((r for r in window if r.value is None), None)
        if missing is not None:
            # One year that cannot be computed makes the running total unknown.
            out.append(_with(item, "cannot_check", f"{missing.reason}（影响{item.year}年累计判断）"))
            continue
        values = [float(r.value or 0.0) for r in window]
        first, last = window[0].year, item.year
        period = f"{first}年" if first == last else f"{first}–{last}年"
        if d.target_kind == "zero":
            total = sum(values)
            if total <= _TOL:
                # "特别重大事故起数" → "未发生特别重大事故": the label names a count, the reason names the event.
                event = d.label.removesuffix("起数").removesuffix("数")
                out.append(_with(item, "on_track", f"{period}未发生{event}"))
            else:
                since = next(r.year for r in window if (r.value or 0.0) > _TOL)
                why = f"{since}年起发生，{period}累计 {_fmt(total)} {d.unit}，目标为0"
                out.append(_with(item, "off_track", why))
        else:
            limit = float(d.target_value or 0.0)
            mean = sum(values) / len(values)
            state = "on_track" if mean < limit - _TOL else "off_track"
            why = f"{period}年均 {_fmt(mean)} {d.unit}，应低于 {_fmt(limit)}"
            out.append(_with(item, state, why))
    return out


def compute_indicators(
    accidents: pd.DataFrame,
    years: pd.DataFrame,
    definitions: Sequence[Mapping[str, Any]],
    through_year: int,
) -> list[IndicatorResult]:
    """Value and state of every plan indicator for each year up to ``through_year``.

    Parameters
    ----------
    accidents
        One row per accident: ``year`` (int), ``industry`` (accident_industry code),
        ``severity`` (severity code), ``deaths`` (persons), ``vehicle_operating`` (bool or None;
        only True rows count for the ``operating_vehicles`` denominator).
    years
        Base data by ``year``: ``gdp_100m_yuan`` (亿元), ``employees_gmt`` (persons),
        ``coal_output_10kt`` (万吨), ``operating_vehicles`` (vehicles). Years may be missing and
        cells NaN.
    definitions
        Rows of ``plan_indicators`` (``code, label, measure, industries, severity, denominator,
        per, unit, target_kind, target_value, baseline_year, target_year``).
    through_year
        Last year to report (calendar year).

    Returns
    -------
    list[IndicatorResult]
        One per definition, in order; years run from the baseline year to ``through_year``.
        The rate is ``numerator / (denominator / per)``.

    Raises
    ------
    ValueError
        A definition with an unknown ``measure``, ``denominator`` or ``target_kind``, or a
        missing/invalid number; the message names the field.
    """
    parsed = [_definition(row) for row in definitions]
    results: list[IndicatorResult] = []
    for d in parsed:
        numerators = _yearly_numerators(accidents, d)
        dens = _denominators(years, d.denominator) if d.denominator else {}
        raw = _raw_years(d, numerators, dens, int(through_year))
        baseline: float | None
        target: float | None
        if d.target_kind == "change_pct":
            judged, baseline, target = _judge_change(d, raw)
        else:
            judged = _judge_after_baseline(d, raw)
            baseline = raw[0].value if raw else None
            target = 0.0 if d.target_kind == "zero" else d.target_value
        if judged:
            latest_state, latest_reason = judged[-1].state, judged[-1].reason
        else:
            latest_state = "cannot_check"
            latest_reason = f"{through_year}年早于基准年{d.baseline_year}年"
        results.append(
            IndicatorResult(
                code=d.code,
                label=d.label,
                unit=d.unit,
                target_kind=d.target_kind,
                target_value=d.target_value,
                baseline_year=d.baseline_year,
                target_year=d.target_year,
                baseline=baseline,
                target=target,
                years=tuple(judged),
                latest_state=latest_state,
                latest_reason=latest_reason,
            )
        )
    return results


def indicator_frame(results: Sequence[IndicatorResult]) -> pd.DataFrame:
    """The results as a table, one row per indicator × year.

    Parameters
    ----------
    results
        From :func:`compute_indicators`.

    Returns
    -------
    pandas.DataFrame
        Columns ``code, label, year, value, unit, baseline, target, state, reason``; ``value``,
        ``baseline`` and ``target`` in the indicator's unit (NaN when unknown).
    """
    columns = ["code", "label", "year", "value", "unit", "baseline", "target", "state", "reason"]
    rows = [
        {
            "code": r.code,
            "label": r.label,
            "year": y.year,
            "value": np.nan if y.value is None else y.value,
            "unit": r.unit,
            "baseline": np.nan if r.baseline is None else r.baseline,
            "target": np.nan if r.target is None else r.target,
            "state": y.state,
            "reason": y.reason,
        }
        for r in results
        for y in r.years
    ]
    return pd.DataFrame(rows, columns=columns)
