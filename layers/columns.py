"""Matching the columns of imported files to catalogue fields, and short names for shapefiles.

A column matches a field by its name (``risk_level``, any case), its Chinese label
(``风险等级``) or its label with the unit (``净宽 (m)``, ``净宽（m）``); a column named like
a child table (``substances`` / ``危险物质``) carries that table. Everything is derived
from the catalogue (:mod:`layers.definitions`), never restated. dBASE files limit names
to 10 characters: :func:`short_names` makes unique short names for export, and
:class:`ColumnMatcher` maps truncated names back by unique prefix (or by the exported
``fields.txt`` mapping). Chinese names are cut by *bytes* (ArcGIS, GDAL): five characters
in GBK (统一社会信用代码 -> 统一社会信), three in UTF-8 (the partial fourth character
dropped); a column matches the field whose name, label or label with unit cut that way
in GBK (GB 18030) or UTF-8 equals it, and one that fits several fields is ambiguous.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from safemap.layers.catalogue import ChildTable, Field

DBF_NAME_LENGTH = 10
"""Longest field name a dBASE (.dbf) file holds, in bytes (ASCII: characters)."""

DBF_ENCODINGS = ("gb18030", "utf-8")
"""Encodings in which other tools cut long names to :data:`DBF_NAME_LENGTH` bytes (GB 18030 is GBK's superset)."""

HARMLESS_COLUMNS = frozenset(
    {
        "id",
        "fid",
        "ogc_fid",
        "objectid",
        "object_id",
        "gid",
        "编号",
        "序号",
        "shape_leng",
        "shape_length",
        "shape_area",
    }
)
"""Row identifiers and GIS bookkeeping columns: ignored on import with a warning."""


def normalise(header: str) -> str:
    """Return the comparison form of a column name.

    NFKC folds full-width characters (``（m）`` -> ``(m)``), whitespace is removed and
    Latin letters are lower-cased.
    """
    text = unicodedata.normalize("NFKC", str(header)).replace("\ufeff", "")
    return "".join(text.split()).lower()


def byte_truncations(name: str, limit: int = DBF_NAME_LENGTH) -> set[str]:
    """The forms ``name`` takes when cut to ``limit`` bytes in GBK or UTF-8 (empty when it fits both).

    The cut falls on a character boundary: a character whose bytes do not all fit is
    dropped, as a reader drops (or GDAL's writer leaves undecodable) its partial bytes.
    """
    out: set[str] = set()
    for encoding in DBF_ENCODINGS:
        data = name.encode(encoding)
        if len(data) > limit:
            cut = data[:limit].decode(encoding, errors="ignore")
            if cut and name.startswith(cut):
                out.add(cut)
    return out


def _spellings(f: Field) -> tuple[str, ...]:
    """The whole names a file may give ``f``: name, label, and label with unit in the usual bracket styles."""
    names = [f.name, f.label, f.display_label]
    if f.unit:
        names += [f"{f.label}({f.unit})", f"{f.label}（{f.unit}）"]
    return tuple(names)


@dataclass
class ColumnMatch:
    """How the columns of one file table map onto a layer (or child table).

    Attributes
    ----------
    fields
        Column -> field name.
    children
        Column -> child table name (the column holds child rows or their summary).
    harmless
        Identifier/bookkeeping columns that are ignored.
    unknown
        Columns that match nothing.
    ambiguous
        Column -> candidate field names (a truncated name fitting several fields).
    duplicates
        Field name -> the several columns that all map to it.
    """

    fields: dict[str, str] = field(default_factory=dict)
    children: dict[str, str] = field(default_factory=dict)
    harmless: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)
    duplicates: dict[str, list[str]] = field(default_factory=dict)


