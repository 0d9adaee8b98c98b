"""The ``safemap`` command line on the embedded store (as `make run` uses it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from safemap.layers.model import Actor
from safemap.layers.store import open_store
from tests.support.cli import run


def test_demo_is_built_once_and_edits_survive(env: Path) -> None:
    code, out = run("demo", "--if-missing")
    assert code == 0 and "演示数据已生成" in out and "roads" in out
    assert re.search(r"演示数据已生成（用时 (\d+分)?\d+秒）：", out)  # 分秒, not "12.3 s"
    # Graded by the editing service. 11 = 8 sources major on their own + the park's three LPG tanks, which
    # are one GB 18218 storage unit (one dike, S = 3 × 23.38 / 50 = 1.4028) and carry its grade (issue 11).
    assert "GB 18218 分级：42 个危险源，其中重大危险源 11 个" in out
    store = open_store(env)
    road = store.query("roads", limit=1).rows[0]
    edit = {"properties": {"version": road["version"], "status": "closed"}}
    store.update("roads", road["id"], edit, Actor("调度员", "dispatcher"))
    store.close()
    code, out = run("demo", "--if-missing")  # the second `make run`
    assert code == 0 and "保留现有数据" in out
    store = open_store(env)
    assert store.get("roads", road["id"])["properties"]["status"] == "closed"
    store.close()
    code, out = run("demo")
    assert code != 0 and "--force" in out
    code, out = run("layers")
    assert code == 0 and "enterprises" in out and "企业" in out


def test_tokens(env: Path) -> None:
    code, secret = run("token", "create", "--name", "张三", "--role", "planner")
    assert code == 0 and secret.strip().startswith("sm_")
    code, listing = run("token", "list")
    assert "张三" in listing and "planner" in listing and "有效" in listing
    token_id = listing.split()[0]
    assert run("token", "revoke", token_id)[0] == 0
    assert "已吊销" in run("token", "list")[1]
    code, out = run("token", "create", "--name", "李四", "--role", "boss")
    assert code != 0 and "boss" in out


def test_import_export_and_audit(env: Path, tmp_path: Path) -> None:
    good = tmp_path / "firms.csv"
    good.write_text("名称,行业类别,风险等级,经度,纬度\n裕民县永安加油站,加油站,黄,82.985,46.205\n", encoding="utf-8")
    code, out = run("import", "enterprises", str(good), "--as", "王五")
    assert code == 0 and "已导入 1 个要素" in out
    bad = tmp_path / "bad.csv"
    rows = ["名称,行业类别,风险等级,经度,纬度", "甲,加油站,紫,82.985,46.205", "乙,加油站,红,116.4,39.9"]
    bad.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, out = run("import", "enterprises", str(bad))
    assert code == 2 and "第 2 行" in out and "risk_level" in out and "第 3 行" in out
    out_file = tmp_path / "out.geojson"
    code, out = run("export", "enterprises", str(out_file), "--where", "risk_level=yellow")
    assert code == 0 and "已导出 1 个要素" in out
    assert json.loads(out_file.read_text())["features"][0]["properties"]["name"] == "裕民县永安加油站"
    code, out = run("audit", "--layer", "enterprises")
    assert code == 0 and '"actor": "王五"' in out and '"action": "import"' in out
    assert run("migrate")[0] == 0


def _geojson(path: Path, *features: dict) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}), encoding="utf-8")
    return path


def _hazard(env: Path) -> dict:
    store = open_store(env)
    try:
        return store.query("hazard_sources", limit=1).features()[0]["properties"]
    finally:
        store.close()


def test_imported_hazard_sources_are_graded(env: Path, tmp_path: Path) -> None:
    """GB 18218-2018 worked example: 50 t liquid chlorine (Q 5 t, β 4), then 100 people within 500 m.

    S = 50/5 = 10 ≥ 1: a major hazard source. With nobody within 500 m α = 0.5, so
    R = 0.5 × 4 × 10 = 20 (三级); once a school of 100 is imported 200 m away α = 2 and
    R = 2 × 4 × 10 = 80 (二级). The CLI import goes through the editing service, which
    keeps the grades current after every write to hazard sources or protected targets.
    """
    firm = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [82.9852, 46.2049]},
        "properties": {"name": "裕民县氯碱化工有限公司", "industry": "hazchem_storage", "risk_level": "red"},
    }
    code, out = run("import", "enterprises", str(_geojson(tmp_path / "firms.geojson", firm)))
    assert code == 0, out
    store = open_store(env)
    firm_id = store.query("enterprises", limit=1).rows[0]["id"]
    store.close()
    ring = [[82.9850, 46.2050], [82.9854, 46.2050], [82.9854, 46.2053], [82.9850, 46.2053], [82.9850, 46.2050]]
    tank = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {
            "name": "液氯储罐区",
            "enterprise_id": firm_id,
            "kind": "storage_tank",
            "substances": [{"name": "液氯", "cas": "7782-50-5", "quantity_t": 50}],
        },
    }
    code, out = run("import", "hazard_sources", str(_geojson(tmp_path / "tanks.geojson", tank)))
    assert code == 0 and "已导入 1 个要素到 hazard_sources" in out
    graded = _hazard(env)
    assert graded["s_value"] == pytest.approx(10.0)
    assert graded["exposed_population"] == 0
    assert graded["r_value"] == pytest.approx(20.0) and graded["grade"] == 3

    school = {  # about 200 m east of the tanks (1° of longitude is 77 km here)
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [82.9880, 46.2051]},
        "properties": {"name": "裕民县第二小学", "category": "school", "population": 100},
    }
    code, out = run("import", "protected_targets", str(_geojson(tmp_path / "school.geojson", school)))
    assert code == 0, out
    regraded = _hazard(env)
    assert regraded["exposed_population"] == 100
    assert regraded["s_value"] == pytest.approx(10.0)
    assert regraded["r_value"] == pytest.approx(80.0) and regraded["grade"] == 2  # 二级
    code, out = run("grade-hazards")
    assert code == 0 and "已分级 1 个危险源：重大危险源 1 个，更新 0 个" in out
    assert "S=10" in out and "R=80" in out and "等级 二级" in out and "500m内 100 人" in out
