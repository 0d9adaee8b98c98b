"""The nine analysis commands of ``safemap`` on the demo county: real answers, and bad input refused in Chinese.

Every command reads the store the settings select (``SAFEMAP_GPKG_PATH``). Commands that only
read share one copy of the session's demo county; a command that writes gets its own copy.
A bad input must end with ``错误：…`` on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from safemap.api.cli.group import main
from tests.support.demo import DemoCounty, copy_demo

KINDERGARTEN = "金桥小区配套幼儿园"
STATION = "中国石油裕民县城东加油站埋地油罐区"


@pytest.fixture(scope="module")
def shared(demo_county: DemoCounty, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy of the demo county for the commands of this module that only read."""
    return copy_demo(demo_county, tmp_path_factory.mktemp("cli-demo") / "demo.gpkg")


@pytest.fixture
def own(demo_county: DemoCounty, tmp_path: Path) -> Path:
    """This test's own copy of the demo county, free to write."""
    return copy_demo(demo_county, tmp_path / "own.gpkg")


def cli(store: Path, *args: str) -> Result:
    env = {"SAFEMAP_GPKG_PATH": str(store), "SAFEMAP_DATABASE_URL": None, "SAFEMAP_EXTENT": None}
    return CliRunner().invoke(main, list(args), env=env)


