"""导入 from the attribute table: a county planner imports the enterprise list kept in Excel (issue 15).

The workbook is written as Excel users write it (Chinese headers, 风险等级 typed as 重大风险 /
红色, coordinates in 经度/纬度 columns); 校验 writes nothing, 导入 writes all rows, the table
and the map follow; a bad row is refused with its Excel row number and the field in Chinese.
A viewer sees no 导入 button.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from playwright.sync_api import expect

from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token
from tests.webmap.browsing import LiveServer, Visit, app_for

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots14")


def _workbook(path: Path, rows: list[tuple[Any, ...]]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "企业名录"
    ws.append(["名称", "行业类别", "风险等级", "经度", "纬度"])
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


def _count(store: FeatureStore) -> int:
    return store.counts()["enterprises"]


@pytest.fixture
def server(demo_copy: FeatureStore) -> Any:
    s = LiveServer(app_for(demo_copy))
    yield s
    s.stop()


def _open_table(v: Visit, token: str) -> None:
    v.js("t => { SafeMap.setToken(t); }", token)
    v.page.wait_for_function(
        "() => SafeMap.edit.layers && SafeMap.edit.layers.indexOf('enterprises') >= 0", timeout=15_000
    )
    v.js("() => { SafeMap.table.open('enterprises'); }")
    v.page.wait_for_function("() => SafeMap.table.state() && SafeMap.table.state().total > 0", timeout=15_000)


def test_planner_imports_an_excel_list(
    browser: Any, demo_copy: FeatureStore, server: LiveServer, tmp_path: Path
) -> None:
    token = create_token(demo_copy, "规划员甲", "planner")
    good = _workbook(
        tmp_path / "企业名录.xlsx",
        [
            ("裕民县新建加油站", "加油站", "重大风险", 82.9801, 46.2011),
            ("城东仓储公司", "危化品经营（带储存）", "红色", 82.99, 46.205),
        ],
    )
    bad = _workbook(
        tmp_path / "有误.xlsx",
        [("甲", "加油站", "较大风险", 82.98, 46.2), ("乙", "加油站", "紫色", 82.98, 46.2)],
    )
    before = _count(demo_copy)
    v = Visit(browser, server.url, size=(1600, 1000))
    try:
        _open_table(v, token)
        v.page.click(".sm-tb-import")
        dialog = v.page.locator(".sm-imp")
        expect(dialog).to_be_visible()
        expect(dialog.locator(".sm-imp-title")).to_have_text("导入到「企业」")
        # A bad row: nothing written, its Excel row and the field named in Chinese.
        v.page.set_input_files(".sm-imp input[type=file]", str(bad))
        v.page.click(".sm-imp-go")
        result = dialog.locator(".sm-imp-result")
        expect(result).to_contain_text("未导入")
        expect(result).to_contain_text("第 3 行")
        expect(result).to_contain_text("风险等级")
        assert _count(demo_copy) == before
        # 校验 writes nothing, 导入 writes both rows.
        v.page.set_input_files(".sm-imp input[type=file]", str(good))
        v.page.click(".sm-imp-check")
        expect(result).to_contain_text("校验通过：可导入 2 个企业（尚未写入）")
        assert _count(demo_copy) == before
        v.page.click(".sm-imp-go")
        expect(result).to_contain_text("已导入 2 个企业")
        v.page.screenshot(path=str(SHOTS / "import-excel-1600.png"))
        assert _count(demo_copy) == before + 2
        v.page.wait_for_function("n => SafeMap.table.state().total === n", arg=before + 2, timeout=15_000)
        expect(v.page.locator(".sm-tb-layer option:checked")).to_have_text(f"企业（{before + 2}）")
        added = demo_copy.query("enterprises", q="裕民县新建加油站", limit=5)
        assert added.rows[0]["risk_level"] == "red" and added.rows[0]["industry"] == "fuel_station"
        geom = added.geometries[0]
        assert (geom.x, geom.y) == (82.9801, 46.2011)  # 0.00 m from the workbook
        assert v.errors == []
    finally:
        v.close()


def test_a_viewer_sees_no_import(browser: Any, demo_copy: FeatureStore, server: LiveServer) -> None:
    v = Visit(browser, server.url, size=(390, 844))
    try:
        v.js("() => { SafeMap.table.open('enterprises'); }")
        v.page.wait_for_function("() => SafeMap.table.state() && SafeMap.table.state().total > 0", timeout=15_000)
        expect(v.page.locator(".sm-tb-import")).to_be_hidden()
    finally:
        v.close()
