"""The severity class of a production-safety accident (事故等级) by 国务院令第493号 第三条.

Pure function over the rows of the standards table ``accident_severity_rules``
(``data/standards/accident_severity_rules.csv``); no I/O.

An accident is of the most severe class for which ANY of its minimums is reached: deaths,
serious injuries (重伤, including acute industrial poisoning) or direct economic loss (万元).
“以上”包括本数 (第三条末款), so a minimum is reached when the value is ≥ it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

SEVERITY_ORDER: tuple[str, ...] = ("extraordinary", "major", "large", "general")
"""Severity codes from the most to the least severe (特别重大 > 重大 > 较大 > 一般)."""

_RANK = {code: i for i, code in enumerate(SEVERITY_ORDER)}
_FIELDS = (("min_deaths", 0), ("min_serious_injuries", 1), ("min_loss_wan", 2))


def _num(value: Any) -> float:
    """A count or amount; None, NaN and '' count as 0 (nothing reported = nothing to class on)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0.0
    out = float(value)
    return 0.0 if math.isnan(out) else out


def _minimum(value: Any) -> float | None:
    """A rule's minimum; empty means the criterion does not apply to that rule."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    out = float(value)
    return None if math.isnan(out) else out


def severity_of(
    deaths: float | None,
    serious_injuries: float | None,
    loss_wan: float | None,
    rules: Sequence[Mapping[str, Any]],
) -> str:
    """The severity code of an accident.

    Parameters
    ----------
    deaths
        Number of people killed (persons); None counts as 0.
    serious_injuries
        Number of people seriously injured, acute industrial poisoning included (persons);
        None counts as 0.
    loss_wan
        Direct economic loss (万元 = 10 000 yuan); None counts as 0.
    rules
        Rows of ``accident_severity_rules`` with ``severity``, ``min_deaths``,
        ``min_serious_injuries`` and ``min_loss_wan``.

    Returns
    -------
    str
        The most severe ``severity`` whose rule matches (ranked by :data:`SEVERITY_ORDER`;
        unknown codes rank by ``min_deaths``, below the known ones). The rule with all
        minimums 0 always matches; when the rules have none, ``"general"``.
    """
    values = (_num(deaths), _num(serious_injuries), _num(loss_wan))

    def rank(rule: Mapping[str, Any]) -> tuple[int, float]:
        code = str(rule.get("severity"))
        # Unknown codes sort after the known four, the larger death threshold first.
        return (_RANK.get(code, len(SEVERITY_ORDER)), -(_minimum(rule.get("min_deaths")) or 0.0))

    for rule in sorted(rules, key=rank):
        minimums = [(_minimum(rule.get(name)), i) for name, i in _FIELDS]
        present = [(m, i) for m, i in minimums if m is not None]
        # A rule with only zero (or no) minimums is the catch-all "一般事故".
        if all(m <= 0 for m, _ in present):
            return str(rule.get("severity"))
        if any(m > 0 and values[i] >= m for m, i in present):
            return str(rule.get("severity"))
    return "general"
