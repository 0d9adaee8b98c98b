"""QGIS styles from the catalogue: QML (renderer, Chinese aliases, value maps) and SLD.

QGIS 3.22 takes a GeoPackage layer's default style from the ``layer_styles`` table
(:mod:`layers.geopackage` writes one row per table) and embeds the same XML in a
project (:mod:`layers.qgis_project`). Everything comes from :class:`layers.catalogue.Style`
and the enum members of its ``by`` field, like the web map's paint: one colour per
member (红橙黄蓝 risk levels, road classes, team kinds …), line widths (``weight``,
``width_by``), dashed features (``dash_when``: closed roads, obstructed fire lanes)
and circle markers of ``radius`` pixels.

GDAL 3.6 (the one QGIS 3.22 runs on Debian) reads no field alias from a GeoPackage
(``gpkg_data_columns.name`` is read from GDAL 3.7 on), so the Chinese labels QGIS 3.22
shows come from the ``<aliases>`` of this QML.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from safemap.layers.catalogue import Field, Layer, Style

QGIS_VERSION = "3.22.16-Białowieża"
#: What the QML of a store style carries (QGIS's ``styleCategories``).
STYLE_CATEGORIES = "Symbology|Labeling|Fields|Forms"
#: QGIS's name for the geometry families: the suffix of ``…|geometrytype=`` and ``geometry_type()``.
FAMILY_OF = {
    "Point": "Point",
    "MultiPoint": "Point",
    "LineString": "Line",
    "MultiLineString": "Line",
    "Polygon": "Polygon",
    "MultiPolygon": "Polygon",
}
_SYMBOL_TYPE = {"Point": "marker", "Line": "line", "Polygon": "fill"}
#: ``<layerGeometryType>`` of a QML: QGIS refuses a symbology written for another geometry type.
LAYER_GEOMETRY_TYPE = {"Point": 0, "Line": 1, "Polygon": 2}


@dataclass(frozen=True)
class Category:
    """One legend entry: which features (a QGIS expression) and how they are drawn."""

    value: Any
    label: str
    color: str
    weight: float
    dashed: bool
    filter: str
    #: The field ``value`` is a value of (``None``: every feature).
    field: str | None = None


def families(layer: Layer) -> tuple[str, ...]:
    """QGIS geometry families of ``layer`` (``Point``, ``Line``, ``Polygon``) in catalogue order."""
    return tuple(dict.fromkeys(FAMILY_OF[g] for g in layer.geometry_types))


def _quote(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _equals(field: str, value: Any) -> str:
    if isinstance(value, bool):
        return f'"{field}"' if value else f'NOT coalesce("{field}", false)'
    return f'"{field}" = {_quote(value)}'


def _not_equals(field: str, value: Any) -> str:
    if isinstance(value, bool):
        return f'NOT coalesce("{field}", false)' if value else f'coalesce("{field}", false)'
    return f'("{field}" IS NULL OR "{field}" <> {_quote(value)})'


def _by_field(layer: Layer, style: Style) -> Field | None:
    if style.by is None or not layer.has_field(style.by):
        return None
    f = layer.field(style.by)
    return f if f.enum is not None else None


def dash_color(layer: Layer, style: Style) -> str | None:
    """The catalogue colour of ``style``'s dashed state (road_status 封闭 is red), if it has one.

    One rule for closed roads everywhere: the map (:mod:`safemap.webmap.styles`) and QGIS.
    """
    if style.dash_when is None or not layer.has_field(style.dash_when[0]):
        return None
    f = layer.field(style.dash_when[0])
    if f.enum is None:
        return None
    return next((m.color for m in f.enum.members if m.code == style.dash_when[1] and m.color), None)


def categories(layer: Layer) -> list[Category]:
    """The legend of ``layer``: one entry per member of its ``by`` enum, plus the dashed state.

    When the dashed state is a member of the ``by`` field (a reserve extent, a released
    dispatch) that member is drawn dashed; otherwise (closed roads, obstructed fire lanes)
    the dashed features come first and the members' filters leave them out.
    """
    style = layer.style
    if style is None:
        return []
    by = _by_field(layer, style)
    dash = style.dash_when
    out: list[Category] = []
    separate_dash = dash is not None and (by is None or by.name != dash[0])
    if dash is not None and separate_dash:
        dash_field = layer.field(dash[0]) if layer.has_field(dash[0]) else None
        label = dash_field.label if dash_field is not None else dash[0]
        if dash_field is not None and dash_field.enum is not None:
            label = dash_field.enum.label(str(dash[1])) or label
        out.append(
            Category(
                dash[1],
                label,
                dash_color(layer, style) or style.color,
                style.weight,
                True,
                _equals(*dash),
                dash[0],
            )
        )
    keep = f" AND {_not_equals(*dash)}" if dash is not None and separate_dash else ""
    if by is None or by.enum is None:
        out.append(Category(None, layer.label, style.color, style.weight, False, (keep[5:] or "TRUE")))
        return out
    for m in by.enum.members:
        weight = (style.width_by or {}).get(m.code, style.weight)
        dashed = dash is not None and not separate_dash and dash[1] == m.code
        out.append(
            Category(m.code, m.label, m.color or style.color, weight, dashed, _equals(by.name, m.code) + keep, by.name)
        )
    return out


# ---------------------------------------------------------------------------- symbols


def qgis_color(color: str, alpha: float = 1.0) -> str:
    """``#rrggbb`` (or ``#rgb``) as QGIS's ``r,g,b,a``."""
    m = re.fullmatch(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})", color.strip())
    if m is None:
        raise ValueError(f"not a #rrggbb colour: {color}")
    digits = m.group(1)
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    r, g, b = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(max(0.0, min(alpha, 1.0)) * 255)}"


