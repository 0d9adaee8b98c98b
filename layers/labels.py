"""Chinese for people, codes for machines: the one place that turns codes into words.

Every enumeration, role, vehicle profile, grade, unit and field name is stored and
exchanged as a code; officials read its Chinese label from the catalogue. This module
is what the map page, the reports, CSV exports and error messages use to say it:

- :func:`enum_label`, :func:`role_label`, :func:`roles_text`, :func:`grade_label`: codes → words;
- :func:`field_text`, :func:`path_label`, :func:`layer_path_label`: field names and paths
  (``properties.substances[1].quantity_t``) → ``物质第2项·数量（t）``;
- :func:`source_text`: ``synthetic: …`` → ``合成演示数据：…``;
- :func:`number_text`, :func:`rate_text`, :func:`duration_text`, :func:`distance_text`,
  :func:`count_text`: numbers with their units, never an exponent or a bare count;
- :func:`csv_header`, :func:`export_filename`, :func:`content_disposition`: Chinese CSV
  headers and file names, with a ``code`` option for machine exports.

It is pure catalogue knowledge (no web, no store), so the page, the services and the
command line all say the same words.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from safemap.layers.catalogue import ROLE_LABELS, EnumType, Field, Layer

#: How CSV headers (and file names) are written: ``zh`` for people, ``code`` for machines.
HeaderMode = Literal["zh", "code"]
HEADER_MODES: tuple[HeaderMode, ...] = ("zh", "code")

#: GB 18218-2018 grades of a major hazard source (1 is the most severe), as written everywhere.
GRADE_LABELS: dict[int, str] = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
UNGRADED = "未分级"

#: What a demo record's ``source`` starts with; shown as :data:`SYNTHETIC_LABEL`.
SYNTHETIC_PREFIX = "synthetic"
SYNTHETIC_LABEL = "合成演示数据"

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


# --- codes ---------------------------------------------------------------------------------


@functools.cache
def enum_types() -> dict[str, EnumType]:
    """Every enumeration of the catalogue by its name (``vehicle_profile`` → its EnumType)."""
    from safemap.layers import enums

    return {e.name: e for e in vars(enums).values() if isinstance(e, EnumType)}


def enum_label(enum: str | EnumType, code: Any) -> str:
    """The Chinese label of ``code`` in the enumeration ``enum`` (name or type); ``""`` for no code.

    An unknown code is returned as it is (it is what the record holds).
    """
    if code is None or code == "":
        return ""
    kind = enum if isinstance(enum, EnumType) else enum_types().get(enum)
    if kind is None:
        return str(code)
    return str(kind.label(str(code)))


def role_label(code: str | None, *, with_code: bool = False) -> str:
    """``planner`` → ``规划/应急管理`` (``规划/应急管理（planner）`` with ``with_code``, for admins)."""
    if not code:
        return ""
    label = ROLE_LABELS.get(code, code)
    return f"{label}（{code}）" if with_code and label != code else label


def roles_text(codes: Iterable[str], *, with_code: bool = False, sep: str = "、") -> str:
    """Several roles in words, in the catalogue's order: ``应急指挥调度、系统管理员``."""
    order = list(ROLE_LABELS)
    ranked = sorted(set(codes), key=lambda c: (order.index(c) if c in order else len(order), c))
    return sep.join(role_label(c, with_code=with_code) for c in ranked)


def grade_label(grade: Any) -> str:
    """A GB 18218 grade 1–4 as ``一级``–``四级``; ``未分级`` when there is none."""
    if grade is None or (isinstance(grade, float) and math.isnan(grade)):
        return UNGRADED
    try:
        return GRADE_LABELS.get(int(grade), f"{grade}级")
    except (TypeError, ValueError):
        return str(grade)


def source_text(source: Any) -> str:
    """A record's data source as an official reads it: ``synthetic: 虚构…`` → ``合成演示数据：虚构…``."""
    if source is None:
        return ""
    text = str(source).strip()
    if not text.lower().startswith(SYNTHETIC_PREFIX):
        return text
    rest = text[len(SYNTHETIC_PREFIX) :].lstrip(" :：-—")
    return f"{SYNTHETIC_LABEL}：{rest}" if rest else SYNTHETIC_LABEL


# --- fields --------------------------------------------------------------------------------


