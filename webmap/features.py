"""Features of the store made compact for the page: paint index, popup text, rounded coordinates.

The page is one HTML file with every feature embedded, so the format is lean:
per layer the popup column labels, each column's distinct texts and a list of paint
styles; per feature ``[id, name, paint, geometry code, coordinates, values]`` where
values index the column texts. The texts are already written in Chinese (enum labels,
是/否, local times, child-table summaries) so the browser only escapes and lays them out.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from safemap.layers.catalogue import ChildTable, Field, Layer
from safemap.layers.labels import distance_text, duration_text, grade_label, source_text
from safemap.layers.model import Page
from safemap.layers.store import FeatureStore
from safemap.webmap.styles import Paint, member_colors, paint, style_of

#: Fields shown in the popup footer (small, grey) rather than the table.
META_FIELDS = ("source", "updated_at")
#: Not popup columns: the name is the popup's heading, the id travels with every feature
#: anyway, and the optimistic-locking counter means nothing to an official.
HIDDEN_FIELDS = frozenset({"version", "name", "id"})
PRECISION = 6
#: A layer with more features than this is not embedded in the page but drawn from
#: vector tiles (``/tiles/{layer}/{z}/{x}/{y}.mvt``): a county-wide roads or buildings
#: layer of 100,000 features would make a 20 MB page.
TILE_THRESHOLD = 20_000


@dataclass
class LayerData:
    """One layer ready for the page, plus the counts the legend needs."""

    layer: Layer
    columns: list[tuple[str, int]]
    paints: list[dict[str, Any]]
    features: list[list[Any]]
    #: Per column, the distinct texts; features hold indices into them. Demo roads
    #: repeat the same source note, township and time thousands of times.
    words: list[dict[str, int]] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)
    dashed: int = 0
    bounds: tuple[float, float, float, float] | None = None
    latest: dt.datetime | None = None
    #: Set for a layer drawn from vector tiles: its feature count and how tile
    #: properties pick a paint (``by`` field, ``dash`` field/value, key -> paint index).
    tiled: int | None = None
    tile_style: dict[str, Any] | None = None

    @property
    def size(self) -> int:
        """Number of features in the layer (embedded or tiled)."""
        return self.tiled if self.tiled is not None else len(self.features)

    def as_json(self) -> dict[str, Any]:
        """Return the layer's entry in the page's data block."""
        out = {
            "name": self.layer.name,
            "cols": self.columns,
            "words": [list(w) for w in self.words],
            "idLabel": self.layer.field("id").label if self.layer.has_field("id") else "",
            "paints": self.paints,
            "f": self.features,
        }
        if self.tiled is not None:
            out["tiles"] = f"tiles/{self.layer.name}/{{z}}/{{x}}/{{y}}.mvt"
            out["tileStyle"] = self.tile_style
        return out


def popup_fields(layer: Layer) -> list[Field | ChildTable]:
    """List what a popup shows: every field with a value, then child tables, then meta fields."""
    chosen: list[Field | ChildTable] = [
        f for f in layer.fields if f.name not in HIDDEN_FIELDS and f.name not in META_FIELDS
    ]
    chosen += list(layer.children)
    chosen += [layer.field(n) for n in META_FIELDS if layer.has_field(n)]
    return chosen


def drawn(layers: Sequence[Layer]) -> list[Layer]:
    """The layers the map draws: those with geometry and a style (not attribute tables)."""
    return [layer for layer in layers if layer.geometry_types and layer.style is not None]


def format_number(value: float) -> str:
    """``12.0`` -> ``12``, ``3.14159`` -> ``3.142``; no exponent for large values."""
    if not np.isfinite(value):
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _spoken_unit(f: Field) -> bool:
    """Durations (unit s) and route distances are written for people: ``9分24秒``, ``9.4 km``."""
    return f.type in ("float", "int") and (f.unit == "s" or (f.unit == "m" and "distance" in f.name))


def column_label(f: Field) -> str:
    """The popup column's label: with its unit, unless the value carries one (``预计到达用时``)."""
    return f.label if _spoken_unit(f) else f.display_label


def format_value(f: Field, value: Any, tz: ZoneInfo) -> str | None:
    """Write a stored value as the popup shows it; ``None`` when there is nothing to show.

    Parameters
    ----------
    f
        The catalogue field.
    value
        The stored value (enum code, bool, number, date, aware datetime, text).
    tz
        Zone local times are shown in (Asia/Shanghai by default).
    """
    if value is None or value == "":
        return None
    if f.enum is not None:
        return f.enum.label(str(value))
    if f.name == "source":
        return source_text(value) or None  # "synthetic: …" -> 合成演示数据：…
    if f.name == "grade" and isinstance(value, int) and not isinstance(value, bool):
        return grade_label(value)  # GB 18218 一级–四级, as everywhere
    if f.type == "bool":
        return "是" if value else "否"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=tz)
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if _spoken_unit(f) and isinstance(value, int | float):
        return duration_text(value) if f.unit == "s" else distance_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_number(value) or None
    return str(value)


