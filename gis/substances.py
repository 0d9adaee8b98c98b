"""How people type a hazardous substance, and what GB 18218 makes of it (pure text rules).

- CAS registry numbers as typed: spaces, full-width digits and hyphens (Unicode NFKC), dash
  look-alikes, or no hyphens at all (``7782505`` → ``7782-50-5``). The check digit is
  validated: the sum of every digit before it times its position counted from the right
  (starting at 1), modulo 10 (CAS Registry's published rule; e.g. 7732-18-5:
  8·1 + 1·2 + 2·3 + 3·4 + 7·5 + 7·6 = 105 → 5).
- Names: NFKC (full-width letters, digits, brackets and spaces folded), every kind of bracket
  made ``()``, spaces removed, lower case.
- Masses: the GB 18218 path works in tonnes; :func:`to_tonnes` converts an explicit unit.
- Flash point and initial boiling point → GB 18218-2018 Table 2 class of a flammable liquid
  (W5.1 / W5.3 / W5.4) by the GHS categories of GB 30000.7-2013 that Table 2 refers to:
  category 1 flash point < 23 ℃ and initial boiling point ≤ 35 ℃; category 2 flash point
  < 23 ℃ and initial boiling point > 35 ℃; category 3 23 ℃ ≤ flash point ≤ 60 ℃; above
  60 ℃ not a flammable liquid in GB 18218's sense (reference/safety-standards.md §1,
  Table 1.2; data/standards/gb18218_classes.csv notes).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: Dash look-alikes people paste into CAS numbers (NFKC leaves these unchanged).
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u30fc"
_DASH_RE = re.compile(f"[{_DASHES}]")
_CAS_RE = re.compile(r"^(\d{2,7})-(\d{2})-(\d)$")
_DIGITS_RE = re.compile(r"^\d{5,10}$")
_OPEN = "[【〔〖｛{<《"
_CLOSE = "]】〕〗｝}>》"

#: Mass units accepted on the GB 18218 path, and their factor to tonnes.
MASS_UNITS: dict[str, float] = {"t": 1.0, "吨": 1.0, "kg": 0.001, "千克": 0.001, "公斤": 0.001}

#: Flash point (℃) at or below which a liquid is a GHS flammable liquid (category 3 upper bound).
FLASH_POINT_MAX_C = 60.0
#: Flash point (℃) below which a flammable liquid is category 1 or 2.
FLASH_POINT_CAT2_C = 23.0
#: Initial boiling point (℃) at or below which a category 1/2 flash point makes category 1.
BOILING_POINT_CAT1_C = 35.0

#: Table 2 classes a flash point decides (W5.1 in part, W5.3, W5.4); W5.2 is a process condition.
FLASH_DERIVED = frozenset({"W5.3", "W5.4"})
FLAMMABLE_LIQUID = frozenset({"W5.1", "W5.2", "W5.3", "W5.4"})

#: Substances not in Table 1 that are flammable liquids of category 3 unless their flash point
#: says otherwise (GB 19147 车用柴油: flash point ≥ 45–60 ℃ by grade; reference §1 Table 1.1 row 柴油).
CATEGORY3_BY_NAME = ("柴油", "轻柴油", "车用柴油", "普通柴油", "diesel")


class SubstanceError(ValueError):
    """A substance as typed cannot be used; ``fields`` names the input fields at fault."""

    def __init__(self, fields: tuple[str, ...], message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.fields = fields
        self.message = message
        #: Index of the substance in the list being graded, when known.
        self.row = row


def cas_check_digit(body: str) -> int:
    """CAS check digit of the digits before it (anything else ignored)."""
    digits = [int(c) for c in body if c.isdigit()]
    return sum(d * (i + 1) for i, d in enumerate(reversed(digits))) % 10


def normalise_cas(text: object) -> str | None:
    """A CAS number as typed → ``NNNNNNN-NN-N``; ``None`` when blank.

    Raises
    ------
    SubstanceError
        Not a CAS number, or its check digit is wrong (``fields == ("cas",)``).
    """
    if text is None or (isinstance(text, float) and text != text):
        return None
    raw = str(text)
    t = _DASH_RE.sub("-", unicodedata.normalize("NFKC", raw))
    t = re.sub(r"\s+", "", t)
    if not t:
        return None
    m = _CAS_RE.match(t)
    if m:
        first, second, check = m.groups()
    elif _DIGITS_RE.match(t):
        first, second, check = t[:-3], t[-3:-1], t[-1]
    else:
        raise SubstanceError(("cas",), f"CAS号“{raw.strip()}”格式不对：应为 NNNNNNN-NN-N（如 7782-50-5）")
    first = first.lstrip("0") or "0"
    if len(first) < 2:
        raise SubstanceError(("cas",), f"CAS号“{raw.strip()}”格式不对：第一段至少2位数字")
    cas = f"{first}-{second}-{check}"
    expected = cas_check_digit(first + second)
    if int(check) != expected:
        raise SubstanceError(
            ("cas",), f"CAS号“{raw.strip()}”校验位错误：按 {first}-{second} 应为 {expected}，实为 {check}"
        )
    return cas


def normalise_name(text: object) -> str:
    """Name for matching: NFKC, brackets as ``()``, no spaces, lower case; ``""`` when blank."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    t = unicodedata.normalize("NFKC", str(text))
    t = t.translate(str.maketrans(_OPEN + _CLOSE, "(" * len(_OPEN) + ")" * len(_CLOSE)))
    t = t.replace("，", ",").replace("、", ",")
    return re.sub(r"\s+", "", t).lower()


