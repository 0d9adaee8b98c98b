"""The interactive map page: every catalogue layer of the store on one offline Leaflet map.

:func:`render_map` builds the page with folium and returns complete HTML. Every
script, style sheet and image it references is served by the app under
``static_prefix`` (see :mod:`webmap.assets`); the only other URLs are the configured
basemap's tiles, so with ``basemap="none"`` the page makes no request off the server.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Literal

import folium
from folium.plugins import Fullscreen, MarkerCluster, TreeLayerControl

from safemap.layers import enums
from safemap.layers.catalogue import ROLE_LABELS, EnumType, Layer
from safemap.layers.definitions import GROUPS
from safemap.layers.store import FeatureStore
from safemap.webmap.assets import PAGE_SCRIPTS, own_url, vendor_url
from safemap.webmap.basemaps import Basemap, configured_basemaps, resolve_basemap, tile_template
from safemap.webmap.elements import (
    LoadCheck,
    Measure,
    PageChrome,
    PageFigure,
    SafeMapData,
    SafeMapSetup,
    use_assets,
)
from safemap.webmap.features import TILE_THRESHOLD, LayerData, drawn, load_layers
from safemap.webmap.panels import COMMON_SCRIPT, PANELS
from safemap.webmap.styles import layer_swatch, legend_entry, style_of

log = logging.getLogger(__name__)

BasemapName = Literal["osm", "tianditu", "tianditu_vec", "tianditu_img", "custom", "none"]
#: Every basemap a deployment may list in ``basemaps`` (``tianditu`` is ``tianditu_vec``).
BASEMAP_NAMES: tuple[str, ...] = ("osm", "tianditu", "tianditu_vec", "tianditu_img", "custom", "none")
BBox = tuple[float, float, float, float]
#: Re-exported: callers and tests reach the basemap helpers through the page.
__all__ = ["Basemap", "MapOptions", "configured_basemaps", "render_map", "resolve_basemap", "tile_template"]


#: Deep enough to read fire lanes inside a compound; tiles are enlarged past their own maximum.
MAX_ZOOM = 20


@dataclass(frozen=True)
class MapOptions:
    """What a deployment chooses about the map page.

    Parameters
    ----------
    title
        Shown in the title bar and the browser tab.
    basemap
        ``osm``, ``tianditu``/``tianditu_vec`` (天地图矢量, needs ``tianditu_key``),
        ``tianditu_img`` (天地图影像), ``custom`` (``basemap_url``, e.g. an intranet tile
        server) or ``none`` (vector layers on a plain background).
    basemaps
        Several of those for the switcher (comma-separated text or a sequence), the first
        shown at start; ``None``: ``basemap`` and a blank alternative (the one-setting form).
    tianditu_key
        天地图 key (``tk``).
    basemap_url
        XYZ template for ``custom``, e.g. ``http://10.1.2.3/tiles/{z}/{x}/{y}.png``, or a
        WMTS KVP template (``…&TILEMATRIX={TileMatrix}&TILEROW={TileRow}&TILECOL={TileCol}``).
    basemap_attribution
        Credit of the ``custom`` basemap.
    data_attribution
        Credit of the data, shown beside the basemap credit (the app passes
        ``Settings.data_attribution``; none by default).
    map_unit
        制图单位 printed on the map (``Settings.map_unit``).
    timezone
        Zone of the date printed on the map (``Settings.timezone``).
    extent
        Service area (min lon, min lat, max lon, max lat): the map opens on the data
        inside it, or on the whole extent while there is no data.
    static_prefix
        Where the app serves :data:`webmap.assets.STATIC_DIR`.
    map_tile_threshold
        Layers with more features are drawn from vector tiles instead of being embedded.
    api_base
        Where the browser reaches the app (API, popups, tiles, events): empty for the
        directory the page is served from, which works behind any path prefix; or a URL
        path such as ``/safemap/`` when the page is served elsewhere.
    """

    title: str = "安全生产风险与应急资源一张图"
    basemap: BasemapName = "osm"
    basemaps: str | Sequence[str] | None = None
    tianditu_key: str | None = None
    basemap_url: str | None = None
    basemap_attribution: str = ""
    data_attribution: str = ""
    map_unit: str = ""
    timezone: str = "Asia/Shanghai"
    extent: BBox | None = None
    static_prefix: str = "/static"
    map_tile_threshold: int = TILE_THRESHOLD
    api_base: str = ""

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> MapOptions:
        """Read options from an object with the attribute names of ``api.settings.Settings``.

        Duck-typed so :mod:`webmap` does not import :mod:`api` (imports flow api -> webmap).
        """
        values: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            if hasattr(settings, name):
                values[name] = getattr(settings, name)
        if values.get("extent") is not None:
            values["extent"] = tuple(values["extent"])
        values.update(overrides)
        return cls(**values)


def _bounds(options: MapOptions, data: Sequence[LayerData]) -> BBox | None:
    """Where the map opens: the data's bounds within the extent (the extent when empty).

    The configured extent is the service area with a margin for border roads (Yumin:
    ~10 km); opening on it shows the county a zoom level too small on a 768-pixel
    screen, while the data's own bounds fill the window.
    """
    boxes = [d.bounds for d in data if d.bounds is not None]
    if not boxes:
        return options.extent
    box = (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
    if options.extent is None:
        return box
    e = options.extent
    clipped = (max(box[0], e[0]), max(box[1], e[1]), min(box[2], e[2]), min(box[3], e[3]))
    return clipped if clipped[0] < clipped[2] and clipped[1] < clipped[3] else e


def _add_basemaps(m: folium.Map, entries: Sequence[tuple[str, Basemap | None]]) -> list[tuple[str, Any]]:
    """Add the configured basemaps (the first shown); return (label, layer) for the control.

    Only the shown basemap's tiles are requested: Leaflet loads a group's tiles when it
    is switched on, so listed but unselected basemaps cost nothing until chosen.
    """
    control: list[tuple[str, Any]] = []
    for i, (_name, basemap) in enumerate(entries):
        label = basemap.label if basemap is not None else "空白底图"
        group = folium.FeatureGroup(name=label, overlay=False, show=i == 0)
        for url in basemap.tiles if basemap is not None else ():
            folium.TileLayer(
                tiles=url,
                # The same text on every tile layer: Leaflet shows a repeated credit once.
                attr=basemap.attribution or basemap.label,
                name=basemap.label,
                max_zoom=MAX_ZOOM,
                max_native_zoom=basemap.max_zoom,
                subdomains=basemap.subdomains,
                overlay=False,
                control=False,
            ).add_to(group)
        group.add_to(m)
        control.append((label, group))
    return control


def _cluster(static: str, layer: Layer) -> MarkerCluster:
    # Small markers (hydrants, r=3) need less room than large ones (enterprises, r=7):
    # they gather from a shorter distance and stop clustering at a lower zoom, so a
    # town's hydrants show as dots at street level rather than as dozens of rings.
    radius = style_of(layer).radius
    group = MarkerCluster(
        name=layer.label,
        icon_create_function="SafeMap.clusterIcon",
        # Coverage polygons on hover read as hazard zones to officials; leave them out.
        show_coverage_on_hover=False,
        max_cluster_radius=int(20 + 4 * radius),
        disable_clustering_at_zoom=int(15 - max(0.0, 7 - radius) // 2),
        spiderfy_on_max_zoom=True,
    )
    use_assets(
        group,
        [("markerclusterjs", vendor_url(static, "markercluster/leaflet.markercluster.js"))],
        [("markerclustercss", vendor_url(static, "markercluster/MarkerCluster.css"))],
    )
    return group


def _tree_label(layer: Layer, d: LayerData) -> str:
    return (
        f'{layer_swatch(layer, d.codes)}<span class="sm-tree-name">{escape(layer.label)}</span>'
        f'<span class="sm-tree-n">{d.size}</span>'
    )


def _layer_meta(d: LayerData, named: bool) -> dict[str, Any]:
    layer, style = d.layer, style_of(d.layer)
    meta = {
        "label": layer.label,
        "group": layer.group,
        "kind": style.kind,
        "radius": style.radius,
        "weight": style.weight,
        "fillOpacity": style.fill_opacity,
        "cluster": style.cluster,
        "swatch": layer_swatch(layer, d.codes),
    }
    if named:
        meta["named"] = 1
    return {**meta, **d.as_json()}


def _status(data: Sequence[LayerData], store: FeatureStore) -> str:
    total = sum(d.size for d in data)
    stamps = [d.latest for d in data if d.latest is not None]
    if not stamps:
        return f"要素 {total} 个"
    latest: dt.datetime = max(stamps)
    return f"要素 {total} 个 · 数据更新 {latest.astimezone(store.tz):%Y-%m-%d %H:%M}"


def _by_group(data: Sequence[LayerData]) -> list[tuple[str, list[LayerData]]]:
    """Layers under their group, groups in catalogue order (unknown groups last)."""
    names = [*GROUPS, *sorted({d.layer.group for d in data} - set(GROUPS))]
    grouped = [(g, [d for d in data if d.layer.group == g]) for g in names]
    return [(g, members) for g, members in grouped if members]


def catalogue_config() -> dict[str, Any]:
    """What the page's scripts take from the catalogue: enum labels and colours, role names.

    Returns
    -------
    dict
        ``enums``: enumeration name -> ``[[code, label, colour or None], …]`` in display
        order (every enumeration of :mod:`safemap.layers.enums`); ``roles``: role code ->
        Chinese name. The scripts keep no copy of either (``SafeMap.enumLabel`` …).
    """
    found = [value for value in vars(enums).values() if isinstance(value, EnumType)]
    return {
        "enums": {e.name: [[m.code, m.label, m.color] for m in e.members] for e in found},
        "roles": dict(ROLE_LABELS),
    }


def page_config(options: MapOptions, basemap: Basemap | None, bounds: BBox | None) -> dict[str, Any]:
    """The page's configuration block (``#safemap-config``, read by ``SafeMap.setup``)."""
    return {
        "bounds": [[bounds[1], bounds[0]], [bounds[3], bounds[2]]] if bounds else None,
        "attribution": options.data_attribution,
        "basemap": configured_basemaps(options)[0][0][0] if basemap else "none",
        "title": options.title,
        "mapUnit": options.map_unit,
        "timezone": options.timezone,
        "apiBase": options.api_base,
        **catalogue_config(),
    }