def unit_suffix(unit: str | None) -> str:
    """``（m³）`` after a label, ``""`` when there is no unit."""
    return f"（{unit}）" if unit else ""


def field_text(f: Field) -> str:
    """A field's Chinese label with its unit: ``单罐最大容积（m³）``."""
    return f.label + unit_suffix(f.unit)


@functools.cache
def catalogue_words() -> dict[str, str]:
    """Field name → label (with unit) over every layer and child table (first layer wins).

    Names mean the same almost everywhere; where they do not (``population`` 人口/人数), the
    layer's own label is used by :func:`layer_path_label`.
    """
    from safemap.layers.definitions import LAYERS

    words: dict[str, str] = {}
    for layer in LAYERS:
        for f in layer.fields:
            words.setdefault(f.name, field_text(f))
        for child in layer.children:
            words.setdefault(child.name, child.label)
            for f in child.fields:
                words.setdefault(f.name, field_text(f))
    return words


def split_path(path: str | Sequence[int | str]) -> list[int | str]:
    """``properties.substances[1].quantity_t`` or ``substances.0.quantity_t`` → its parts."""
    if not isinstance(path, str):
        return list(path)
    parts: list[int | str] = []
    for token in re.findall(r"[^.\[\]]+", path):
        parts.append(int(token) if token.isdigit() else token)
    return parts


def path_label(path: str | Sequence[int | str], words: Mapping[str, str] | None = None) -> str | None:
    """The Chinese name of a field path, e.g. ``物质第1项·数量（t）``; ``None`` when nothing has a label.

    ``words`` maps names to labels (default: :func:`catalogue_words`); names it does not know
    (``properties``, ``body``, an unknown field) are left out.
    """
    words = catalogue_words() if words is None else words
    loc = split_path(path)
    parts: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            if parts and i > 0 and isinstance(loc[i - 1], str):
                parts[-1] += f"第{part + 1}项"
            continue
        label = words.get(part)
        if label:
            parts.append(label)
    return "·".join(parts) or None


def layer_words(layer: Layer) -> dict[str, str]:
    """Field name → label (with unit) of one layer and its child tables (the layer's own words first)."""
    words = dict(catalogue_words())
    for child in layer.children:
        words[child.name] = child.label
        for f in child.fields:
            words[f.name] = field_text(f)
    for f in layer.fields:
        words[f.name] = field_text(f)
    return words


def layer_path_label(layer: Layer, path: str | Sequence[int | str]) -> str | None:
    """:func:`path_label` with ``layer``'s own labels (``population`` of a target is 人数（人）)."""
    loc = split_path(path)
    words = dict(catalogue_words())
    names = [p for p in loc if isinstance(p, str) and p != "properties"]
    child = next((c for c in layer.children if names and c.name == names[0]), None)
    if child is not None:
        words[child.name] = child.label
        words.update({f.name: field_text(f) for f in child.fields})
    else:
        words.update({f.name: field_text(f) for f in layer.fields})
    return path_label(loc, words)


#: What an error names besides fields: parts of a GeoJSON feature and of a request.
STRUCTURE_WORDS: dict[str, str] = {
    "geometry": "几何图形",
    "properties": "属性",
    "feature": "要素",
    "type": "要素类型",
    "crs": "坐标系",
    "body": "请求内容",
    "file": "文件",
}


def where_text(path: str, layer: Layer | None = None, words: Mapping[str, str] | None = None) -> str:
    """What an error message names for the field ``path``: its Chinese label, or the code when it has none.

    ``properties.substances[0].quantity_t`` of a hazard source → ``危险物质第1项·最大储存量（t）``.
    """
    if path in STRUCTURE_WORDS:
        return STRUCTURE_WORDS[path]
    if words is not None:
        label = path_label(path, {**catalogue_words(), **words})
    elif layer is not None:
        label = layer_path_label(layer, path)
    else:
        label = path_label(path)
    return label or path


def problem_text(path: str, message: str, layer: Layer | None = None, words: Mapping[str, str] | None = None) -> str:
    """``容积（m³）：应为 0–1000000 之间的数``: the field's Chinese name, then what is wrong with it."""
    return f"{where_text(path, layer, words)}：{message}"


# --- numbers -------------------------------------------------------------------------------


