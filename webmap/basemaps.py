"""Basemaps of the map page, and which of them a deployment configured.

天地图 vector and imagery with their annotation layers, OSM, a custom intranet XYZ or WMTS
server, and none; the switcher offers only those configured and usable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class MapOptions(Protocol):
    """What the basemaps read of the page's options (:class:`safemap.webmap.page.MapOptions`)."""

    basemap: str
    basemaps: str | Sequence[str] | None
    basemap_url: str | None
    basemap_attribution: str
    tianditu_key: str | None


_TIANDITU = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)


@dataclass(frozen=True)
class Basemap:
    """A basemap choice: label in the layer control, tile URLs (drawn together), credit."""

    label: str
    tiles: tuple[str, ...]
    attribution: str
    max_zoom: int = 18
    subdomains: str = "abc"


_WMTS_KEYS = (("{tilematrix}", "{z}"), ("{tilerow}", "{y}"), ("{tilecol}", "{x}"))


def tile_template(url: str) -> str:
    """An XYZ template as given, or a WMTS KVP template's ``{TileMatrix}/{TileRow}/{TileCol}`` as ``{z}/{y}/{x}``."""
    out = url
    for key, xyz in _WMTS_KEYS:
        while key in out.lower():
            i = out.lower().index(key)
            out = out[:i] + xyz + out[i + len(key) :]
    return out


def _tianditu(options: MapOptions, label: str, layers: tuple[str, str]) -> tuple[Basemap | None, str]:
    if not options.tianditu_key:
        return None, f"未配置天地图密钥（SAFEMAP_TIANDITU_KEY），未加载{label}。"
    key = options.tianditu_key
    return Basemap(
        label,
        tuple(_TIANDITU.format(layer=layer, key=key, s="{s}") for layer in layers),
        "底图 © 天地图（国家地理信息公共服务平台）",
        subdomains="01234567",
    ), ""


def basemap_of(kind: str, options: MapOptions) -> tuple[Basemap | None, str]:
    """One basemap by name (``none`` is ``(None, "")``), with a Chinese warning when it is unusable."""
    if kind == "osm":
        return Basemap(
            "OpenStreetMap",
            ("https://tile.openstreetmap.org/{z}/{x}/{y}.png",),
            "底图 © OpenStreetMap 贡献者",
            max_zoom=19,
        ), ""
    if kind in ("tianditu", "tianditu_vec"):
        return _tianditu(options, "天地图矢量", ("vec", "cva"))
    if kind == "tianditu_img":
        return _tianditu(options, "天地图影像", ("img", "cia"))
    if kind == "custom":
        if not options.basemap_url:
            return None, "未配置自定义底图地址（SAFEMAP_BASEMAP_URL），未加载自定义底图。"
        return Basemap("自定义底图", (tile_template(options.basemap_url),), options.basemap_attribution), ""
    if kind == "none":
        return None, ""
    return None, f"未知底图类型 {kind!r}。"


def configured_basemaps(options: MapOptions) -> tuple[list[tuple[str, Basemap | None]], str]:
    """The switcher's entries ``(name, basemap or None for blank)``, the first shown; and a warning.

    With ``basemaps`` unset: ``basemap`` (when usable) and the blank alternative, as before.
    With ``basemaps``: exactly those listed and usable; when none is, the blank one.
    """
    if options.basemaps is None:
        kind = "tianditu_vec" if options.basemap == "tianditu" else options.basemap
        names = [kind, "none"] if kind != "none" else ["none"]
    else:
        listed = options.basemaps.split(",") if isinstance(options.basemaps, str) else list(options.basemaps)
        wanted = (n.strip() for n in listed if n.strip())
        names = list(dict.fromkeys("tianditu_vec" if n == "tianditu" else n for n in wanted))
    entries: list[tuple[str, Basemap | None]] = []
    warnings: list[str] = []
    for name in names:
        found, warning = basemap_of(name, options)
        if warning:
            warnings.append(warning)
        elif found is not None or name == "none":
            entries.append((name, found))
    if not entries:
        entries.append(("none", None))
    if warnings and entries[0][1] is None:
        warnings.append("已改用空白底图。")
    return entries, "".join(warnings)


def resolve_basemap(options: MapOptions) -> tuple[Basemap | None, str]:
    """The basemap shown at start, with a (Chinese) warning when a configured one is unusable.

    A misconfigured basemap falls back to none rather than failing the page: the
    vector layers are what officials need, and the warning tells them whom to ask.
    """
    entries, warning = configured_basemaps(options)
    return entries[0][1], warning