def _add_tools(m: folium.Map, static: str) -> None:
    """Full screen and measuring (metres/km², the plugin's Chinese build), below the zoom."""
    fullscreen = Fullscreen(position="topleft", title="全屏显示", title_cancel="退出全屏", force_separate_button=True)
    use_assets(
        fullscreen,
        [("Control.Fullscreen.js", vendor_url(static, "fullscreen/Control.FullScreen.js"))],
        [("Control.FullScreen.css", vendor_url(static, "fullscreen/Control.FullScreen.css"))],
    )
    fullscreen.add_to(m)
    measure = Measure(
        position="topleft",
        primary_length_unit="meters",
        secondary_length_unit="kilometers",
        primary_area_unit="sqmeters",
        secondary_area_unit="sqkilometers",
        # leaflet-measure has no km²; its custom units take a factor from m².
        units={"sqkilometers": {"factor": 1e-6, "display": "平方公里", "decimals": 3}},
        active_color="#d32f2f",
        completed_color="#1565c0",
    )
    use_assets(
        measure,
        [("leaflet_measure_js", vendor_url(static, "measure/leaflet-measure.cn.js"))],
        [("leaflet_measure_css", vendor_url(static, "measure/leaflet-measure.css"))],
    )
    measure.add_to(m)


def _add_groups(m: folium.Map, data: Sequence[LayerData], static: str) -> dict[str, Any]:
    """One folium group per layer (a marker cluster where the style asks); name -> group."""
    groups: dict[str, Any] = {}
    for d in data:
        layer = d.layer
        group: Any = _cluster(static, layer) if style_of(layer).cluster else folium.FeatureGroup(name=layer.label)
        group.add_to(m)
        groups[layer.name] = group
    return groups