class ColumnMatcher:
    """Match file columns to the fields of a layer or child table.

    Parameters
    ----------
    fields
        The fields of the layer or child table.
    children
        The layer's child tables (none for a child table itself).
    short_names
        Exported short name -> field name, read from a shapefile zip's ``fields.txt``.
    truncated
        Accept names cut to 10 bytes by other tools (dBASE): the unique prefix of one
        field name, or a name, label or label with unit cut in GBK or UTF-8
        (:func:`byte_truncations`). A cut name fitting several fields is ambiguous.
    """

    def __init__(
        self,
        fields: Sequence[Field],
        children: Sequence[ChildTable] = (),
        *,
        short_names: Mapping[str, str] | None = None,
        truncated: bool = False,
    ) -> None:
        self.field_names = [f.name for f in fields]
        self.child_names = [c.name for c in children]
        self.truncated = truncated
        aliases: dict[str, set[tuple[str, str]]] = {}

        def add(alias: str, target: tuple[str, str]) -> None:
            aliases.setdefault(normalise(alias), set()).add(target)

        for f in fields:
            for alias in (f.name, f.label, f.display_label):
                add(alias, ("field", f.name))
        for c in children:
            for alias in (c.name, c.label):
                add(alias, ("child", c.name))
        known = set(self.field_names) | set(self.child_names)
        for short, full in (short_names or {}).items():
            if full in known:
                add(short, ("child" if full in self.child_names else "field", full))
        # An alias claimed by two targets is no alias at all.
        self.aliases = {a: next(iter(t)) for a, t in aliases.items() if len(t) == 1}
        self.cut: dict[str, list[str]] = {}
        for f in fields:
            for spelling in _spellings(f):
                for cut in byte_truncations(spelling):
                    names = self.cut.setdefault(normalise(cut), [])
                    if f.name not in names:
                        names.append(f.name)

    def match(self, columns: Iterable[str]) -> ColumnMatch:
        """Classify ``columns`` (in file order)."""
        out = ColumnMatch()
        seen: dict[str, list[str]] = {}
        for col in columns:
            key = normalise(col)
            target = self.aliases.get(key)
            if target is None and self.truncated:
                candidates = self._cut_candidates(key)
                if len(candidates) == 1:
                    target = ("field", candidates[0])
                elif candidates:
                    out.ambiguous[col] = candidates
                    continue
            if target is None:
                (out.harmless if key in HARMLESS_COLUMNS else out.unknown).append(col)
                continue
            kind, name = target
            if kind == "field" and key in HARMLESS_COLUMNS:
                out.harmless.append(col)
                continue
            seen.setdefault(name, []).append(col)
            (out.fields if kind == "field" else out.children)[col] = name
        out.duplicates = {name: cols for name, cols in seen.items() if len(cols) > 1}
        return out

    def _cut_candidates(self, key: str) -> list[str]:
        """Fields whose name is cut to ``key`` (a unique prefix) or whose spelling cut by bytes is ``key``."""
        candidates = list(self.cut.get(key, ()))
        if len(key) == DBF_NAME_LENGTH and key.isascii():
            candidates += [n for n in self.field_names if n.startswith(key) and n not in candidates]
        return candidates


def short_names(names: Sequence[str], limit: int = DBF_NAME_LENGTH) -> dict[str, str]:
    """Give each name a unique short name of at most ``limit`` characters.

    Names that fit are kept; longer ones are cut, and a cut name already taken (case
    does not count in dBASE) gets a numeric suffix: ``turnaround``, ``turnarou_2``.

    Parameters
    ----------
    names
        Field names in output order (ASCII).
    limit
        Longest allowed name (10 for dBASE).

    Returns
    -------
    dict
        Name -> short name, in the order given.
    """
    used: set[str] = {n.lower() for n in names if len(n) <= limit}
    out: dict[str, str] = {}
    for name in names:
        if len(name) <= limit:
            out[name] = name
            continue
        short = name[:limit]
        k = 1
        while short.lower() in used:
            k += 1
            suffix = f"_{k}"
            short = name[: limit - len(suffix)] + suffix
        used.add(short.lower())
        out[name] = short
    return out