def summarise(child: ChildTable, rows: Sequence[Mapping[str, Any]] | None) -> str | None:
    """``汽油 120 t；柴油 300 t`` from the child table's own ``summary`` (or its first field)."""
    if not rows:
        return None
    if child.summary is not None:
        parts = [child.summary(dict(r)) for r in rows]
    else:
        first = child.fields[0].name
        parts = [str(r.get(first)) for r in rows if r.get(first) is not None]
    return "；".join(p for p in parts if p) or None


def _ring(coords: Any) -> list[list[float]]:
    """Coordinates as ``[[lat, lon], …]`` rounded to 6 decimals (about 0.1 m)."""
    arr = np.asarray(coords, dtype=float)[:, [1, 0]]
    return np.round(arr, PRECISION).tolist()


def encode_geometry(geom: BaseGeometry) -> tuple[str, Any]:
    """Geometry as ``(code, Leaflet lat/lon arrays)``; code ``P`` point, ``L`` line, ``A`` area.

    Leaflet's ``polyline``/``polygon`` take nested arrays for multi-parts, so multi
    geometries stay one map feature with one popup.
    """
    kind = geom.geom_type
    if kind == "Point":
        return "P", [round(geom.y, PRECISION), round(geom.x, PRECISION)]
    if kind == "LineString":
        return "L", _ring(geom.coords)
    if kind == "MultiLineString":
        return "L", [_ring(part.coords) for part in geom.geoms]
    if kind == "Polygon":
        return "A", [_ring(geom.exterior.coords), *(_ring(r.coords) for r in geom.interiors)]
    if kind == "MultiPolygon":
        return "A", [[_ring(p.exterior.coords), *(_ring(r.coords) for r in p.interiors)] for p in geom.geoms]
    # MultiPoint or a collection: no catalogue layer has them; keep the feature clickable.
    point = geom.representative_point()
    return "P", [round(point.y, PRECISION), round(point.x, PRECISION)]


def encode_geometries(geoms: Sequence[BaseGeometry]) -> list[tuple[str, Any]]:
    """:func:`encode_geometry` for a whole layer, points and lines in one vectorised pass.

    Thousands of two-vertex road segments make per-geometry NumPy calls the slow part
    of rendering the page; areas (few, but with rings) go one by one.
    """
    arr = np.asarray(geoms, dtype=object)
    type_ids = shapely.get_type_id(arr)
    simple = (type_ids == 0) | (type_ids == 1)  # Point, LineString
    out: list[tuple[str, Any]] = [("", None)] * len(arr)
    if simple.any():
        coords = np.round(shapely.get_coordinates(arr[simple])[:, ::-1], PRECISION).tolist()
        counts = shapely.get_num_coordinates(arr[simple]).tolist()
        start = 0
        for i, kind, n in zip(np.flatnonzero(simple).tolist(), type_ids[simple].tolist(), counts, strict=True):
            out[i] = ("P", coords[start]) if kind == 0 else ("L", coords[start : start + n])
            start += n
    for i in np.flatnonzero(~simple).tolist():
        out[i] = encode_geometry(arr[i])
    return out


def _references(layer: Layer, names: Mapping[str, Mapping[int, str]]) -> dict[str, str]:
    """Field name -> layer whose ids it holds, for showing a name beside the id."""
    out = {f.name: f.references for f in layer.fields if f.references and f.references in names}
    return out


