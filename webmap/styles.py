"""Catalogue styles turned into what the page draws: per-feature paint and the legend.

Every colour, width and label comes from the catalogue (:class:`layers.catalogue.Style`
and the enum members of its ``by`` field); this module only decides how to show them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from safemap.layers import qgis_styles
from safemap.layers.catalogue import Field, Layer, Style


@dataclass(frozen=True)
class Paint:
    """How one feature is painted: colour, line width and whether it is dashed."""

    color: str
    weight: float
    dashed: bool
    #: The colour the feature has when not in its dashed state (a closed road is red
    #: dashed; reopened, it is drawn in its road class's colour again).
    base: str | None = None

    def as_json(self) -> dict[str, Any]:
        """Compact form sent to the page (``c``, ``w``; ``d`` only when dashed, ``b`` its undashed colour)."""
        out: dict[str, Any] = {"c": self.color, "w": self.weight}
        if self.dashed:
            out["d"] = 1
        if self.base and self.base != self.color:
            out["b"] = self.base
        return out


def style_of(layer: Layer) -> Style:
    """Return the layer's style; attribute tables (no style) are never drawn."""
    if layer.style is None:
        raise ValueError(f"{layer.name} has no map style (an attribute table)")
    return layer.style


def by_field(layer: Layer) -> Field | None:
    """Return the enum field a layer's colours follow, or ``None`` for a single colour."""
    style = style_of(layer)
    if style.by is None or not layer.has_field(style.by):
        return None
    f = layer.field(style.by)
    return f if f.enum is not None else None


def member_colors(layer: Layer) -> dict[str, str]:
    """Enum code -> colour for the layer's ``by`` field (members without a colour left out)."""
    f = by_field(layer)
    if f is None or f.enum is None:
        return {}
    return {m.code: m.color for m in f.enum.members if m.color}


def dash_color(layer: Layer) -> str | None:
    """The catalogue colour of the dashed state (road_status 封闭 is red), if it has one.

    One rule for closed roads everywhere: drawn at load, on closure and in the legend in
    this colour, dashed; the page removes it again on reopening.
    """
    return qgis_styles.dash_color(layer, style_of(layer))


def _dash_matches(style: Style, props: Mapping[str, Any]) -> bool:
    if style.dash_when is None:
        return False
    name, value = style.dash_when
    return props.get(name) == value


def paint(layer: Layer, props: Mapping[str, Any], colors: Mapping[str, str]) -> Paint:
    """Paint of one feature from its raw (code) properties.

    Parameters
    ----------
    layer
        The feature's layer.
    props
        Stored properties (enum codes, not labels).
    colors
        :func:`member_colors` of the layer (passed in so it is computed once per layer).
    """
    style = style_of(layer)
    code = props.get(style.by) if style.by else None
    color = colors.get(code, style.color) if code is not None else style.color
    weight = style.weight
    if style.width_by and code in style.width_by:
        weight = style.width_by[code]
    dashed = _dash_matches(style, props)
    special = dash_color(layer) if dashed else None
    if special:
        return Paint(special, weight, True, base=color)
    return Paint(color, weight, dashed)


def _swatch(kind: str, color: str, weight: float, *, dashed: bool = False, opacity: float = 0.6) -> str:
    """Draw a small legend symbol in the style of ``kind`` (circle, line or fill)."""
    c = escape(color)
    if kind == "circle":
        return f'<i class="sm-sw sm-sw-pt" style="background:{c}"></i>'
    if kind == "line":
        border = "dashed" if dashed else "solid"
        px = max(1.5, min(weight, 6))
        return f'<i class="sm-sw sm-sw-ln" style="border-top:{px:g}px {border} {c}"></i>'
    # A near-transparent fill (townships: 0.04) would be invisible in the legend.
    alpha = min(max(opacity, 0.25), 0.7)
    return f'<i class="sm-sw sm-sw-ar" style="border-color:{c};background:{rgba(color, alpha)}"></i>'