def _add_layer_control(
    m: folium.Map,
    static: str,
    bases: Sequence[tuple[str, Any]],
    data: Sequence[LayerData],
    groups: dict[str, Any],
) -> None:
    """Basemaps as radio buttons, overlays grouped (风险源, 防护目标 …) with a switch per group."""
    overlay_tree = [
        {
            "label": f'<span class="sm-tree-group">{escape(name)}</span>',
            "select_all_checkbox": "全部显示/隐藏",
            "children": [{"label": _tree_label(d.layer, d), "layer": groups[d.layer.name]} for d in members],
        }
        for name, members in _by_group(data)
    ]
    tree = TreeLayerControl(
        base_tree={
            "label": '<span class="sm-tree-group">底图</span>',
            "children": [{"label": escape(label), "layer": layer} for label, layer in bases],
        },
        overlay_tree=overlay_tree,
        closed_symbol="▸",
        opened_symbol="▾",
        collapsed=False,
        position="topright",
    )
    js = vendor_url(static, "layers-tree/L.Control.Layers.Tree.js")
    css = vendor_url(static, "layers-tree/L.Control.Layers.Tree.css")
    use_assets(tree, [("L.Control.Layers.Tree.min.js", js)], [("L.Control.Layers.Tree.min.css", css)])
    tree.add_to(m)