def _props(parent: ET.Element, props: dict[str, str]) -> None:
    # ``<prop k v>``: the form every QGIS 3 reads (3.22 writes it beside ``<Option>``).
    for k, v in props.items():
        ET.SubElement(parent, "prop", k=k, v=v)


def symbol_element(style: Style, family: str, cat: Category, name: str) -> ET.Element:
    """A QGIS ``<symbol>`` drawing ``cat`` on geometries of ``family`` in the manner of ``style``."""
    kind = _SYMBOL_TYPE[family]
    sym = ET.Element("symbol", type=kind, name=name, alpha="1", clip_to_extent="1", force_rhr="0")
    dash = "dash" if cat.dashed else "solid"
    width = f"{cat.weight:g}"
    if kind == "marker":
        layer = ET.SubElement(sym, "layer", {"class": "SimpleMarker", "enabled": "1", "locked": "0", "pass": "0"})
        _props(
            layer,
            {
                "name": "circle",
                "color": qgis_color(cat.color, style.fill_opacity),
                "outline_color": qgis_color("#ffffff"),
                "outline_style": "solid",
                "outline_width": "1",
                "outline_width_unit": "Pixel",
                "size": f"{2 * style.radius:g}",
                "size_unit": "Pixel",
                "scale_method": "diameter",
                "angle": "0",
                "joinstyle": "bevel",
            },
        )
    elif kind == "line":
        layer = ET.SubElement(sym, "layer", {"class": "SimpleLine", "enabled": "1", "locked": "0", "pass": "0"})
        _props(
            layer,
            {
                "line_color": qgis_color(cat.color),
                "line_width": width,
                "line_width_unit": "Pixel",
                "line_style": dash,
                "capstyle": "round",
                "joinstyle": "round",
                "offset": "0",
            },
        )
    else:
        layer = ET.SubElement(sym, "layer", {"class": "SimpleFill", "enabled": "1", "locked": "0", "pass": "0"})
        # A "line" style on areas (the county outline) is an outline without fill.
        filled = style.kind != "line"
        _props(
            layer,
            {
                "color": qgis_color(cat.color, style.fill_opacity if filled else 0),
                "style": "solid" if filled else "no",
                "outline_color": qgis_color(cat.color),
                "outline_style": dash,
                "outline_width": width,
                "outline_width_unit": "Pixel",
                "joinstyle": "round",
            },
        )
    return sym


# ---------------------------------------------------------------------------- renderer