def build_layer(page: Page, tz: ZoneInfo, names: Mapping[str, Mapping[int, str]]) -> LayerData:
    """Turn one layer's query result into :class:`LayerData`.

    Parameters
    ----------
    page
        All features of the layer (with child rows).
    tz
        Zone for local times.
    names
        Layer -> id -> name of every loaded feature, to show ``所属企业`` by name.
    """
    layer = page.layer
    shown = popup_fields(layer)
    columns = [(column_label(item) if isinstance(item, Field) else item.label, int(_is_meta(item))) for item in shown]
    refs = _references(layer, names)
    site_pair = layer.has_field("site_layer") and layer.has_field("site_id")
    colors = member_colors(layer)
    paints: dict[Paint, int] = {}
    by = style_of(layer).by
    if by:
        # Seed in enum order so paint indices follow the catalogue (red before orange …);
        # the page orders cluster pies by paint index.
        for code in colors:
            paints.setdefault(paint(layer, {by: code}, colors), len(paints))
    data = LayerData(layer, columns, [], [], words=[{} for _ in shown])
    keep = [
        (row, geom)
        for row, geom in zip(page.rows, page.geometries, strict=True)
        if geom is not None and not geom.is_empty
    ]
    encoded = encode_geometries([geom for _, geom in keep])
    # The same value (a road class, a township, the demo's one update time) recurs
    # thousands of times: format each distinct one once per column.
    memo: list[dict[Any, str | None]] = [{} for _ in shown]
    for (row, _geom), (code, coords) in zip(keep, encoded, strict=True):
        p = paint(layer, row, colors)
        idx = paints.setdefault(p, len(paints))
        if by and row.get(by) is not None:
            data.codes[str(row[by])] += 1
        data.dashed += p.dashed
        values: list[int | None] = []
        for item, words, seen in zip(shown, data.words, memo, strict=True):
            if isinstance(item, ChildTable):
                text = summarise(item, row.get(item.name))
            else:
                raw = row.get(item.name)
                if raw in seen:
                    text = seen[raw]
                else:
                    text = seen[raw] = format_value(item, raw, tz)
                target = refs.get(item.name)
                if site_pair and item.name == "site_id":
                    target = row.get("site_layer")
                if text is not None and target:
                    ref_name = names.get(target, {}).get(row[item.name])
                    # Number first: the label says 编号, and names often end in （…） already.
                    text = f"{text} · {ref_name}" if ref_name else text
            values.append(None if text is None else words.setdefault(text, len(words)))
        while values and values[-1] is None:
            values.pop()
        data.features.append([row["id"], row.get("name") or "", idx, code, coords, values])
        stamp = row.get("updated_at")
        if isinstance(stamp, dt.datetime) and (data.latest is None or stamp > data.latest):
            data.latest = stamp
    data.paints = [p.as_json() for p in paints]
    if len(page.geometries):
        valid = [g for g in page.geometries if g is not None and not g.is_empty]
        if valid:
            b = shapely.total_bounds(np.asarray(valid, dtype=object))
            data.bounds = (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
    return data


def _is_meta(item: Field | ChildTable) -> bool:
    return isinstance(item, Field) and item.name in META_FIELDS


def build_tiled_layer(store: FeatureStore, layer: Layer, count: int) -> LayerData:
    """Page data of a layer drawn from vector tiles: paints and legend counts, no features.

    Tiles carry the ``by`` and ``dash_when`` fields (:func:`layers.tiles.tile_properties`),
    from which the page picks the same paint an embedded feature would get.
    """
    style = style_of(layer)
    colors = member_colors(layer)
    codes: list[str | None] = list(colors) or [None]
    dash_values = [False, True] if style.dash_when else [False]
    paints: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for code in codes:
        for dashed in dash_values:
            props: dict[str, Any] = {style.by: code} if style.by and code is not None else {}
            if dashed and style.dash_when:
                props[style.dash_when[0]] = style.dash_when[1]
            index[f"{code or ''}|{int(dashed)}"] = len(paints)
            paints.append(paint(layer, props, colors).as_json())
    fallback = len(paints)
    paints.append(paint(layer, {}, colors).as_json())
    data = LayerData(layer, [], paints, [], tiled=count)
    data.tile_style = {
        "by": style.by,
        "dash": list(style.dash_when) if style.dash_when else None,
        "index": index,
        "fallback": fallback,
    }
    if style.by:
        data.codes = Counter({str(k): v for k, v in store.value_counts(layer.name, style.by).items() if k is not None})
    if style.dash_when:
        data.dashed = store.value_counts(layer.name, style.dash_when[0]).get(style.dash_when[1], 0)
    data.bounds, period = store.layer_extent(layer.name)
    if period is not None and layer.temporal == "updated_at":
        data.latest = period[1]
    return data


def load_layers(
    store: FeatureStore, layers: Sequence[Layer], *, tile_threshold: int = TILE_THRESHOLD
) -> list[LayerData]:
    """Build every layer's page data (catalogue order kept): embedded, or tiled when large."""
    counts = store.counts()
    embedded = [layer for layer in layers if counts[layer.name] <= tile_threshold]
    pages = {layer.name: store.query(layer.name, limit=None, count=False) for layer in embedded}
    names = {name: {r["id"]: r.get("name") or "" for r in page.rows} for name, page in pages.items()}
    return [
        build_layer(pages[layer.name], store.tz, names)
        if layer.name in pages
        else build_tiled_layer(store, layer, counts[layer.name])
        for layer in layers
    ]


def popup_html(layer: Layer, feature: Mapping[str, Any], tz: ZoneInfo) -> str:
    """The popup of one feature as HTML, as the page draws it (for features from tiles)."""
    from html import escape

    row = feature["properties"]
    colors = member_colors(layer)
    color = paint(layer, row, colors).color
    rows, meta = [], [f"{escape(layer.field('id').label)} {row['id']}"]
    for item in popup_fields(layer):
        if isinstance(item, ChildTable):
            text, label, is_meta = summarise(item, row.get(item.name)), item.label, False
        else:
            text, label, is_meta = format_value(item, row.get(item.name), tz), column_label(item), _is_meta(item)
        if not text:
            continue
        if is_meta:
            meta.append(f"{escape(label)} {escape(text)}")
        else:
            rows.append(f"<tr><th>{escape(label)}</th><td>{escape(text)}</td></tr>")
    table = f'<table class="sm-popup-table">{"".join(rows)}</table>' if rows else ""
    return (
        '<div class="sm-popup">'
        f'<div class="sm-popup-layer"><i class="sm-sw sm-sw-pt" style="background:{escape(color)}"></i>'
        f"{escape(layer.label)}</div>"
        f'<div class="sm-popup-name">{escape(str(row.get("name") or ""))}</div>'
        f'{table}<div class="sm-popup-meta">{" · ".join(meta)}</div></div>'
    )
