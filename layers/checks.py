"""Check digits of identifiers the catalogue stores.

- 统一社会信用代码 (unified social credit code), GB 32100-2015: 18 characters from a
  31-character alphabet; the last one is a check character, weights 3^(i) mod 31.
- CAS registry numbers: ``NNNNNNN-NN-R`` where R is the sum of every other digit times
  its position (counted from the right, starting at 1) modulo 10.
"""

from __future__ import annotations

import re

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_CAS_RE = re.compile(r"^(\d{2,7})-(\d{2})-(\d)$")


def credit_code_check_char(first17: str) -> str:
    """Return the GB 32100-2015 check character for the first 17 characters of a code."""
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def credit_code_error(code: str) -> str | None:
    """Return why ``code`` is not a valid unified social credit code, or ``None``."""
    if not _CREDIT_RE.match(code):
        return "统一社会信用代码应为18位（数字或大写字母，不含I、O、S、V、Z），第3-8位为行政区划代码"
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        return f"统一社会信用代码校验位错误：应为 {expected}，实为 {code[17]}"
    return None


def cas_check_digit(body: str) -> int:
    """Return the CAS check digit for the digits before it (hyphens ignored)."""
    digits = [int(c) for c in body if c.isdigit()]
    return sum(d * (i + 1) for i, d in enumerate(reversed(digits))) % 10


def cas_error(cas: str) -> str | None:
    """Return why ``cas`` is not a valid CAS registry number, or ``None``."""
    m = _CAS_RE.match(cas)
    if not m:
        return "CAS号格式应为 NNNNNNN-NN-N（如 7664-41-7）"
    expected = cas_check_digit(m.group(1) + m.group(2))
    if int(m.group(3)) != expected:
        return f"CAS号校验位错误：应为 {expected}，实为 {m.group(3)}"
    return None