def ok(store: Path, *args: str) -> str:
    result = cli(store, *args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def refused(store: Path, *args: str, code: int = 2) -> str:
    """Run a command that must refuse its input; return its stderr."""
    result = cli(store, *args)
    assert result.exit_code == code, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    assert "Traceback" not in result.output
    assert result.stderr.startswith("错误："), result.stderr
    return result.stderr


# ---------------------------------------------------------------------------- check-distances


def test_check_distances_lists_the_planted_violations(shared: Path, tmp_path: Path) -> None:
    out = ok(shared, "check-distances")
    assert out.startswith("安全间距违规 6 处：")
    assert "无法核查 " in out and "「铁路」在地图上没有对应图层" in out  # rules without a map layer (issue 11)
    assert f"{STATION} → {KINDERGARTEN}：实际 38.0 m < 要求 40 m（差 2.0 m；GB 50156-2021 4.0.4）" in out
    assert "牧民冬窝子定居点（矿区炸药库附近）：实际 350.0 m" in out and "GB 6722-2014" in out
    ok(shared, "check-distances", "--format", "geojson", "-o", str(tmp_path / "v.geojson"))
    feats = json.loads((tmp_path / "v.geojson").read_text(encoding="utf-8"))["features"]
    kg = next(f for f in feats if f["properties"]["target_name"] == KINDERGARTEN)
    assert (kg["properties"]["actual_m"], kg["properties"]["required_m"]) == (38.0, 40.0)
    assert len(feats) == 6 and all(f["geometry"]["type"] == "LineString" for f in feats)
    ok(shared, "check-distances", "--format", "csv", "-o", str(tmp_path / "v.csv"))
    csv = (tmp_path / "v.csv").read_text(encoding="utf-8")
    assert csv.startswith("\ufeff结论,规则") and len(csv.strip().splitlines()) == 7


def test_check_distances_ungradable_station_is_cannot_check(own: Path, tmp_path: Path) -> None:
    """Issue 11: 汽油 200 m³ + 柴油 100 m³ (V = 250 m³ > 210 m³, GB 50156 表3.0.9) has no grade."""
    from safemap.layers.model import SYSTEM
    from safemap.layers.store import open_store

    store = open_store(own)
    try:
        f = store.query("hazard_sources", q="城东加油站", limit=1).features()[0]
        edit = {"properties": {"gasoline_m3": 200.0, "diesel_m3": 100.0, "max_tank_m3": 50.0}}
        store.update("hazard_sources", f["id"], edit, SYSTEM, expected_version=f["properties"]["version"])
    finally:
        store.close()
    out = ok(own, "check-distances")
    assert "安全间距违规 5 处：" in out and KINDERGARTEN in out.split("无法核查")[1]
    assert "汽油 200 m³、柴油 100 m³ 超出 GB 50156 一级站容积上限，无法定级" in out
    text = ok(own, "check-distances", "--format", "geojson")

    def no_nan(word: str) -> None:
        raise AssertionError(f"not JSON: {word}")

    feats = json.loads(text, parse_constant=no_nan)["features"]
    kg = next(x["properties"] for x in feats if x["properties"]["target_name"] == KINDERGARTEN)
    assert (kg["status"], kg["status_label"], kg["shortfall_m"]) == ("cannot_check", "无法核查", None)


def test_check_distances_unwritable_output(shared: Path, tmp_path: Path) -> None:
    err = refused(shared, "check-distances", "-o", str(tmp_path / "no" / "such" / "dir" / "v.txt"))
    assert "无法写入" in err and "-o/--output" in err


# ---------------------------------------------------------------------------- site-check


def _kindergarten_point(store: Path) -> tuple[float, float]:
    """Where the check-distances line from the fuel station ends: the kindergarten, 38 m away."""
    fc = json.loads(ok(store, "check-distances", "--format", "geojson"))
    line = next(f for f in fc["features"] if f["properties"]["target_name"] == KINDERGARTEN)
    lon, lat = line["geometry"]["coordinates"][-1]
    return lon, lat


def test_site_check_finds_the_fuel_station_too_close(shared: Path) -> None:
    lon, lat = _kindergarten_point(shared)
    # 240 children, as the planted kindergarten: more than 200 makes it a 重要公共建筑物 (GB 50156-2021
    # 附录B B.0.1 第6款), 40 m from a 二级 station with unloading recovery (表4.0.4). The kind's default
    # of 200 would be a 一类保护物 (B.0.2 第6款, 16 m) and pass.
    args = (
        "site-check",
        "--kind",
        "kindergarten",
        "--lon",
        f"{lon:.8f}",
        "--lat",
        f"{lat:.8f}",
        "--set",
        "population=240",
    )
    result = json.loads(ok(shared, *args, "--format", "json"))
    summary = {k: result["summary"][k] for k in ("checks", "failed", "passed", "cannot_check", "status", "verdict")}
    assert summary == {"checks": 1, "failed": 1, "passed": 0, "cannot_check": 0, "status": "fail", "verdict": "不符合"}
    assert result["summary"]["counts"] == {"pass": 0, "fail": 1, "cannot_check": 0}
    assert result["site"]["properties"]["gb50156_class_basis_label"] == "按类别推定"
    (check,) = [f["properties"] for f in result["checks"]["features"]]
    assert (check["standard"], check["clause"], check["hazard_name"]) == ("GB 50156-2021", "4.0.4", STATION)
    assert (check["actual_m"], check["required_m"], check["passed"]) == (38.0, 40.0, False)
    assert result["risk"]["limit_existing_per_year"] == 3e-06
    table = ok(shared, *args, "--name", "拟建幼儿园")
    assert table.startswith("拟建幼儿园：不符合（符合 0 项，不符合 1 项，无法核查 0 项）")
    assert f"✗ 不符合 GB 50156-2021 4.0.4 {STATION} ↔ 拟建幼儿园：实际 38.0 m，要求 40 m" in table


def test_site_check_bad_input(shared: Path, tmp_path: Path) -> None:
    err = refused(shared, "site-check", "--kind", "casino", "--lon", "82.98", "--lat", "46.2")
    assert "--kind" in err and "没有场所类型 'casino'" in err and "kindergarten" in err
    err = refused(shared, "site-check", "--kind", "school", "--lon", "116.4", "--lat", "39.9")
    assert "超出服务范围" in err
    assert "请给出 --lon 和 --lat" in refused(shared, "site-check", "--kind", "school", "--lon", "82.98")
    broken = tmp_path / "site.geojson"
    broken.write_text('{"type": "Polygon", "coordinates": "here"}', encoding="utf-8")
    assert "不是有效的 GeoJSON" in refused(shared, "site-check", "--kind", "school", "--geojson", str(broken))


# ---------------------------------------------------------------------------- grade-hazards


def test_grade_hazards_finds_the_demo_already_graded(own: Path) -> None:
    out = ok(own, "grade-hazards")
    # `safemap demo` grades through the editing service: nothing left to update. 11 major = 8 on their own
    # + the park's three LPG tanks, one GB 18218 storage unit (one dike) that is major as a whole (issue 11).
    assert out.startswith("已分级 42 个危险源：重大危险源 11 个，更新 0 个")
    assert "其中 3 个危险源分属 1 个危险化学品单元" in out
    warehouse = next(line for line in out.splitlines() if "甲类危险化学品仓库" in line)
    # 6 t Cl2 (β 4) + methanol, toluene, acetone, xylene; ≥ 100 people within 500 m (α 2).
    r = 2.0 * (4 * 6 / 5 + 25 / 500 + 15 / 500 + 8 / 500 + 12 / 5000)
    assert f"R={r:<8.4g}" in warehouse and "等级 四级" in warehouse
    assert ok(own, "grade-hazards", "--quiet").strip() == "已分级 42 个危险源：重大危险源 11 个，更新 0 个"


def test_grade_hazards_on_a_file_that_is_no_store(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gpkg"
    junk.write_text("这不是 GeoPackage", encoding="utf-8")
    err = refused(junk, "grade-hazards")
    assert "无法打开数据库" in err and str(junk) in err


# ---------------------------------------------------------------------------- risk-raster


def test_risk_raster_writes_the_grid_and_contours(shared: Path, tmp_path: Path) -> None:
    from safemap.api.services.risk_raster import read_geotiff

    tif, contours = tmp_path / "risk.tif", tmp_path / "risk.geojson"
    out = ok(shared, "risk-raster", "-o", str(tif), "--cell", "50", "--contours", str(contours))
    assert out.strip() == "174×193 个网格，35 个场景，最大个人风险 2.77×10⁻⁶/年"
    values, transform, crs = read_geotiff(tif.read_bytes())
    assert values.shape == (193, 174) and transform.a == 50 and crs.to_epsg() == 32644
    assert float(np.nanmax(values)) == pytest.approx(2.77e-06, rel=5e-3)
    fc = json.loads(contours.read_text(encoding="utf-8"))
    assert fc["type"] == "FeatureCollection" and fc["features"]


def test_risk_raster_bad_input(shared: Path, tmp_path: Path) -> None:
    tif = str(tmp_path / "r.tif")
    err = refused(shared, "risk-raster", "-o", tif, "--bbox", "82.9,46.1,83.0")
    assert "--bbox" in err and "最小经度,最小纬度,最大经度,最大纬度" in err
    assert "网格边长应大于 0 m" in refused(shared, "risk-raster", "-o", tif, "--cell", "0")
    err = refused(shared, "risk-raster", "-o", tif, "--cell", "1", "--bbox", "82.1,45.3,83.6,46.6")
    assert "网格过大" in err
    assert not Path(tif).exists()


# ---------------------------------------------------------------------------- coverage-report


def test_coverage_report_on_the_demo(shared: Path) -> None:
    rep = json.loads(ok(shared, "coverage-report", "--format", "json"))
    assert rep["standard"]["minutes"] == 5 and rep["standard"]["turnout_s"] == 60
    assert "GB 51080" in rep["standard"]["clause"]
    summary = {s["layer"]: s for s in rep["summary"]}
    assert set(summary) == {"enterprises", "hazard_sources", "protected_targets"}
    for s in summary.values():
        assert 0 < s["share"] < 1 and s["covered"] == round(s["share"] * s["count"])
    assert summary["protected_targets"]["population"] > 50_000
    assert rep["by_grade"][0]["grade"] != "未分级"  # the demo is graded when built
    assert len(rep["depots"]["seats"]) == 9 and rep["depots"]["townships_without_depot"] == []
    mine = [u for u in rep["uncovered"] if u["reason"] == "道路不通"]
    assert mine and mine[0]["response_min"] is None
    # People read durations as 分秒 (the one formatter of safemap.layers.labels), never "min" or "s".
    table = ok(shared, "coverage-report")
    assert table.startswith("标准到场时间 5分00秒（") and "出动准备 1分00秒" in table
    assert f"未覆盖 {len(rep['uncovered'])} 处" in table
    assert table.rstrip().endswith("30分00秒内无物资储备库可达的乡镇：无")
    late = next(u for u in rep["uncovered"] if u["response_min"] is not None)
    m, s = divmod(round(late["response_min"] * 60), 60)
    h, m = divmod(m, 60)
    took = f"{h}小时{m:02d}分{s:02d}秒" if h else f"{m}分{s:02d}秒"
    assert f"{late['name']}（{late['township']}）{took}，最近：" in table
    assert re.search(r"）(\d+小时)?\d+分\d\d秒，最近：", table)
    assert " min" not in table and not re.search(r"\d s\b", table)
    assert ok(shared, "coverage-report", "--standard-min", "7.5").startswith("标准到场时间 7分30秒（")
    # CSV: Chinese headers for people, field codes with --headers code for machine exports (issue 14).
    people = ok(shared, "coverage-report", "--format", "csv", "--table", "summary")
    assert people.lstrip("\ufeff").startswith("图层,对象数,覆盖数")
    machines = ok(shared, "coverage-report", "--format", "csv", "--table", "summary", "--headers", "code")
    assert machines.lstrip("\ufeff").startswith("layer,label,count")


def test_coverage_report_bad_kinds(shared: Path) -> None:
    err = refused(shared, "coverage-report", "--kinds", "fire_station,ufo")
    assert "--kinds" in err and "没有队伍类型 'ufo'" in err and "professional_fire" in err


# ---------------------------------------------------------------------------- access-review


def test_access_review_finds_the_planted_lane_problems(shared: Path) -> None:
    review = json.loads(ok(shared, "access-review", "--format", "json"))
    lanes = [f["properties"] for f in review["findings"]["features"] if f["properties"]["layer"] == "fire_lanes"]
    narrow = [p for p in lanes if p["measured"] == 3.6 and p["required"] == 4.0]
    assert narrow and "7.1.8" in narrow[0]["clause"]
    steep = [p for p in lanes if p["measured"] == 9.5]
    assert steep and steep[0]["basis"] == "实测"
    assert any(p["measured"] == 15 and "7.1.10" in p["clause"] for p in lanes)  # a 15 t garage roof
    table = ok(shared, "access-review")
    assert table.startswith("场所结论：符合 ") and "不符合 " in table and "无法核查 " in table
    counts = review["verdicts"]["counts"]
    assert f"不符合 {counts['fail']} 处" in table.splitlines()[0]
    assert "消防车道（地库坡道 9.5%）：坡度 9.5%（实测），应不大于 8%" in table
    assert "尽头式消防车道（10×10 m 回车场）：尽头式车道回车场 10×10 m，重型消防车应不小于 18×18 m" in table


def test_access_review_unknown_township(shared: Path) -> None:
    err = refused(shared, "access-review", "--township", "火星乡")
    assert "--township" in err and "没有乡镇 '火星乡'" in err and "哈拉布拉镇" in err


# ---------------------------------------------------------------------------- locate


def test_locate_adds_coverage_and_proves_optimality(shared: Path) -> None:
    out = json.loads(ok(shared, "locate", "-k", "2", "--format", "json"))
    assert len(out["sites"]) == 2 and out["optimal"] and out["gap"] == 0
    assert out["radius_min"] == 4  # 5 min standard less 60 s turnout
    assert out["after"]["covered_weight"] > out["before"]["covered_weight"]
    assert out["objective"] == out["after"]["covered_weight"] >= out["greedy_objective"]
    table = ok(shared, "locate")
    assert table.startswith("MCLP：新增 1 处，候选点 315 个，已证明最优")
    assert "覆盖（行车 4分00秒内，防护目标人口）：65.8% → 67.5%" in table
    assert re.search(r"最长行车时间：(\d+小时)?\d+分\d\d秒 → (\d+小时)?\d+分\d\d秒\n", table)
    assert re.search(r"用时 (\d+分)?\d+秒）", table)
    assert " min" not in table and not re.search(r"\d s\b", table)


def test_locate_bad_kinds(shared: Path) -> None:
    assert "没有队伍类型 'ufo'" in refused(shared, "locate", "--kinds", "ufo")


# ---------------------------------------------------------------------------- route


def test_route_through_town(shared: Path) -> None:
    summary = json.loads(ok(shared, "route", "--from", "82.98,46.20", "--to", "83.0,46.21"))
    assert summary["duration_s"] == pytest.approx(282.5, abs=0.05)
    assert summary["distance_m"] == pytest.approx(2783.8, abs=0.05)
    g219 = next(r for r in summary["roads"] if r["ref"] == "G219")
    assert g219["name"] == "建设路（G219城区段）" and g219["distance_m"] == 1200.0
    assert sum(r["distance_m"] for r in summary["roads"]) == pytest.approx(summary["distance_m"], abs=1)
    assert summary["geometry"]["type"] == "LineString"


def test_route_bad_input(shared: Path) -> None:
    err = refused(shared, "route", "--from", "东门", "--to", "83.0,46.21")
    assert "--from" in err and "应为 经度,纬度" in err
    err = refused(shared, "route", "--from", "82.98,46.20", "--to", "83.0,46.21", "--vehicle", "tank")
    assert "--vehicle" in err and "没有车辆类型 'tank'" in err and "fire_engine" in err


# ---------------------------------------------------------------------------- import-osm

_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="safemap-test">
  <node id="1" lat="{lat:.3f}" lon="{lon0:.3f}" version="1"/>
  <node id="2" lat="{lat:.3f}" lon="{lon1:.3f}" version="1"/>
  <node id="3" lat="{lat:.3f}" lon="{lon2:.3f}" version="1"/>
  <node id="4" lat="{lat_s:.3f}" lon="{lon1:.3f}" version="1"/>
  <node id="5" lat="{lat_n:.3f}" lon="{lon1:.3f}" version="1"/>
  <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="primary"/><tag k="name" v="测试路"/><tag k="maxspeed" v="60"/></way>
  <way id="11" version="1"><nd ref="4"/><nd ref="2"/><nd ref="5"/>
    <tag k="highway" v="residential"/><tag k="oneway" v="yes"/></way>
</osm>
"""


def _osm(path: Path, lon: float, lat: float) -> Path:
    """Two ways crossing at a shared node: four road segments once cut at the junction."""
    text = _OSM.format(lat=lat, lon0=lon - 0.005, lon1=lon, lon2=lon + 0.005, lat_s=lat - 0.005, lat_n=lat + 0.005)
    path.write_text(text, encoding="utf-8")
    return path


def _road_count(store: Path) -> int:
    line = next(x for x in ok(store, "layers").splitlines() if x.startswith("roads "))
    return int(line.split()[-1])


def test_import_osm_cuts_at_the_junction(own: Path, tmp_path: Path) -> None:
    before = _road_count(own)
    osm = _osm(tmp_path / "crossing.osm", 82.905, 46.300)
    assert ok(own, "import-osm", str(osm), "--dry-run").strip() == "可导入 4 条道路（按交叉口切分）"
    assert _road_count(own) == before
    assert ok(own, "import-osm", str(osm), "--actor", "测绘员").strip() == "已导入 4 条道路（按交叉口切分）"
    assert _road_count(own) == before + 4
    entry = json.loads(ok(own, "audit", "--layer", "roads", "--limit", "1"))
    assert (entry["actor"], entry["action"], entry["note"]) == ("测绘员", "import", "OSM crossing.osm")


def test_import_osm_says_which_ways_the_extract_cut(own: Path, tmp_path: Path) -> None:
    """A way whose end node lies outside the extract keeps its part inside, and the CLI says so."""
    osm = _osm(tmp_path / "cut.osm", 82.905, 46.300)
    text = osm.read_text(encoding="utf-8").replace('<nd ref="3"/>', '<nd ref="3"/><nd ref="77"/>')
    osm.write_text(text, encoding="utf-8")
    out = ok(own, "import-osm", str(osm), "--dry-run").strip().splitlines()
    assert out[0] == "可导入 4 条道路（按交叉口切分）"
    assert out[1].startswith("1 条道路部分节点不在数据范围内，已保留范围内的部分（共缺 1 个节点位置")


def test_import_osm_bad_files(own: Path, tmp_path: Path) -> None:
    before = _road_count(own)
    far = _osm(tmp_path / "helsinki.osm", 24.94, 60.17)
    err = refused(own, "import-osm", str(far))
    assert "4 处问题，未导入任何道路" in err and "第 1 行 geometry: 坐标超出服务区域" in err
    junk = tmp_path / "junk.osm"
    junk.write_text("not osm", encoding="utf-8")
    assert "无法读取 OSM 文件 junk.osm" in refused(own, "import-osm", str(junk))
    clip = tmp_path / "clip.geojson"
    clip.write_text('{"type": "Point", "coordinates": [82.9, 46.3]}', encoding="utf-8")
    osm = _osm(tmp_path / "ok.osm", 82.905, 46.300)
    assert "中没有多边形边界" in refused(own, "import-osm", str(osm), "--clip", str(clip))
    assert _road_count(own) == before