def renderer_element(layer: Layer, family: str | None = None) -> ET.Element:
    """The ``<renderer-v2>`` of ``layer`` (drawing only ``family`` when given).

    Categorized by the ``by`` enum (``categorizedSymbol``) when every category is a plain
    value of one field and the layer has one geometry family; rule-based otherwise
    (dashed features of another field, or points and areas in one table: a rule per
    ``geometry_type()`` with the categories under it).
    """
    style = layer.style
    if style is None or not layer.is_spatial:
        raise ValueError(f"{layer.name} is not drawn (no style)")
    cats = categories(layer)
    fams = (family,) if family else families(layer)
    by = _by_field(layer, style)
    simple = len(fams) == 1 and by is not None and all(c.value is not None for c in cats)
    simple = simple and (style.dash_when is None or style.dash_when[0] == style.by)
    if simple and by is not None:
        r = ET.Element(
            "renderer-v2",
            type="categorizedSymbol",
            attr=by.name,
            symbollevels="0",
            enableorderby="0",
            forceraster="0",
            referencescale="-1",
        )
        cats_el = ET.SubElement(r, "categories")
        symbols = ET.SubElement(r, "symbols")
        for i, c in enumerate(cats):
            ET.SubElement(cats_el, "category", render="true", symbol=str(i), value=str(c.value), label=c.label)
            symbols.append(symbol_element(style, fams[0], c, str(i)))
        source = ET.SubElement(r, "source-symbol")
        source.append(symbol_element(style, fams[0], Category(None, "", style.color, style.weight, False, ""), "0"))
        ET.SubElement(r, "rotation")
        ET.SubElement(r, "sizescale")
        return r
    r = ET.Element(
        "renderer-v2", type="RuleRenderer", symbollevels="0", enableorderby="0", forceraster="0", referencescale="-1"
    )
    root = ET.SubElement(r, "rules", key=f"{{{layer.name}-root}}")
    symbols = ET.SubElement(r, "symbols")
    n = 0
    for fam in fams:
        parent = root
        if len(fams) > 1:
            parent = ET.SubElement(
                root,
                "rule",
                key=f"{{{layer.name}-{fam}}}",
                label=f"{layer.label}（{FAMILY_LABEL[fam]}）",
                filter=f"geometry_type($geometry) = '{fam}'",
            )
        for c in cats:
            ET.SubElement(parent, "rule", key=f"{{{layer.name}-{n}}}", symbol=str(n), label=c.label, filter=c.filter)
            symbols.append(symbol_element(style, fam, c, str(n)))
            n += 1
    return r


FAMILY_LABEL = {"Point": "点", "Line": "线", "Polygon": "面"}


def labeling_element(layer: Layer) -> ET.Element | None:
    """Simple labels of each feature's name (``Style.labels``: township names), else ``None``."""
    if layer.style is None or not layer.style.labels:
        return None
    lab = ET.Element("labeling", type="simple")
    settings = ET.SubElement(lab, "settings", calloutType="simple")
    ET.SubElement(
        settings,
        "text-style",
        fieldName="name",
        isExpression="0",
        fontSize="10",
        fontSizeUnit="Point",
        textColor=qgis_color("#4e342e"),
        fontFamily="Noto Sans CJK SC",
        namedStyle="Regular",
        textOpacity="1",
    )
    ET.SubElement(
        settings, "text-buffer", bufferDraw="1", bufferSize="1", bufferSizeUnits="MM", bufferColor=qgis_color("#ffffff")
    )
    ET.SubElement(settings, "placement", placement="1" if FAMILY_OF[layer.geometry_types[0]] == "Polygon" else "0")
    ET.SubElement(settings, "rendering", obstacle="1", scaleVisibility="0")
    return lab


def field_elements(fields: tuple[Field, ...]) -> tuple[ET.Element, ET.Element]:
    """``<fieldConfiguration>`` (enum codes shown as their Chinese labels) and ``<aliases>``."""
    conf = ET.Element("fieldConfiguration")
    aliases = ET.Element("aliases")
    for i, f in enumerate(fields):
        ET.SubElement(aliases, "alias", field=f.name, index=str(i), name=f.display_label)
        if f.enum is None:
            continue
        fe = ET.SubElement(conf, "field", name=f.name, configurationFlags="None")
        widget = ET.SubElement(fe, "editWidget", type="ValueMap")
        opt = ET.SubElement(ET.SubElement(widget, "config"), "Option", type="Map")
        mapping = ET.SubElement(opt, "Option", name="map", type="List")
        for m in f.enum.members:
            ET.SubElement(
                ET.SubElement(mapping, "Option", type="Map"), "Option", name=m.label, type="QString", value=m.code
            )
    return conf, aliases


def layer_elements(layer: Layer | None, fields: tuple[Field, ...], family: str | None = None) -> list[ET.Element]:
    """What a QML or a project's ``<maplayer>`` holds for a table: renderer, labels, fields, aliases."""
    out: list[ET.Element] = []
    if layer is not None and layer.is_spatial and layer.style is not None:
        out.append(renderer_element(layer, family))
        lab = labeling_element(layer)
        if lab is not None:
            out.append(lab)
    out.extend(field_elements(fields))
    return out


