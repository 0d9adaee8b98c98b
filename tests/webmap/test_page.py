"""The map page's HTML, without a browser: offline assets, Chinese labels, popup data."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from safemap.layers.catalogue import ROLE_LABELS
from safemap.layers.definitions import GROUPS, get_layer
from safemap.layers.enums import RISK_LEVEL, TEAM_KIND, TEAM_STATUS, VEHICLE_PROFILE
from safemap.layers.store import FeatureStore
from safemap.webmap.assets import PAGE_SCRIPTS, STATIC_DIR, VENDOR_FILES, missing_assets, vendored
from safemap.webmap.features import format_value, summarise
from safemap.webmap.page import MapOptions, render_map
from safemap.webmap.panels import COMMON_SCRIPT, PANELS
from tests.webmap.sample import ADMIN, EXTENT, MAP_LAYERS, feature, fill

URL = re.compile(r"https?://[^\s\"'<>)\\]+")
TIANDITU_KEY = "0123456789abcdef"


def has(html: str, text: str) -> bool:
    """``text`` is in the page, as is or as folium writes it in a JS string (\\uXXXX)."""
    return text in html or json.dumps(text)[1:-1] in html


@pytest.fixture
def filled(gpkg_store: FeatureStore) -> FeatureStore:
    fill(gpkg_store)
    return gpkg_store


def page_data(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="safemap-data">(.*?)</script>', html, re.S)
    assert match, "the data block is missing"
    return json.loads(match.group(1))


def layer_data(html: str, name: str) -> dict[str, Any]:
    return next(d for d in page_data(html)["layers"] if d["name"] == name)


def popup(layer: dict[str, Any], feature: list[Any]) -> dict[str, str]:
    """Column label -> text, as the page's popup shows them (values index the column's texts)."""
    return {
        col[0]: layer["words"][i][k]
        for i, (col, k) in enumerate(zip(layer["cols"], feature[5], strict=False))
        if k is not None
    }


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.refs.append(value)


def test_no_outside_address_without_basemap(filled: FeatureStore) -> None:
    html = render_map(filled, MapOptions(basemap="none", extent=EXTENT))
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="zh-CN">' in html
    assert URL.findall(html) == []
    for bad in (
        "cdn.",
        "unpkg",
        "jsdelivr",
        "cdnjs",
        "bootstrap",
        "jquery",
        "font-awesome",
        "fonts.g",
    ):
        assert bad not in html.lower()


def test_osm_basemap_is_the_only_outside_address(filled: FeatureStore) -> None:
    html = render_map(filled, MapOptions(basemap="osm", extent=EXTENT))
    assert set(URL.findall(html)) == {"https://tile.openstreetmap.org/{z}/{x}/{y}.png"}
    assert has(html, "底图 © OpenStreetMap 贡献者")


def test_tianditu_draws_vector_and_annotation_tiles(filled: FeatureStore) -> None:
    html = render_map(filled, MapOptions(basemap="tianditu", tianditu_key=TIANDITU_KEY))
    urls = set(URL.findall(html.replace("\\u0026", "&")))  # folium writes & as \u0026
    assert {u.split("/wmts")[0] for u in urls} == {
        "https://t{s}.tianditu.gov.cn/vec_w",
        "https://t{s}.tianditu.gov.cn/cva_w",
    }
    assert all(u.endswith(f"tk={TIANDITU_KEY}") for u in urls)
    assert has(html, "天地图矢量")


def test_tianditu_without_key_falls_back_with_a_warning(filled: FeatureStore) -> None:
    html = render_map(filled, MapOptions(basemap="tianditu"))
    assert URL.findall(html) == []
    assert "未配置天地图密钥" in html


def test_custom_basemap(filled: FeatureStore) -> None:
    url = "http://10.1.2.3/tiles/{z}/{x}/{y}.png"
    html = render_map(filled, MapOptions(basemap="custom", basemap_url=url, basemap_attribution="县测绘队"))
    assert set(URL.findall(html)) == {url}
    assert has(html, "县测绘队")


def test_every_asset_is_served_by_the_app(filled: FeatureStore) -> None:
    html = render_map(filled, MapOptions(basemap="none", static_prefix="/assets"))
    parser = _Refs()
    parser.feed(html)
    local = [r for r in parser.refs if not r.startswith("data:")]
    assert local, "the page links no scripts"
    assert all(r.startswith("/assets/") for r in local), local
    for ref in local:
        path = STATIC_DIR / ref.removeprefix("/assets/").split("?")[0]
        if ref.startswith("/assets/vendor/") and not vendored():
            continue
        assert path.is_file(), f"{ref} is linked but {path} does not exist"
    for lib in (
        "leaflet.js",
        "leaflet.markercluster.js",
        "leaflet-measure.cn.js",
        "Control.FullScreen.js",
        "L.Control.Layers.Tree.js",
        "js/core.js",
        "js/main.js",
        "panels/common.js",
        "safemap.css",
    ):
        assert any(r.split("?")[0].endswith(lib) for r in local), lib


def test_scripts_load_in_order(filled: FeatureStore) -> None:
    """Leaflet first, then the page's modules in PAGE_SCRIPTS order, the panels' common code, the panels."""
    html = render_map(filled, MapOptions(basemap="none"))
    parser = _Refs()
    parser.feed(html)
    scripts = [r.split("?")[0].removeprefix("/static/") for r in parser.refs if r.endswith(".js") or ".js?" in r]
    ours = [s for s in scripts if not s.startswith("vendor/")]
    assert ours == [*PAGE_SCRIPTS, COMMON_SCRIPT, *(s for p in PANELS for s in p.scripts)]
    assert scripts.index("vendor/leaflet/leaflet.js") < scripts.index(PAGE_SCRIPTS[0])
    for name in ours:
        assert (STATIC_DIR / name).is_file(), name


def page_config(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="safemap-config">(.*?)</script>', html, re.S)
    assert match, "the config block is missing"
    return json.loads(match.group(1))


def test_config_hands_the_catalogue_to_the_page(filled: FeatureStore) -> None:
    config = page_config(render_map(filled, MapOptions(basemap="none", api_base="/safemap/")))
    assert config["apiBase"] == "/safemap/"
    assert config["enums"]["team_status"] == [[m.code, m.label, m.color] for m in TEAM_STATUS.members]
    assert config["enums"]["vehicle_profile"][0] == ["fire_engine", "水罐消防车", None]
    assert config["roles"] == ROLE_LABELS
    assert config["basemap"] == "none"
    assert config["attribution"] == ""  # no credit unless the deployment gives one
    credited = page_config(render_map(filled, MapOptions(basemap="none", data_attribution="县应急管理局")))
    assert credited["attribution"] == "县应急管理局"


def test_scripts_keep_no_copy_of_enum_labels() -> None:
    """Enum labels reach the page through the config block only (they drifted when copied)."""
    scripts = [STATIC_DIR / name for name in PAGE_SCRIPTS] + sorted((STATIC_DIR / "panels").rglob("*.js"))
    text = "\n".join(path.read_text() for path in scripts)
    for enum in (TEAM_STATUS, TEAM_KIND, VEHICLE_PROFILE, RISK_LEVEL):
        for member in enum.members:
            assert f'"{member.label}"' not in text, member.label
    for member in RISK_LEVEL.members:  # the four risk colours (other greens and reds are route styling)
        assert member.color and member.color.lower() not in text.lower(), member.color


def test_page_module_does_not_import_the_demo() -> None:
    code = "import sys, safemap.webmap.page; assert 'safemap.layers.demo' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_vendored_files_exist_after_vendoring() -> None:
    if not vendored():
        pytest.skip("run `python -m webmap.vendor` first: " + ", ".join(map(str, missing_assets()[:3])))
    for rel in VENDOR_FILES:
        assert (STATIC_DIR / "vendor" / rel).stat().st_size > 0


def test_layer_control_lists_every_layer_by_group(filled: FeatureStore) -> None:
    html = render_map(filled, MapOptions(basemap="none"))
    tree = html[html.index("L.control.layers.tree") :]
    tree = tree[: tree.index(".addTo(")]
    for layer in MAP_LAYERS:
        assert has(tree, layer.label), layer.label
    positions = [tree.index(json.dumps(g)[1:-1]) for g in GROUPS]
    assert positions == sorted(positions), "groups out of catalogue order"
    assert has(tree, "全部显示/隐藏") and has(tree, "空白底图")


def test_legend_comes_from_the_catalogue(filled: FeatureStore) -> None:
    data = page_data(render_map(filled, MapOptions(basemap="none")))
    legend = data["legend"]
    for layer in MAP_LAYERS:
        assert f'data-layer="{layer.name}"' in legend
    risk = get_layer("enterprises").field("risk_level").enum
    assert risk is not None
    red = risk.members[0]
    assert red.label in legend and red.color in legend
    assert "按风险等级" in legend
    assert "虚线：通行状态为“封闭”" in legend  # Style.dash_when of roads


def test_popups_are_in_chinese(filled: FeatureStore) -> None:
    html = render_map(filled, MapOptions(basemap="none"))
    ent = layer_data(html, "enterprises")
    feat = ent["f"][0]
    assert feat[1] == "裕民县示例化工有限公司"
    shown = popup(ent, feat)
    assert shown["风险等级"] == "红（重大风险）"
    assert shown["行业类别"] == "危化品生产"
    assert shown["从业人员 (人)"] == "120"
    assert "联系电话" not in shown  # empty values are left out
    assert "版本" not in shown

    hazard = layer_data(html, "hazard_sources")
    shown = popup(hazard, hazard["f"][0])
    assert shown["危险物质"] == "汽油 120 t；柴油 300.5 t"
    assert shown["所属企业编号"].endswith(" · 裕民县示例化工有限公司")

    roads = layer_data(html, "roads")
    shown = popup(roads, roads["f"][0])
    assert shown["单行"] == "否"
    assert shown["通行状态"] == "封闭"
    assert roads["paints"][roads["f"][0][2]].get("d") == 1  # closed: dashed

    incidents = layer_data(html, "incidents")
    assert popup(incidents, incidents["f"][0])["接报时间"] == "2026-11-29 10:30"

    teams = layer_data(html, "rescue_teams")
    assert popup(teams, teams["f"][0])["车辆装备"] == "水罐消防车×3"


def test_colours_follow_the_by_field(filled: FeatureStore) -> None:
    ent = layer_data(render_map(filled, MapOptions(basemap="none")), "enterprises")
    red = get_layer("enterprises").field("risk_level").enum.members[0]  # type: ignore[union-attr]
    assert ent["paints"][ent["f"][0][2]]["c"] == red.color
    assert ent["cluster"] is True


def test_coordinates_are_rounded_lat_lon(filled: FeatureStore) -> None:
    ent = layer_data(render_map(filled, MapOptions(basemap="none")), "enterprises")
    code, coords = ent["f"][0][3], ent["f"][0][4]
    assert code == "P"
    assert coords == [46.201235, 82.981235]


def test_user_text_cannot_break_out(gpkg_store: FeatureStore) -> None:
    evil = "</script><script>alert(1)</script>{{ 7*7 }}{% if 1 %}x{% endif %}"
    gpkg_store.create(
        "enterprises",
        feature(82.98, 46.2, name=evil, industry="other", risk_level="blue"),
        ADMIN,
    )
    html = render_map(gpkg_store, MapOptions(basemap="none", title="标题</title><b>"))
    assert "<script>alert(1)" not in html
    assert "<b>" not in html
    feat = layer_data(html, "enterprises")["f"][0]
    assert feat[1] == evil  # kept verbatim, not evaluated as a template


def test_empty_store_still_renders(gpkg_store: FeatureStore) -> None:
    html = render_map(gpkg_store, MapOptions(basemap="none", extent=EXTENT))
    data = page_data(html)
    assert [d["name"] for d in data["layers"]] == [layer.name for layer in MAP_LAYERS]
    assert all(d["f"] == [] for d in data["layers"])


def test_options_from_settings() -> None:
    settings = SimpleNamespace(
        title="裕民县一张图",
        basemap="tianditu",
        tianditu_key="k",
        basemap_url=None,
        basemap_attribution="",
        extent=list(EXTENT),
        data_attribution="边界: DataV.GeoAtlas",
        port=8000,
    )
    options = MapOptions.from_settings(settings, static_prefix="/s")
    assert options.title == "裕民县一张图"
    assert options.data_attribution == "边界: DataV.GeoAtlas"
    assert options.extent == EXTENT
    assert options.static_prefix == "/s"


def test_value_formatting() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    road = get_layer("roads")
    assert format_value(road.field("oneway"), True, tz) == "是"
    assert format_value(road.field("width_m"), 12.0, tz) == "12"
    assert format_value(road.field("width_m"), 3.14159, tz) == "3.142"
    assert format_value(road.field("ref"), "", tz) is None
    when = dt.datetime(2026, 11, 29, 2, 30, tzinfo=dt.UTC)
    assert format_value(road.field("updated_at"), when, tz) == "2026-11-29 10:30"
    depots = get_layer("material_depots")
    rows = [
        {"item": "帐篷", "unit": "顶", "quantity": 200.0},
        {"item": "发电机", "unit": "台", "quantity": 5},
    ]
    assert summarise(depots.child("inventory"), rows) == "帐篷 200顶；发电机 5台"
    assert summarise(depots.child("inventory"), []) is None


def test_static_dir_holds_our_assets() -> None:
    for name in PAGE_SCRIPTS:
        assert (STATIC_DIR / name).is_file(), name
    assert (STATIC_DIR / "safemap.css").is_file()
    assert Path(STATIC_DIR).name == "static"


def test_vectorised_geometry_encoding_matches_the_simple_one() -> None:
    from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon

    from safemap.webmap.features import encode_geometries, encode_geometry

    square = Polygon([(82.9, 46.1), (83.1, 46.1), (83.1, 46.3), (82.9, 46.1)])
    geoms = [
        Point(82.123456789, 46.987654321),
        LineString([(82.1, 46.1), (82.2, 46.2), (82.3, 46.25)]),
        square,
        Point(83.0, 46.0),
        MultiLineString([[(82.1, 46.1), (82.2, 46.2)], [(82.3, 46.3), (82.4, 46.4)]]),
        MultiPolygon([square, square]),
        LineString([(82.5, 46.5), (82.6, 46.6)]),
    ]
    assert encode_geometries(geoms) == [encode_geometry(g) for g in geoms]
    assert encode_geometries(geoms)[0] == ("P", [46.987654, 82.123457])