def render_map(store: FeatureStore, options: MapOptions | None = None) -> str:
    """Build the whole map page for the store's current features.

    Parameters
    ----------
    store
        Where the features come from (every layer of its catalogue with geometry is drawn).
    options
        Title, basemap, attribution, extent and static prefix; defaults when ``None``.

    Returns
    -------
    str
        A complete ``<!DOCTYPE html>`` document, UTF-8, with the data embedded.
    """
    options = options or MapOptions()
    static = options.static_prefix.rstrip("/")
    data = load_layers(store, drawn(tuple(store.layers.values())), tile_threshold=options.map_tile_threshold)
    entries, warning = configured_basemaps(options)
    basemap = entries[0][1]
    if warning:
        log.warning("map page: %s", warning)
    bounds = _bounds(options, data)

    center = [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2] if bounds else [35.0, 105.0]
    m = folium.Map(
        location=center,
        zoom_start=9 if bounds else 4,
        tiles=None,
        zoom_control=False,  # added by SafeMap.setup (js/main.js) with Chinese tooltips, below the search box
        control_scale=False,  # likewise, metric only
        # Leaflet map options; folium's own max_zoom/min_zoom only reach its default tiles.
        maxZoom=MAX_ZOOM,
        minZoom=3,
    )
    use_assets(
        m,
        [("leaflet", vendor_url(static, "leaflet/leaflet.js"))],
        [("leaflet_css", vendor_url(static, "leaflet/leaflet.css"))],
    )
    figure = PageFigure(options.title)
    figure.add_child(m)
    PageChrome(options.title, status=_status(data, store), warning=warning, static_prefix=static).add_to(m)

    bases = _add_basemaps(m, entries)
    # Order matters: Leaflet stacks controls in a corner in the order they are added.
    SafeMapSetup(page_config(options, basemap, bounds)).add_to(m)
    _add_tools(m, static)
    groups = _add_groups(m, data, static)
    _add_layer_control(m, static, bases, data, groups)

    # The legend follows the layer control's order (by group), not the drawing order.
    in_groups = [d for _, members in _by_group(data) for d in members]
    payload = {
        "layers": [_layer_meta(d, style_of(d.layer).labels) for d in data],
        "legend": "".join(legend_entry(d.layer, d.codes, d.dashed, d.size) for d in in_groups),
        "panels": [{"name": p.name, "title": p.title} for p in PANELS],
    }
    loader = SafeMapData(payload, groups)
    tiled = any(d.tiled is not None for d in data)
    loader.js = (
        *((("vectorgrid_js", vendor_url(static, "vectorgrid/Leaflet.VectorGrid.bundled.min.js")),) if tiled else ()),
        ("geoman_js", vendor_url(static, "geoman/leaflet-geoman.js")),
        *((f"safemap_{name}", own_url(static, name)) for name in PAGE_SCRIPTS),
        *((("panel_common_js", own_url(static, COMMON_SCRIPT)),) if PANELS else ()),
        *(
            (f"panel_{p.name}_js" if i == 0 else f"panel_{p.name}_js_{i}", own_url(static, script))
            for p in PANELS
            for i, script in enumerate(p.scripts)
        ),
    )
    loader.css = (
        ("safemap_css", own_url(static, "safemap.css")),
        ("safemap_print_css", own_url(static, "print.css")),
        ("geoman_css", vendor_url(static, "geoman/leaflet-geoman.css")),
        ("edit_css", own_url(static, "edit.css")),
        ("table_css", own_url(static, "table.css")),
        *((f"panel_{p.name}_css", own_url(static, p.stylesheet)) for p in PANELS if p.stylesheet),
    )
    loader.add_to(m)
    LoadCheck().add_to(m)
    return figure.render()
