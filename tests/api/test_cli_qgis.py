"""``safemap export-qgis-project``: a .qgz QGIS opens as SafeMap's map, on the store or the OGC API."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pyogrio

from tests.support.cli import run


def _qgs(path: Path) -> ET.Element:
    with zipfile.ZipFile(path) as z:
        (name,) = z.namelist()
        assert name == f"{path.stem}.qgs"
        return ET.fromstring(z.read(name).decode("utf-8").split("\n", 1)[1])


def test_export_references_the_store_relative_to_the_project(env: Path, tmp_path: Path) -> None:
    out = tmp_path / "qgis" / "safemap.qgz"
    code, output = run("export-qgis-project", str(out))
    assert code == 0, output
    assert "QGIS 项目已写入" in output and "../cli.gpkg" in output
    root = _qgs(out)
    groups = [g.get("name") for g in root.findall("layer-tree-group/layer-tree-group")]
    assert groups[:4] == ["风险源", "防护目标", "救援力量", "道路与消防车道"]
    layers = root.findall("projectlayers/maplayer")
    assert len(layers) >= 20
    for ml in layers:
        source = ml.findtext("datasource", "")
        assert source.startswith("../cli.gpkg|layername=")
        layer = source.split("layername=")[1].split("|")[0]
        assert pyogrio.read_info(out.parent / source.split("|")[0], layer=layer)["crs"] == "EPSG:4326"
        assert ml.find("renderer-v2") is not None
    aliases = {
        a.get("field"): a.get("name") for a in root.iterfind("projectlayers/maplayer[id='safemap_fire_lanes']//alias")
    }
    assert aliases["width_m"] == "净宽 (m)"


def test_export_on_the_ogc_api(env: Path, tmp_path: Path) -> None:
    out = tmp_path / "ogc.qgz"
    code, output = run("export-qgis-project", str(out), "--ogc-url", "http://10.1.2.3:8000/ogc/", "--crs", "4490")
    assert code == 0, output
    root = _qgs(out)
    assert root.findtext("projectCrs/spatialrefsys/authid") == "EPSG:4490"
    ent = root.find("projectlayers/maplayer[id='safemap_enterprises']")
    assert ent is not None and ent.findtext("provider") == "OAPIF"
    assert ent.findtext("datasource") == (
        "pagingEnabled='true' restrictToRequestBBOX='1' srsname='EPSG:4326' typename='enterprises' "
        "url='http://10.1.2.3:8000/ogc'"
    )


def test_export_refuses_what_it_cannot_write(env: Path, tmp_path: Path) -> None:
    code, output = run("export-qgis-project", str(tmp_path / "map.qgs"))
    assert code != 0 and ".qgz" in output
    code, output = run("export-qgis-project", str(tmp_path / "map.qgz"), "--crs", "999999")
    assert code != 0 and "EPSG:999999" in output
    code, output = run("export-qgis-project", str(tmp_path / "map.qgz"), "--ogc-url", "ftp://x")
    assert code != 0 and "--ogc-url" in output
