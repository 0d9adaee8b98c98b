"""Pydantic models and JSON Schemas generated from the catalogue.

Nothing here restates a field: every model is built from :mod:`layers.definitions`.
Enum fields accept the code (``red``), the full Chinese label (``红（重大风险）``), its
short form (``红``) and the synonyms people write (``重大风险``, ``红色``), kept as data in
``data/standards/enum_synonyms.csv``; values are compared after NFKC (full-width letters and
brackets fold to half-width), without spaces and case, and ``词(注)`` is accepted when both
the word and the gloss name the same member (``红(重大风险)``). They are always stored and
returned as the code.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
import unicodedata
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    create_model,
)
from pydantic import Field as PydField

from safemap.layers import paths
from safemap.layers.catalogue import MANAGED_FIELDS, ChildTable, EnumType, Field, Layer

_PY_TYPES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "date": dt.date,
    "datetime": dt.datetime,
}

MAX_CHILD_ROWS = 500

#: The integers both stores hold (SQLite INTEGER, PostgreSQL BIGINT): signed 64-bit.
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
#: A row id as a request names it: positive and storable (larger ids cannot exist).
StoreId = Annotated[int, PydField(ge=1, le=INT64_MAX)]
#: The instants both stores and every time zone's rendering hold (a day's margin on either end of Python's range).
INSTANT_MIN = dt.datetime(1, 1, 2, tzinfo=dt.UTC)
INSTANT_MAX = dt.datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=dt.UTC)
INSTANT_RANGE_MESSAGE = "时间超出可存储的范围（须在 0001-01-02 至 9999-12-30 之间）"


def check_instant(value: dt.datetime) -> dt.datetime:
    """``value`` unchanged if the stores can hold it (naive values read as UTC); else :class:`ValueError`."""
    try:
        utc = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    except (OverflowError, ValueError):
        raise ValueError(INSTANT_RANGE_MESSAGE) from None
    if not INSTANT_MIN <= utc <= INSTANT_MAX:
        raise ValueError(INSTANT_RANGE_MESSAGE)
    return value


ENUM_SYNONYMS_CSV = "standards/enum_synonyms.csv"
"""Synonyms of enum members (columns ``enum, synonym, code, source, note``), under ``data/``."""

_BRACKETS = str.maketrans({"【": "(", "】": ")", "〔": "(", "〕": ")", "[": "(", "]": ")", "〈": "(", "〉": ")"})


def enum_key(text: str) -> str:
    """The comparison form of an enum value: NFKC, brackets as ``()``, no whitespace, lower case."""
    folded = unicodedata.normalize("NFKC", text).translate(_BRACKETS)
    return "".join(folded.split()).lower()


@cache
def enum_synonyms() -> dict[str, dict[str, str]]:
    """Enum name -> {:func:`enum_key` of a synonym: code}, read from :data:`ENUM_SYNONYMS_CSV`."""
    out: dict[str, dict[str, str]] = {}
    with (paths.DATA_DIR / ENUM_SYNONYMS_CSV).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["enum"].strip(), {})[enum_key(row["synonym"])] = row["code"].strip()
    return out


@cache
def enum_aliases(enum: EnumType) -> dict[str, str]:
    """Every spelling of an enum's members (as :func:`enum_key`) -> code.

    Codes, labels, unambiguous short labels (the label before its bracket) and the
    synonyms of :func:`enum_synonyms`; the catalogue's own spellings win over a synonym.
    """
    aliases: dict[str, str] = {}
    shorts: dict[str, list[str]] = {}
    for m in enum.members:
        aliases[enum_key(m.code)] = m.code
        aliases[enum_key(m.label)] = m.code
        shorts.setdefault(enum_key(m.label).split("(")[0], []).append(m.code)
    # A short form shared by two members (危化品经营 → storage or trade?) is no alias at all.
    for short, codes in shorts.items():
        if len(codes) == 1 and short:
            aliases.setdefault(short, codes[0])
    for synonym, code in enum_synonyms().get(enum.name, {}).items():
        if code in enum.codes:
            aliases.setdefault(synonym, code)
    return aliases


def enum_code(enum: EnumType, text: str) -> str | None:
    """The code ``text`` names (see the module docstring), or ``None``."""
    aliases = enum_aliases(enum)
    key = enum_key(text)
    code = aliases.get(key)
    if code is None and (m := re.fullmatch(r"(.+?)\((.+)\)", key)):
        word, gloss = aliases.get(m[1]), aliases.get(m[2])
        if word is not None and word == gloss:
            code = word
    return code


def _enum_normaliser(enum: EnumType) -> Any:
    def normalise(value: Any) -> Any:
        if isinstance(value, str):
            return enum_code(enum, value) or value.strip()
        return value

    return normalise


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _run_check(check: Any) -> Any:
    def run(value: Any) -> Any:
        if value is not None:
            message = check(value)
            if message:
                raise ValueError(message)
        return value

    return run


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("数值不能是 NaN 或无穷大")
    return value


def annotation_for(f: Field) -> Any:
    """Return the pydantic annotation (type plus constraints) of a catalogue field."""
    before = _blank_to_none
    if f.type == "enum":
        assert f.enum is not None
        base: Any = Literal[f.enum.codes]
        metadata: list[Any] = []
        normalise = _enum_normaliser(f.enum)

        def before(value: Any) -> Any:
            return normalise(_blank_to_none(value))
    elif f.type == "str":
        base = str
        metadata = [
            StringConstraints(strip_whitespace=True, max_length=f.max_length, pattern=_anchored(f)),
            AfterValidator(no_control_characters),
        ]
    else:
        base = _PY_TYPES[f.type]
        metadata = []
        if f.minimum is not None:
            metadata.append(PydField(ge=f.minimum))
        if f.maximum is not None:
            metadata.append(PydField(le=f.maximum))
        if f.type == "int":
            # What the stores hold, where the catalogue sets no bound (a later ge/le would replace its own).
            if f.minimum is None:
                metadata.append(PydField(ge=INT64_MIN))
            if f.maximum is None:
                metadata.append(PydField(le=INT64_MAX))
        if f.type == "float":
            metadata.append(AfterValidator(_finite))
        if f.type == "datetime":
            metadata.append(AfterValidator(check_instant))
    if f.check is not None:
        metadata.append(AfterValidator(_run_check(f.check)))
    # Constraints apply to the value only; None (an empty cell) passes through them.
    inner = Annotated[base, *metadata] if metadata else base
    return Annotated[inner | None, BeforeValidator(before)]


def no_control_characters(value: str) -> str:
    """``value`` unless it holds a control character (NUL, backspace, escape…; tab and line breaks are text)."""
    for ch in value:
        if (ch < " " and ch not in "\t\n\r") or "\x7f" <= ch <= "\x9f":
            raise ValueError(f"不能包含控制字符（收到 U+{ord(ch):04X}）")
    return value


def _anchored(f: Field) -> str | None:
    return f"^(?:{f.pattern})$" if f.pattern else None


def _field_definitions(fields: tuple[Field, ...], *, partial: bool) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    for f in fields:
        info = PydField(
            default=None if (partial or not f.required) else ...,
            title=f.display_label,
            description=f.description or None,
        )
        defs[f.name] = (annotation_for(f), info)
    return defs


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


@cache
def child_model(layer_name: str, child: ChildTable) -> type[BaseModel]:
    """Model of one row of a child table."""
    model = create_model(
        f"{_camel(layer_name)}{_camel(child.name)}Row",
        __base__=_Strict,
        **_field_definitions(child.fields, partial=False),
    )
    return model


@cache
def properties_model(layer: Layer, *, partial: bool) -> type[BaseModel]:
    """Model of the writable properties of ``layer``.

    ``partial`` gives the PATCH model, where every field is optional. Required
    fields of the create model may not be null.
    """
    defs = _field_definitions(layer.editable_fields, partial=partial)
    for child in layer.children:
        row = child_model(layer.name, child)
        defs[child.name] = (
            list[row] | None,  # type: ignore[valid-type]
            PydField(default=None, title=child.label, max_length=MAX_CHILD_ROWS),
        )
    suffix = "Patch" if partial else "Create"
    model = create_model(f"{_camel(layer.name)}{suffix}", __base__=_Strict, **defs)
    return model


def required_missing(layer: Layer, props: dict[str, Any]) -> list[str]:
    """Names of required fields that are absent or null in ``props``."""
    return [f.name for f in layer.editable_fields if f.required and props.get(f.name) is None]


def read_only_names(layer: Layer) -> frozenset[str]:
    """Fields a client may send back unchanged but never sets (managed or computed)."""
    return frozenset(MANAGED_FIELDS | {f.name for f in layer.fields if f.computed})


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _json_type(f: Field) -> dict[str, Any]:
    schema: dict[str, Any] = {"title": f.display_label}
    if f.description:
        schema["description"] = f.description
    if f.type == "enum":
        assert f.enum is not None
        schema.update(type="string", enum=list(f.enum.codes))
        schema["x-labels"] = {m.code: m.label for m in f.enum.members}
    elif f.type == "str":
        schema["type"] = "string"
        if f.max_length:
            schema["maxLength"] = f.max_length
        if f.pattern:
            schema["pattern"] = _anchored(f)
    elif f.type in ("int", "float"):
        schema["type"] = "integer" if f.type == "int" else "number"
        if f.minimum is not None:
            schema["minimum"] = f.minimum
        if f.maximum is not None:
            schema["maximum"] = f.maximum
    elif f.type == "bool":
        schema["type"] = "boolean"
    elif f.type == "date":
        schema.update(type="string", format="date")
    elif f.type == "datetime":
        schema.update(type="string", format="date-time")
    if f.unit:
        schema["x-unit"] = f.unit
    if f.computed:
        schema["readOnly"] = True
    return schema


def layer_json_schema(layer: Layer) -> dict[str, Any]:
    """JSON Schema of a feature's properties (for docs, OGC queryables and the import form)."""
    props: dict[str, Any] = {f.name: _json_type(f) for f in layer.fields}
    for child in layer.children:
        props[child.name] = {
            "title": child.label,
            "type": "array",
            "maxItems": MAX_CHILD_ROWS,
            "items": {
                "type": "object",
                "properties": {f.name: _json_type(f) for f in child.fields},
                "required": [f.name for f in child.fields if f.required],
                "additionalProperties": False,
            },
        }
    return {
        "type": "object",
        "title": layer.label,
        "properties": props,
        "required": [f.name for f in layer.editable_fields if f.required],
    }