def base_name(key: str) -> str:
    """A normalised name without its bracketed qualifiers (``柴油(-35号)`` → ``柴油``)."""
    return re.sub(r"\([^()]*\)", "", key).strip()


def to_tonnes(value: float, unit: str | None) -> float:
    """``value`` in ``unit`` (t, 吨, kg, 千克, 公斤; ``None`` = t) as tonnes.

    Raises
    ------
    SubstanceError
        Unknown unit (``fields == ("unit",)``).
    """
    key = unicodedata.normalize("NFKC", unit).strip().lower() if unit else "t"
    if key not in MASS_UNITS:
        raise SubstanceError(("unit",), f"质量单位“{unit}”无法识别：应为 {' / '.join(MASS_UNITS)}")
    return float(value) * MASS_UNITS[key]


@dataclass(frozen=True)
class FlashClass:
    """What a flash point says: the Table 2 class (``None`` = out of scope) and why."""

    code: str | None
    basis: str


def flash_point_class(flash_point_c: float, boiling_point_c: float | None = None) -> FlashClass:
    """GB 18218 Table 2 class of a flammable liquid from its flash point and initial boiling point (℃)."""
    fp = float(flash_point_c)
    if fp > FLASH_POINT_MAX_C:
        return FlashClass(None, f"闪点 {fp:g} ℃ > 60 ℃，不属于 GB 18218 易燃液体，未计入S")
    if fp >= FLASH_POINT_CAT2_C:
        return FlashClass("W5.4", f"闪点 {fp:g} ℃（23–60 ℃，易燃液体类别3）→ 表2 W5.4")
    if boiling_point_c is not None and float(boiling_point_c) <= BOILING_POINT_CAT1_C:
        return FlashClass(
            "W5.1", f"闪点 {fp:g} ℃ < 23 ℃ 且初沸点 {float(boiling_point_c):g} ℃ ≤ 35 ℃（易燃液体类别1）→ 表2 W5.1"
        )
    if boiling_point_c is None:
        return FlashClass("W5.3", f"闪点 {fp:g} ℃ < 23 ℃（未给出沸点，按易燃液体类别2）→ 表2 W5.3")
    return FlashClass(
        "W5.3", f"闪点 {fp:g} ℃ < 23 ℃ 且初沸点 {float(boiling_point_c):g} ℃ > 35 ℃（易燃液体类别2）→ 表2 W5.3"
    )


def is_category3_by_name(key: str) -> bool:
    """True for a normalised name that is a category 3 flammable liquid unless its flash point says otherwise."""
    base = base_name(key)
    return any(base == n or base.startswith(n) for n in CATEGORY3_BY_NAME)


__all__ = [
    "MASS_UNITS",
    "FlashClass",
    "SubstanceError",
    "base_name",
    "cas_check_digit",
    "flash_point_class",
    "is_category3_by_name",
    "normalise_cas",
    "normalise_name",
    "to_tonnes",
]
