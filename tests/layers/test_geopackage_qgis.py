"""The store GeoPackage as QGIS 3.22 and GDAL 3.6 (Debian's) read it: clean opens, aliases, default styles.

GDAL 3.6 reads no field alias from a GeoPackage (GDAL ≥ 3.7 reads ``gpkg_data_columns.name``),
so QGIS 3.22 shows the Chinese aliases of the default style in ``layer_styles``; both are checked.
Debian's ``ogrinfo`` (package gdal-bin) is the GDAL QGIS 3.22 runs on.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pyogrio
import pytest

from safemap.layers import qgis_styles
from safemap.layers.definitions import GROUPS, LAYERS, get_layer
from safemap.layers.model import Actor
from safemap.layers.qgis_project import gpkg_reference, project_xml, write_qgz
from safemap.layers.store import FeatureStore, open_store

ADMIN = Actor("admin", "admin")
OGRINFO = shutil.which("ogrinfo")
needs_ogrinfo = pytest.mark.skipif(
    OGRINFO is None, reason="Debian's gdal-bin (ogrinfo) is not installed: apt-get install gdal-bin"
)
STYLED = [layer.name for layer in LAYERS if layer.is_spatial and layer.style is not None]


def _ogrinfo(*args: str) -> subprocess.CompletedProcess[str]:
    assert OGRINFO is not None
    return subprocess.run([OGRINFO, *args], capture_output=True, text=True, timeout=60, check=False)


def _fill(store: FeatureStore) -> None:
    store.create(
        "enterprises",
        {
            "geometry": {"type": "Point", "coordinates": [83.0, 46.2]},
            "properties": {"name": "甲化工", "industry": "hazchem_storage", "risk_level": "red"},
        },
        ADMIN,
    )
    store.create(
        "roads",
        {
            "geometry": {"type": "LineString", "coordinates": [[83.0, 46.1], [83.1, 46.1]]},
            "properties": {"name": "G219", "road_class": "national", "status": "closed", "ref": "G219"},
        },
        ADMIN,
    )


def _closed(store: FeatureStore) -> str:
    path = str(store.backend.path)
    store.close()
    return path


def _default_qml(con: sqlite3.Connection, table: str) -> ET.Element:
    row = con.execute(
        'SELECT "styleQML" FROM layer_styles WHERE f_table_schema = \'\' AND f_table_name = ? AND "useAsDefault"',
        (table,),
    ).fetchall()
    assert len(row) == 1, table
    return ET.fromstring(row[0][0].split("\n", 1)[1])


@needs_ogrinfo
def test_gdal36_opens_the_store_without_warnings(gpkg_store: FeatureStore) -> None:
    _fill(gpkg_store)
    path = _closed(gpkg_store)
    version = _ogrinfo("--version").stdout
    done = _ogrinfo("-ro", "-so", "-al", path)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "ERROR" not in done.stderr, (version, done.stderr)
    assert "Layer name: enterprises" in done.stdout and "Layer name: layer_styles" in done.stdout


def test_identity_extensions_and_column_names(gpkg_store: FeatureStore) -> None:
    path = _closed(gpkg_store)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
    assert con.execute("PRAGMA user_version").fetchone()[0] == 10300
    dupes = con.execute(
        "SELECT table_name, column_name, extension_name, count(*) FROM gpkg_extensions "
        "GROUP BY table_name, column_name, extension_name HAVING count(*) > 1"
    ).fetchall()
    assert dupes == []
    # GDAL >= 3.7 takes the alias from ``name`` (and the comment from ``description``); title kept for others.
    name, title, description = con.execute(
        "SELECT name, title, description FROM gpkg_data_columns WHERE table_name='roads' AND column_name='oneway'"
    ).fetchone()
    assert (name, title) == ("单行", "单行") and description.startswith("True")
    assert con.execute(
        "SELECT name FROM gpkg_data_columns WHERE table_name='fire_lanes' AND column_name='width_m'"
    ).fetchone() == ("净宽 (m)",)
    con.close()


def test_layer_styles_one_default_per_table_with_aliases_and_categories(gpkg_store: FeatureStore) -> None:
    path = _closed(gpkg_store)
    con = sqlite3.connect(path)
    assert con.execute("SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchone() == (
        "attributes",
    )
    cols = [r[1] for r in con.execute("PRAGMA table_info(layer_styles)")]
    assert cols == [
        "id", "f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column", "styleName", "styleQML",
        "styleSLD", "useAsDefault", "description", "owner", "ui", "update_time",
    ]  # fmt: skip
    defaults = dict(
        con.execute("SELECT f_table_name, count(*) FROM layer_styles WHERE useAsDefault GROUP BY 1").fetchall()
    )
    assert all(defaults.get(name) == 1 for name in STYLED)
    geom = dict(con.execute("SELECT f_table_name, f_geometry_column FROM layer_styles").fetchall())
    assert geom["enterprises"] == "geom" and geom["rescue_teams__vehicles"] == ""

    ent = _default_qml(con, "enterprises")
    r = ent.find("renderer-v2")
    assert r is not None and r.get("type") == "categorizedSymbol" and r.get("attr") == "risk_level"
    cats = [(c.get("value"), c.get("label")) for c in r.iter("category")]
    assert cats == [
        ("red", "红（重大风险）"),
        ("orange", "橙（较大风险）"),
        ("yellow", "黄（一般风险）"),
        ("blue", "蓝（低风险）"),
    ]
    red = r.find("symbols/symbol[@name='0']/layer/prop[@k='color']")
    assert red is not None and red.get("v", "").startswith("230,0,18,")
    assert ent.findtext("layerGeometryType") == "0"
    aliases = {a.get("field"): a.get("name") for a in ent.iter("alias")}
    assert aliases["credit_code"] == "统一社会信用代码" and aliases["employees"] == "从业人员 (人)"
    value_map = ent.find("fieldConfiguration/field[@name='risk_level']/editWidget")
    assert value_map is not None and value_map.get("type") == "ValueMap"

    roads = _default_qml(con, "roads").find("renderer-v2")
    assert roads is not None and roads.get("type") == "RuleRenderer"
    rules = {rule.get("label"): rule for rule in roads.iter("rule")}
    closed = rules["封闭"]
    assert closed.get("filter") == "\"status\" = 'closed'"
    sym = roads.find(f"symbols/symbol[@name='{closed.get('symbol')}']/layer/prop[@k='line_style']")
    assert sym is not None and sym.get("v") == "dash"
    national = roads.find(f"symbols/symbol[@name='{rules['国道'].get('symbol')}']/layer/prop[@k='line_width']")
    assert national is not None and national.get("v") == "5"

    mixed = _default_qml(con, "protected_targets").find("renderer-v2")
    assert mixed is not None and mixed.get("type") == "RuleRenderer"
    assert {s.get("type") for s in mixed.iter("symbol")} == {"marker", "fill"}
    # A child table carries its aliases (QGIS 3.22 has no other source for them with GDAL 3.6).
    vehicles = _default_qml(con, "rescue_teams__vehicles")
    assert {a.get("field"): a.get("name") for a in vehicles.iter("alias")}["count"] == "数量 (辆)"
    sld = con.execute("SELECT styleSLD FROM layer_styles WHERE f_table_name = 'enterprises'").fetchone()[0]
    assert ET.fromstring(sld.encode()).tag.endswith("StyledLayerDescriptor")
    con.close()


@needs_ogrinfo
def test_gdal36_finds_the_default_style_as_qgis_asks(gpkg_store: FeatureStore) -> None:
    # The attribute filter QgsOgrProviderMetadata::loadStyle sets on layer_styles (QGIS 3.22).
    path = _closed(gpkg_store)
    where = (
        "f_table_schema='' AND f_table_name='enterprises' AND f_geometry_column='geom' "
        "ORDER BY CASE WHEN useAsDefault THEN 1 ELSE 2 END,update_time DESC LIMIT 1"
    )
    done = _ogrinfo("-ro", "-q", path, "layer_styles", "-where", where, "-fields=YES")
    assert done.returncode == 0 and "Warning" not in done.stderr, done.stderr
    assert "styleName (String) = SafeMap" in done.stdout
    assert "useAsDefault (Integer(Boolean)) = 1" in done.stdout
    assert 'attr="risk_level"' in done.stdout
    info = pyogrio.read_info(path, layer="layer_styles")
    assert info["features"] == len(list(pyogrio.read_dataframe(path, layer="layer_styles", read_geometry=False).index))


def test_an_old_store_is_repaired_on_open(gpkg_path: Path) -> None:
    store = open_store(gpkg_path)
    _fill(store)
    path = _closed(store)
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 10400")
    for _ in range(3):
        con.execute(
            "INSERT INTO gpkg_extensions VALUES ('gpkg_data_columns', NULL, 'gpkg_schema', "
            "'http://www.geopackage.org/spec/#extension_schema', 'read-write')"
        )
    con.execute("UPDATE gpkg_data_columns SET name = column_name")
    con.execute("DROP TABLE layer_styles")
    con.execute("DELETE FROM gpkg_contents WHERE table_name = 'layer_styles'")
    con.commit()
    con.close()
    again = open_store(path)
    assert again.counts()["enterprises"] == 1
    again.close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 10300
    assert con.execute("SELECT count(*) FROM gpkg_extensions WHERE table_name = 'gpkg_data_columns'").fetchone() == (1,)
    assert con.execute(
        "SELECT name FROM gpkg_data_columns WHERE table_name='enterprises' AND column_name='risk_level'"
    ).fetchone() == ("风险等级",)
    assert con.execute("SELECT count(*) FROM layer_styles WHERE useAsDefault").fetchone()[0] >= len(STYLED)
    con.close()
    if OGRINFO is not None:
        assert "Warning" not in _ogrinfo("-ro", "-so", path).stderr


def test_a_style_saved_as_default_in_qgis_stays_default(gpkg_path: Path) -> None:
    path = _closed(open_store(gpkg_path))
    con = sqlite3.connect(path)
    # What QGIS does on "Save as default" in the GeoPackage: unset the old default, add its own.
    con.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = 'roads'")
    con.execute(
        "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, "
        "styleQML, styleSLD, useAsDefault, description, owner) VALUES ('', '', 'roads', 'geom', 'roads', "
        "'<qgis/>', '', 1, '县局样式', '')"
    )
    con.commit()
    con.close()
    _closed(open_store(path))
    con = sqlite3.connect(path)
    rows = con.execute("SELECT styleName, useAsDefault FROM layer_styles WHERE f_table_name = 'roads' ORDER BY id")
    assert rows.fetchall() == [("SafeMap", 0), ("roads", 1)]
    con.close()


def test_styles_for_every_drawn_layer_are_valid_xml() -> None:
    for name in STYLED:
        layer = get_layer(name)
        doc = ET.fromstring(qgis_styles.qml(layer).split("\n", 1)[1])
        assert doc.find("renderer-v2") is not None, name
        assert len(doc.findall("aliases/alias")) == len(layer.fields), name
        ET.fromstring(qgis_styles.sld(layer).encode())


def test_project_references_the_store_with_groups_and_renderers(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    _fill(gpkg_store)
    store_path = Path(_closed(gpkg_store))
    out = tmp_path / "maps" / "safemap.qgz"
    ref = gpkg_reference(store_path, out)
    assert not Path(ref).is_absolute()
    qgs = project_xml(LAYERS, title="SafeMap", gpkg=ref, extent=(82.3, 45.6, 83.6, 46.6), groups=GROUPS)
    write_qgz(out, qgs)
    with zipfile.ZipFile(out) as z:
        assert z.namelist() == ["safemap.qgs"]
        root = ET.fromstring(z.read("safemap.qgs").decode("utf-8").split("\n", 1)[1])
    assert root.findtext("projectCrs/spatialrefsys/authid") == "EPSG:32644"
    groups = [g.get("name") for g in root.findall("layer-tree-group/layer-tree-group")]
    assert groups[:3] == list(GROUPS[:3]) and set(groups) <= set(GROUPS)
    maplayers = root.findall("projectlayers/maplayer")
    drawn = {ml.findtext("datasource", "").split("layername=")[1].split("|")[0] for ml in maplayers}
    assert drawn == set(STYLED)
    tree_ids = {el.get("id") for el in root.iter("layer-tree-layer")}
    assert tree_ids == {ml.findtext("id") for ml in maplayers}
    for ml in maplayers:
        assert ml.findtext("provider") == "ogr" and ml.findtext("srs/spatialrefsys/authid") == "EPSG:4326"
        assert ml.find("renderer-v2") is not None and ml.find("aliases") is not None
        source = ml.findtext("datasource", "")
        file, layer = source.split("|")[0], source.split("layername=")[1].split("|")[0]
        # The reference is relative to the .qgz, as QGIS resolves it: it opens with GDAL.
        assert pyogrio.read_info(out.parent / file, layer=layer)["fid_column"] == "id"
    ent = next(ml for ml in maplayers if ml.findtext("id") == "safemap_enterprises")
    assert ent.findtext("layername") == "企业"
    assert next(c.get("label") for c in ent.iter("category")) == "红（重大风险）"
    risk = root.find("layer-tree-group/layer-tree-group[@name='风险源']")
    assert risk is not None and next(el.get("name") for el in risk.iter("layer-tree-layer")) == "企业"
