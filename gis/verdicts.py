"""Three-valued verdicts of a rule check: pass, fail, or cannot check (with the reason).

Every check record of the safety analyses carries a ``status`` code from this module;
the Chinese words people see (符合 / 不符合 / 无法核查) come from the catalogue enum
``verdict_status`` (:mod:`safemap.layers.enums`), attached by the services. A whole
check is 符合 only when at least one applicable rule was checked and every check passed:
any failure makes it 不符合, any check that could not be made (and no failure) makes it
无法核查, and so does having checked nothing at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

PASS = "pass"
FAIL = "fail"
CANNOT_CHECK = "cannot_check"
STATUSES = (PASS, FAIL, CANNOT_CHECK)
#: Order in listings: what breaks a rule first, then what could not be checked, then passes.
STATUS_ORDER = {FAIL: 0, CANNOT_CHECK: 1, PASS: 2}


def overall(records: Iterable[tuple[str, str | None]], nothing_checked: str = "") -> dict[str, Any]:
    """The verdict of a whole check from its records' ``(status, reason)``.

    Parameters
    ----------
    records
        One ``(status, reason)`` per check record (pair or rule); ``reason`` may be empty
        for passes and failures.
    nothing_checked
        Why nothing was checked, used when ``records`` is empty (e.g. "周边无适用规则的危险源").

    Returns
    -------
    dict
        ``status`` (``pass``/``fail``/``cannot_check``), ``reason`` (Chinese, empty for a
        pass) and ``counts`` (records per status, every status present).
    """
    counts: Counter[str] = Counter()
    reasons: list[str] = []
    for status, reason in records:
        if status not in STATUSES:
            raise ValueError(f"unknown check status {status!r}")
        counts[status] += 1
        if status == CANNOT_CHECK and reason and reason not in reasons:
            reasons.append(reason)
    full = {s: int(counts.get(s, 0)) for s in STATUSES}
    if full[FAIL]:
        return {"status": FAIL, "reason": f"{full[FAIL]} 项不符合", "counts": full}
    if full[CANNOT_CHECK]:
        shown = "；".join(reasons[:3]) + (f"；等 {len(reasons)} 类原因" if len(reasons) > 3 else "")
        return {"status": CANNOT_CHECK, "reason": shown or "部分规则无法核查", "counts": full}
    if full[PASS]:
        return {"status": PASS, "reason": "", "counts": full}
    why = nothing_checked or "没有适用的规则"
    return {"status": CANNOT_CHECK, "reason": f"未核查任何规则：{why}", "counts": full}
