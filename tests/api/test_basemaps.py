"""Basemaps: 天地图 vector and imagery (with their annotation layers), OSM, a custom XYZ or WMTS server, none.

``SAFEMAP_BASEMAPS`` lists several for the switcher (the first shown); unset, the single
``SAFEMAP_BASEMAP`` and a blank alternative as before. The switcher shows exactly those
configured (the browser test: tests/webmap/test_basemap_switcher.py).
"""

from __future__ import annotations

import re

import pytest

from safemap.api.settings import Settings, SettingsInvalid, load_settings
from safemap.layers.store import FeatureStore
from safemap.webmap.page import MapOptions, configured_basemaps, render_map, tile_template

KEY = "0123456789abcdef"
WMTS = (
    "http://10.0.0.9/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=dom&STYLE=default"
    "&TILEMATRIXSET=w&FORMAT=image/png&TILEMATRIX={TileMatrix}&TILEROW={TileRow}&TILECOL={TileCol}"
)


def _labels(options: MapOptions) -> list[str]:
    entries, _ = configured_basemaps(options)
    return [b.label if b else "空白底图" for _, b in entries]


def test_one_setting_keeps_working() -> None:
    assert _labels(MapOptions(basemap="osm")) == ["OpenStreetMap", "空白底图"]
    assert _labels(MapOptions(basemap="tianditu", tianditu_key=KEY)) == ["天地图矢量", "空白底图"]
    assert _labels(MapOptions(basemap="none")) == ["空白底图"]
    entries, warning = configured_basemaps(MapOptions(basemap="tianditu"))
    assert entries == [("none", None)] and "SAFEMAP_TIANDITU_KEY" in warning and "空白底图" in warning


def test_several_basemaps_in_the_listed_order() -> None:
    options = MapOptions(basemaps="tianditu_vec,tianditu_img,custom,none", tianditu_key=KEY, basemap_url=WMTS)
    assert _labels(options) == ["天地图矢量", "天地图影像", "自定义底图", "空白底图"]
    entries, warning = configured_basemaps(options)
    assert warning == ""
    vec, img, custom = entries[0][1], entries[1][1], entries[2][1]
    assert vec and img and custom
    assert [u.split("/wmts")[0] for u in img.tiles] == [
        "https://t{s}.tianditu.gov.cn/img_w",
        "https://t{s}.tianditu.gov.cn/cia_w",
    ]
    assert all(u.endswith(f"tk={KEY}") for u in vec.tiles + img.tiles)
    assert custom.tiles == (tile_template(WMTS),)
    assert "TILEMATRIX={z}&TILEROW={y}&TILECOL={x}" in custom.tiles[0]
    # Without a key the 天地图 entries are left out (with a warning), not drawn blank.
    entries, warning = configured_basemaps(MapOptions(basemaps="tianditu_img,osm"))
    assert [n for n, _ in entries] == ["osm"] and "天地图密钥" in warning


def test_xyz_template_is_unchanged() -> None:
    assert tile_template("http://10.1.2.3/tiles/{z}/{x}/{y}.png") == "http://10.1.2.3/tiles/{z}/{x}/{y}.png"


def test_unlisted_basemaps_are_not_in_the_page(gpkg_store: FeatureStore) -> None:
    html = render_map(gpkg_store, MapOptions(basemaps="tianditu_img,none", tianditu_key=KEY))
    urls = set(re.findall(r"https?://[^\"'\s\\]+", html.replace("\\u0026", "&")))
    assert {u.split("/wmts")[0] for u in urls} == {
        "https://t{s}.tianditu.gov.cn/img_w",
        "https://t{s}.tianditu.gov.cn/cia_w",
    }
    assert "openstreetmap" not in html


def test_settings_basemaps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEMAP_BASEMAPS", " tianditu_vec, custom ,none")
    assert load_settings().basemaps == "tianditu_vec,custom,none"
    monkeypatch.setenv("SAFEMAP_BASEMAPS", "google,none")
    with pytest.raises(SettingsInvalid, match=r"SAFEMAP_BASEMAPS.*google"):
        load_settings()
    monkeypatch.delenv("SAFEMAP_BASEMAPS")
    assert Settings().map_unit == "裕民县应急管理局"