def value_from_text(f: Field, text: str) -> Any:
    """The typed value of ``f`` written as ``text`` (e.g. a query-string filter value).

    ``null``/``none`` is ``None`` for an optional field; an enum accepts its codes,
    labels and short labels; ``bool`` accepts true/false, 1/0, yes/no, 是/否. Raises
    :class:`ValueError` with a Chinese message naming what is accepted.
    """
    if text.lower() in ("null", "none") and not f.required:
        return None
    if f.type == "enum":
        assert f.enum is not None
        code = enum_code(f.enum, text)
        if code is None:
            raise ValueError(f"取值无效（收到 {text!r}），可选：{f.enum.describe()}")
        return code
    try:
        value: Any = _parse_text(f, text)
    except ValueError:
        raise ValueError(f"{text!r} 不是有效的{_TEXT_TYPE_NAMES[f.type]}") from None
    if f.type == "int" and not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"{text!r} 超出整数范围（{INT64_MIN} 至 {INT64_MAX}）")
    if f.type == "datetime":
        try:
            check_instant(value)
        except ValueError as exc:
            raise ValueError(f"{exc}（收到 {text!r}）") from None
    return value


def _parse_text(f: Field, text: str) -> Any:
    if f.type == "int":
        return int(text)
    if f.type == "float":
        return float(text)
    if f.type == "bool":
        if text.lower() in ("true", "1", "yes", "是"):
            return True
        if text.lower() in ("false", "0", "no", "否"):
            return False
        raise ValueError
    if f.type == "date":
        return dt.date.fromisoformat(text)
    if f.type == "datetime":
        return dt.datetime.fromisoformat(text)
    return text


_TEXT_TYPE_NAMES = {
    "int": "整数",
    "float": "数值",
    "bool": "是/否（true/false）",
    "date": "日期",
    "datetime": "时间",
}