def rgba(color: str, alpha: float) -> str:
    """``#rrggbb`` (or ``#rgb``) with an opacity, as ``rgba(...)``; other colours unchanged.

    Written out because ``color-mix()`` is missing from the older Chromium cores
    (e.g. 360 browser) still common on government PCs.
    """
    m = re.fullmatch(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})", color.strip())
    if m is None:
        return color
    digits = m.group(1)
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    r, g, b = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:.2f})"


def layer_swatch(layer: Layer, present: Iterable[str] = ()) -> str:
    """Symbol for the layer as a whole (layer control, legend and popup headings).

    Layers coloured by an enum get a small pie of the member colours in use, the same
    look as their cluster icons.
    """
    style = style_of(layer)
    colors = member_colors(layer)
    used = [colors[c] for c in dict.fromkeys(present) if c in colors] or list(colors.values())
    if len(used) > 1:
        step = 100 / len(used)
        stops = ", ".join(f"{escape(col)} {i * step:.1f}% {(i + 1) * step:.1f}%" for i, col in enumerate(used))
        if style.kind == "line":  # a short line striped in the class colours
            return f'<i class="sm-sw sm-sw-bar" style="background:linear-gradient(90deg, {stops})"></i>'
        shape = "sm-sw-pt" if style.kind == "circle" else "sm-sw-sq"
        return f'<i class="sm-sw {shape}" style="background:conic-gradient({stops})"></i>'
    color = used[0] if used else style.color
    weight = max(style.width_by.values()) if style.width_by else style.weight
    return _swatch(style.kind, color, weight, opacity=style.fill_opacity)


def _dash_note(layer: Layer) -> str | None:
    """``虚线：通行状态为封闭`` from ``Style.dash_when`` and the field's labels."""
    dash_when = style_of(layer).dash_when
    if dash_when is None:
        return None
    name, value = dash_when
    if not layer.has_field(name):
        return None
    f = layer.field(name)
    if f.enum is not None:
        shown = f.enum.label(value)
        return f"虚线：{f.label}为“{shown}”"
    if f.type == "bool":
        return f"虚线：{f.label}" if value is True else f"虚线：非{f.label}"
    return f"虚线：{f.label}为 {value}"


def legend_entry(layer: Layer, codes: Counter[str], dashed: int, total: int) -> str:
    """HTML of one layer's block in the legend.

    Parameters
    ----------
    layer
        The layer.
    codes
        How many features carry each code of the ``by`` field.
    dashed
        How many features are drawn dashed.
    total
        Features in the layer.
    """
    style = style_of(layer)
    f = by_field(layer)
    head = (
        f'<div class="sm-lg-head">{layer_swatch(layer, codes)}'
        f'<span class="sm-lg-name">{escape(layer.label)}</span>'
        f'<span class="sm-lg-n">{total}</span></div>'
    )
    items: list[str] = []
    if f is not None and f.enum is not None:
        colors = member_colors(layer)
        for m in f.enum.members:
            if not codes.get(m.code):
                continue
            weight = style.width_by.get(m.code, style.weight) if style.width_by else style.weight
            sw = _swatch(style.kind, colors.get(m.code, style.color), weight, opacity=style.fill_opacity)
            n = f"<span class='sm-lg-n'>{codes[m.code]}</span>"
            items.append(f"<li>{sw}<span>{escape(m.label)}</span>{n}</li>")
    note = _dash_note(layer)
    if note and dashed:
        sw = _swatch("line", dash_color(layer) or "#555", 2, dashed=True)
        items.append(f"<li>{sw}<span>{escape(note)}</span><span class='sm-lg-n'>{dashed}</span></li>")
    by_note = f'<div class="sm-lg-by">按{escape(f.label)}</div>' if f is not None and items else ""
    body = f"{by_note}<ul>{''.join(items)}</ul>" if items else ""
    empty = " sm-empty" if total == 0 else ""
    return f'<div class="sm-lg-layer{empty}" data-layer="{escape(layer.name)}">{head}{body}</div>'