def qml(layer: Layer | None, fields: tuple[Field, ...] | None = None, family: str | None = None) -> str:
    """The QML document of a table: ``layer``'s style and the Chinese aliases of ``fields``.

    ``layer`` ``None`` (a child table) gives aliases and value maps only.
    """
    fields = fields if fields is not None else (layer.fields if layer is not None else ())
    doc = ET.Element("qgis", version=QGIS_VERSION, styleCategories=STYLE_CATEGORIES)
    for el in layer_elements(layer, fields, family):
        doc.append(el)
    if layer is not None and layer.is_spatial:
        fams = (family,) if family else families(layer)
        if len(fams) == 1:
            ET.SubElement(doc, "layerGeometryType").text = str(LAYER_GEOMETRY_TYPE[fams[0]])
    ET.indent(doc)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(doc, encoding="unicode")


# ---------------------------------------------------------------------------- SLD

_SLD = "http://www.opengis.net/sld"
_SE = "http://www.opengis.net/se"
_OGC = "http://www.opengis.net/ogc"


def sld(layer: Layer) -> str:
    """An SLD 1.1 of ``layer``'s style (for clients other than QGIS); empty for unstyled tables."""
    if layer.style is None or not layer.is_spatial:
        return ""
    ET.register_namespace("sld", _SLD)
    ET.register_namespace("se", _SE)
    ET.register_namespace("ogc", _OGC)
    style = layer.style
    root = ET.Element(f"{{{_SLD}}}StyledLayerDescriptor", version="1.1.0")
    named = ET.SubElement(root, f"{{{_SLD}}}NamedLayer")
    ET.SubElement(named, f"{{{_SE}}}Name").text = layer.name
    fts = ET.SubElement(ET.SubElement(named, f"{{{_SLD}}}UserStyle"), f"{{{_SE}}}FeatureTypeStyle")
    cats = categories(layer)
    for c in cats:
        rule = ET.SubElement(fts, f"{{{_SE}}}Rule")
        ET.SubElement(rule, f"{{{_SE}}}Name").text = c.label
        ET.SubElement(ET.SubElement(rule, f"{{{_SE}}}Description"), f"{{{_SE}}}Title").text = c.label
        if c.field is not None and c.value is not None:
            eq = ET.SubElement(ET.SubElement(rule, f"{{{_OGC}}}Filter"), f"{{{_OGC}}}PropertyIsEqualTo")
            ET.SubElement(eq, f"{{{_OGC}}}PropertyName").text = c.field
            ET.SubElement(eq, f"{{{_OGC}}}Literal").text = str(int(c.value) if isinstance(c.value, bool) else c.value)
        elif c.field is None and any(other.dashed for other in cats):
            ET.SubElement(rule, f"{{{_SE}}}ElseFilter")
        for fam in families(layer):
            _sld_symbolizer(rule, style, fam, c)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def _css(parent: ET.Element, tag: str, params: dict[str, str]) -> None:
    el = ET.SubElement(parent, f"{{{_SE}}}{tag}")
    for k, v in params.items():
        ET.SubElement(el, f"{{{_SE}}}SvgParameter", name=k).text = v


def _sld_symbolizer(rule: ET.Element, style: Style, family: str, c: Category) -> None:
    stroke = {"stroke": c.color, "stroke-width": f"{c.weight:g}"}
    if c.dashed:
        stroke["stroke-dasharray"] = "6 3"
    if family == "Point":
        graphic = ET.SubElement(ET.SubElement(rule, f"{{{_SE}}}PointSymbolizer"), f"{{{_SE}}}Graphic")
        mark = ET.SubElement(graphic, f"{{{_SE}}}Mark")
        ET.SubElement(mark, f"{{{_SE}}}WellKnownName").text = "circle"
        _css(mark, "Fill", {"fill": c.color, "fill-opacity": f"{style.fill_opacity:g}"})
        _css(mark, "Stroke", {"stroke": "#ffffff", "stroke-width": "1"})
        ET.SubElement(graphic, f"{{{_SE}}}Size").text = f"{2 * style.radius:g}"
    elif family == "Line":
        _css(ET.SubElement(rule, f"{{{_SE}}}LineSymbolizer"), "Stroke", stroke)
    else:
        sym = ET.SubElement(rule, f"{{{_SE}}}PolygonSymbolizer")
        if style.kind != "line":
            _css(sym, "Fill", {"fill": c.color, "fill-opacity": f"{style.fill_opacity:g}"})
        _css(sym, "Stroke", stroke)