def _finite(value: Any) -> float | None:
    """``value`` as a float, or ``None`` when it is ``None``, NaN or infinite (shown as ``—``).

    Parameters
    ----------
    value
        A number, or anything :class:`float` accepts (which raises on the rest).

    Returns
    -------
    float or None
        The finite number, ``None`` when there is none.
    """
    if value is None:
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def number_text(value: Any, digits: int = 3) -> str:
    """A number without an exponent: ``1e6`` → ``1000000``, ``2.50`` → ``2.5``."""
    x = _finite(value)
    if x is None:
        return "—"
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.{digits}f}".rstrip("0").rstrip(".")


def _power_of_ten(x: float, digits: int) -> tuple[str, int]:
    exp = math.floor(math.log10(abs(x)))
    mant = x / 10**exp
    if round(mant, digits) >= 10:
        mant, exp = mant / 10, exp + 1
    return f"{mant:.{digits}f}", exp


def rate_text(value: Any, *, unit: str = "/年", floor: float = 1e-8, digits: int = 1) -> str:
    """A frequency or individual risk as people read it: ``1.0×10⁻⁶/年``; below ``floor`` ``< 1×10⁻⁸/年``.

    ``None`` and NaN are ``—``; zero is below any floor.
    """
    if value is None:
        return "—"
    x = float(value)
    if math.isnan(x):
        return "—"
    if math.isinf(x):
        return "∞" + unit
    if abs(x) < floor:
        _mant, exp = _power_of_ten(floor, 0)
        return f"< 1×10{str(exp).translate(_SUPERSCRIPT)}{unit}"
    mant, exp = _power_of_ten(x, digits)
    if exp == 0:
        return f"{mant}{unit}"
    return f"{mant}×10{str(exp).translate(_SUPERSCRIPT)}{unit}"


def duration_text(seconds: Any) -> str:
    """A duration as 时分秒: ``1小时02分05秒``, ``9分24秒``, ``45秒``; ``—`` when unknown."""
    x = _finite(seconds)
    if x is None:
        return "—"
    total = max(0, round(x))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}小时{m:02d}分{s:02d}秒"
    if m:
        return f"{m}分{s:02d}秒"
    return f"{s}秒"


def distance_text(metres: Any) -> str:
    """A distance: ``850 m`` below a kilometre, ``9.4 km`` above; ``—`` when unknown."""
    x = _finite(metres)
    if x is None:
        return "—"
    if abs(x) < 1000:
        return f"{round(x)} m"
    return f"{x / 1000:.1f} km"


def count_text(n: Any, unit: str) -> str:
    """A count with its unit: ``1210 人``, ``3 个``."""
    return f"{number_text(n, 0)} {unit}" if n is not None else "—"


# --- exports -------------------------------------------------------------------------------


def header_mode(value: str | None) -> HeaderMode:
    """``zh`` (default) or ``code``; anything else is an error."""
    if value in (None, "", "zh"):
        return "zh"
    if value == "code":
        return "code"
    raise ValueError(f"表头应为 zh（中文）或 code（字段代码），收到 {value!r}")


def csv_header(keys: Sequence[str], words: Mapping[str, str], mode: HeaderMode = "zh") -> list[str]:
    """The header row: Chinese labels (the code where there is none), or the codes in ``code`` mode."""
    if mode == "code":
        return list(keys)
    return [words.get(k) or catalogue_words().get(k) or k for k in keys]


def export_filename(
    stem: str, ext: str, *, code_stem: str | None = None, mode: HeaderMode = "zh", day: dt.date | None = None
) -> str:
    """``覆盖统计_20261201.csv`` (or ``coverage_summary_20261201.csv`` in ``code`` mode)."""
    name = code_stem if mode == "code" and code_stem else stem
    if day is not None:
        name += f"_{day:%Y%m%d}"
    return f"{name}.{ext.lstrip('.')}"


def content_disposition(filename: str, *, fallback: str | None = None) -> str:
    """``attachment`` with a UTF-8 file name (RFC 6266/5987) and an ASCII fallback for old clients."""
    ascii_name = fallback or (filename if filename.isascii() else "download" + _suffix(filename))
    ascii_name = ascii_name.replace('"', "")
    quoted = urllib.parse.quote(filename, safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"


def _suffix(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:] if dot > 0 else ""
