"""The layer catalogue's building blocks: fields, enumerations, child tables, styles, layers.

Everything that describes a layer is written once with these classes (see
:mod:`layers.definitions`). Storage tables, API schemas, import validation and
the map legend are all derived from them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

FieldType = Literal["str", "int", "float", "bool", "date", "datetime", "enum"]
GeometryType = Literal["Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"]
Role = Literal["viewer", "planner", "dispatcher", "fire", "inspector", "enterprise", "admin", "device"]
ROLES: tuple[Role, ...] = ("viewer", "planner", "dispatcher", "fire", "inspector", "enterprise", "admin", "device")
ROLE_LABELS: dict[str, str] = {
    "viewer": "只读用户",
    "planner": "规划/应急管理",
    "dispatcher": "应急指挥调度",
    "fire": "消防救援",
    "inspector": "执法检查/网格员",
    "enterprise": "企业用户",
    "admin": "系统管理员",
    "device": "设备接入",
}


@dataclass(frozen=True)
class Member:
    """One allowed value of an enumeration."""

    code: str
    label: str
    color: str | None = None


@dataclass(frozen=True)
class EnumType:
    """A closed list of codes, each with a Chinese label (and optionally a map colour)."""

    name: str
    members: tuple[Member, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        """The allowed codes, in display order."""
        return tuple(m.code for m in self.members)

    def label(self, code: str | None) -> str | None:
        """Return the Chinese label of ``code`` (the code itself when unknown)."""
        for m in self.members:
            if m.code == code:
                return m.label
        return code

    def describe(self) -> str:
        """Return ``标签（code）、…`` for error messages and docs: the words first, the code to send in brackets."""
        return "、".join(f"{m.label}（{m.code}）" for m in self.members)


@dataclass(frozen=True)
class Field:
    """One attribute of a layer or child table.

    Parameters
    ----------
    name
        Column name (ASCII snake_case), used in storage, API and files.
    type
        Value type; ``enum`` fields take one of ``enum.codes``.
    label
        Chinese label shown in popups, legends, forms and exported headers.
    required
        A feature cannot be created without it.
    unit
        Unit of a numeric value (metres ``m``, tonnes ``t``, …), shown after the label.
    minimum, maximum
        Inclusive bounds of a numeric value.
    max_length
        Longest allowed text.
    pattern
        Regular expression a text value must match in full.
    check
        Extra check returning an error message (Chinese) or ``None``.
    computed
        Set by the platform (e.g. GB 18218 grade); read-only through the API.
    references
        Name of the layer whose ``id`` this integer field refers to.
    description
        Longer help text for the API documentation.
    """

    name: str
    type: FieldType
    label: str
    required: bool = False
    enum: EnumType | None = None
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    pattern: str | None = None
    check: Callable[[Any], str | None] | None = None
    computed: bool = False
    references: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if (self.type == "enum") != (self.enum is not None):
            raise ValueError(f"field {self.name}: enum fields need an EnumType, others none")

    @property
    def display_label(self) -> str:
        """Chinese label with its unit, e.g. ``净宽 (m)``."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


@dataclass(frozen=True, eq=False)
class ChildTable:
    """Rows that belong to one feature (e.g. the substances held in a tank).

    They travel inside the parent's properties as a list of objects under
    ``name`` and are replaced as a whole when the parent is edited.
    """

    name: str
    label: str
    fields: tuple[Field, ...]
    summary: Callable[[dict[str, Any]], str] | None = None

    def table_name(self, layer: str) -> str:
        """Storage table of this child under ``layer``."""
        return f"{layer}__{self.name}"

    def field(self, name: str) -> Field:
        """Return the field called ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


@dataclass(frozen=True)
class Style:
    """How a layer is drawn and explained in the legend.

    ``kind`` is ``circle`` (points drawn as circle markers), ``line`` or ``fill``.
    When ``by`` names an enum field, each member's ``color`` overrides ``color``.
    ``dash_when`` is (field, value): features with that value are drawn dashed (closed
    roads, obstructed fire lanes, a reference extent). ``labels`` writes each feature's
    name on the map (township names). ``fill_opacity`` defaults high enough that risk
    red stays red, not pink.
    """

    kind: Literal["circle", "line", "fill"]
    color: str
    by: str | None = None
    radius: float = 6
    weight: float = 2
    fill_opacity: float = 0.85
    dash_when: tuple[str, Any] | None = None
    width_by: dict[str, float] | None = None
    cluster: bool = False
    labels: bool = False


@dataclass(frozen=True, eq=False)
class Layer:
    """A layer of the platform: what it holds, how it is stored, edited and drawn.

    A layer with no ``geometry_types`` is an attribute table (e.g. separation rules):
    same storage, validation, versions, audit and API, rows have ``geometry: null``,
    and it is not drawn. ``seed`` names a CSV under ``data/`` loaded into the table
    when the table is created, so reference data is data, never code.
    """

    name: str
    label: str
    group: str
    geometry_types: tuple[GeometryType, ...]
    fields: tuple[Field, ...]
    style: Style | None
    editors: frozenset[str]
    children: tuple[ChildTable, ...] = ()
    temporal: str = "updated_at"
    description: str = ""
    seed: str | None = None

    @property
    def is_spatial(self) -> bool:
        """False for attribute tables (rules, vehicle profiles): rows without geometry."""
        return bool(self.geometry_types)

    @property
    def storage_geometry(self) -> str:
        """Geometry type name of the storage column (``GEOMETRY`` when mixed)."""
        if not self.geometry_types:
            raise ValueError(f"{self.name} is an attribute table without geometry")
        if len(self.geometry_types) == 1:
            return self.geometry_types[0].upper()
        if set(self.geometry_types) <= {"Polygon", "MultiPolygon"}:
            return "MULTIPOLYGON"
        return "GEOMETRY"

    @property
    def field_names(self) -> tuple[str, ...]:
        """Names of all fields (common ones first)."""
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        """Return the field called ``name``; ``KeyError`` if there is none."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def has_field(self, name: str) -> bool:
        """Whether the layer has a field called ``name``."""
        return any(f.name == name for f in self.fields)

    def child(self, name: str) -> ChildTable:
        """Return the child table called ``name``."""
        for c in self.children:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def editable_fields(self) -> tuple[Field, ...]:
        """Fields a client may write (not computed, not managed by the store)."""
        return tuple(f for f in self.fields if not f.computed and f.name not in MANAGED_FIELDS)


#: Fields the store sets itself; clients read them but never write them.
MANAGED_FIELDS = frozenset({"id", "updated_at", "version", "county_code"})


def common_fields() -> tuple[Field, ...]:
    """The fields every layer carries (DESIGN.md, data model)."""
    return (
        Field("id", "int", "编号", computed=True, description="Stable identifier set by the store."),
        Field("name", "str", "名称", required=True, max_length=200),
        Field("township", "str", "所属乡镇", max_length=100),
        Field(
            "county_code",
            "str",
            "行政区划代码",
            computed=True,
            max_length=6,
            description="The county that owns the row (GB/T 2260, e.g. 654225 裕民县); set by the store.",
        ),
        Field(
            "source",
            "str",
            "数据来源",
            max_length=500,
            description="Where the record came from; demo records say 'synthetic' or cite their source.",
        ),
        Field("updated_at", "datetime", "更新时间", computed=True),
        Field(
            "version",
            "int",
            "版本",
            computed=True,
            description="Incremented on every write; a write must quote the version it edited.",
        ),
    )
