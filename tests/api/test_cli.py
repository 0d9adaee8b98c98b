"""The ``safemap`` command line on the embedded store (as `make run` uses it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from safemap.api.cli.main import main
from safemap.layers.store import Actor, open_store


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.gpkg"
    monkeypatch.setenv("SAFEMAP_GPKG_PATH", str(path))
    monkeypatch.delenv("SAFEMAP_DATABASE_URL", raising=False)
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_demo_is_built_once_and_edits_survive(env: Path) -> None:
    code, out = run("demo", "--if-missing")
    assert code == 0 and "演示数据已生成" in out and "roads" in out
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
    assert "张三" in listing and "planner" in listing and "active" in listing
    token_id = listing.split()[0]
    assert run("token", "revoke", token_id)[0] == 0
    assert "revoked" in run("token", "list")[1]
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
