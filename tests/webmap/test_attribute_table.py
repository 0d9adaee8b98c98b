"""The attribute table (属性表, js/table.js) in headless Chromium against the real app.

70 enterprises: sort, filter by an enum, search, page, click a row (zoom + popup), map click ->
row highlighted, two rows checked and exported as CSV; opened from the layer tree; at
1600×1000, 1366×768 and 390×844 with screenshots in /tmp/shots14/.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from safemap.layers.store import FeatureStore, open_store
from tests.webmap.browsing import LiveServer, Visit, app_for
from tests.webmap.sample import ADMIN, EXTENT, feature

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots14")
RISKS = ("red", "orange", "yellow", "blue")
N = 70


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    store: FeatureStore = open_store(tmp_path_factory.mktemp("table") / "t.gpkg", extent=EXTENT)
    for i in range(N):
        store.create(
            "enterprises",
            feature(
                82.95 + (i % 10) * 0.006,
                46.18 + (i // 10) * 0.005,
                name=f"裕民县第{i + 1:02d}号企业有限公司",
                industry="hazchem_storage" if i % 2 else "fuel_station",
                risk_level=RISKS[i % 4],
                employees=(i * 37) % 101,
                contact="张工",
                source="synthetic: 测试企业" if i % 2 else "裕民县应急管理局 2025 年台账",
            ),
            ADMIN,
        )
    server = LiveServer(app_for(store, extent=EXTENT))
    yield server
    server.stop()
    store.close()


@pytest.fixture
def visit(browser: Any, server: LiveServer) -> Iterator[Visit]:
    v = Visit(browser, server.url, size=(1600, 1000))
    yield v
    v.close()


def _shot(v: Visit, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    v.painted()
    v.page.screenshot(path=str(SHOTS / name))


def _open(v: Visit) -> Any:
    v.page.click(".sm-tb-button a")
    table = v.page.locator(".sm-tb")
    expect(table).to_be_visible()
    expect(table.locator(".sm-tb-pos")).to_contain_text(f"共 {N} 条")
    return table


def _column(v: Visit, field: str) -> list[str]:
    return v.js(
        """(field) => {
          const ths = [...document.querySelectorAll('.sm-tb thead th')];
          const at = ths.findIndex(th => th.dataset.field === field);
          return [...document.querySelectorAll('.sm-tb tbody tr[data-id]')].map(tr => tr.cells[at].textContent);
        }""",
        field,
    )


def _no_page_scroll(v: Visit) -> None:
    assert v.js("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert v.js("document.body.scrollWidth <= window.innerWidth")


def test_table_sort_filter_search_page_zoom_and_export(visit: Visit) -> None:
    v, page = visit, visit.page
    table = _open(v)
    expect(table.locator(".sm-tb-layer")).to_have_value("enterprises")
    rows = table.locator("tbody tr[data-id]")
    expect(rows).to_have_count(50)
    headers = table.locator("thead").inner_text()
    assert "名称" in headers and "风险等级" in headers and "从业人员（人）" in headers
    # Enum values by their Chinese labels, never codes.
    risks = _column(v, "risk_level")
    assert risks and all(r[0] in "红橙黄蓝" for r in risks), risks
    assert not {"red", "blue"} & set(risks)
    # A demo record's source reads 合成演示数据, as in the popup; a real one as written.
    sources = set(_column(v, "source"))
    assert sources == {"合成演示数据：测试企业", "裕民县应急管理局 2025 年台账"}, sources
    _shot(v, "table-1600x1000.png")
    _no_page_scroll(v)

    # Sort by 从业人员, ascending then descending (over the whole layer, by the API).
    head = table.locator('th[data-field="employees"]')
    head.click()
    expect(head).to_have_attribute("aria-sort", "ascending")
    expect(rows.first.locator("td").nth(_index(v, "employees"))).to_have_text("0")
    numbers = [int(x) for x in _column(v, "employees")]
    assert numbers == sorted(numbers)
    head.click()
    expect(head).to_have_attribute("aria-sort", "descending")
    expect(rows.first.locator("td").nth(_index(v, "employees"))).to_have_text("100")

    # Filter: 风险等级 = 红 (a pick list of Chinese labels).
    table.locator(".sm-tb-ftoggle").click()
    pick = table.locator('.sm-tb-filters select[data-field="risk_level"]')
    labels = pick.locator("option").all_inner_texts()
    assert labels[0] == "全部" and any(label.startswith("红") for label in labels)
    pick.select_option("red")
    red = len(range(0, N, 4))
    expect(table.locator(".sm-tb-pos")).to_contain_text(f"共 {red} 条")
    assert all(r.startswith("红") for r in _column(v, "risk_level"))
    expect(table.locator(".sm-tb-ftoggle")).to_have_text("筛选（1）")

    # Search a name within the filter, then clear both.
    table.locator(".sm-tb-q").fill("第05号")
    expect(table.locator(".sm-tb-pos")).to_contain_text("共 1 条")
    expect(rows).to_have_count(1)
    assert "裕民县第05号企业有限公司" in rows.first.inner_text()
    table.locator(".sm-tb-q").fill("")
    table.locator(".sm-tb-fclear").click()
    expect(table.locator(".sm-tb-pos")).to_contain_text(f"共 {N} 条 · 第 1 / 2 页")

    # Paging over the API.
    table.locator('[data-page="1"]').click()
    expect(table.locator(".sm-tb-pos")).to_contain_text("第 2 / 2 页")
    expect(rows).to_have_count(N - 50)
    expect(table.locator('[data-page="1"]')).to_be_disabled()
    table.locator('[data-page="-1"]').click()
    expect(table.locator(".sm-tb-pos")).to_contain_text("第 1 / 2 页")

    # Click a row: the map zooms to the feature and opens its popup.
    target = rows.nth(3)
    name = target.locator("td").nth(_index(v, "name")).inner_text()
    fid = int(target.get_attribute("data-id") or 0)
    target.locator("td").nth(_index(v, "name")).click()
    content = v.popup_shown()
    expect(content).to_contain_text(name)
    assert v.js("SafeMap.state.map.getZoom()") >= 15
    expect(target).to_have_class("sm-tb-current")

    # A click on the map highlights the feature's row: a neighbour shown above the drawer.
    v.js("SafeMap.state.map.closePopup()")
    top = table.bounding_box()["y"]  # type: ignore[index]
    other = v.js(
        """([fid, top]) => {
          const m = SafeMap.state.map, r = m.getContainer().getBoundingClientRect();
          for (const tr of document.querySelectorAll('.sm-tb tbody tr[data-id]')) {
            const id = Number(tr.dataset.id), lyr = SafeMap.find('enterprises', id);
            if (id === fid || !m.hasLayer(lyr)) continue;
            const p = m.latLngToContainerPoint(lyr.getLatLng());
            if (p.x > 80 && p.x < r.width - 400 && r.top + p.y > 200 && r.top + p.y < top - 30) return id;
          }
          return null;
        }""",
        [fid, top],
    )
    assert other is not None
    x, y = v.screen_point("enterprises", other)
    page.mouse.click(x, y)
    v.popup_shown()
    expect(table.locator(f'tbody tr[data-id="{other}"]')).to_have_class("sm-tb-current")
    assert fid != other

    # Check two rows and export them as CSV: Chinese headers, UTF-8 with BOM, 2 rows.
    picked = [rows.nth(0), rows.nth(2)]
    names = [r.locator("td").nth(_index(v, "name")).inner_text() for r in picked]
    for r in picked:
        r.locator("input[type=checkbox]").check()
    expect(table.locator(".sm-tb-sel")).to_contain_text("已选 2 条")
    _shot(v, "table-selected-1600x1000.png")
    with page.expect_download() as info:
        table.locator('.sm-tb-export [data-format="csv"]').click()
    download = info.value
    assert download.suggested_filename.startswith("企业_属性表_所选2条_")
    assert download.suggested_filename.endswith(".csv")
    raw = Path(download.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    got = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert "名称" in got[0] and "风险等级" in got[0] and "从业人员 (人)" in got[0]
    assert len(got) == 3
    at = got[0].index("名称")
    assert sorted(row[at] for row in got[1:]) == sorted(names)
    assert v.errors == [] and v.blocked == []
    # (a signed-out visitor's 401 from api/session is the sign-in box's, not the table's)
    assert [c for c in v.console if "401" not in c] == []


def _index(v: Visit, field: str) -> int:
    """Column of ``field`` in the table's rows (the checkbox is column 0)."""
    return int(
        v.js("(f) => [...document.querySelectorAll('.sm-tb thead th')].findIndex(th => th.dataset.field === f)", field)
    )


def test_open_from_layer_tree_and_at_laptop_size(browser: Any, server: LiveServer) -> None:
    v = Visit(browser, server.url, size=(1366, 768))
    try:
        button = v.page.locator('.leaflet-control-layers .sm-tb-tree[data-layer="enterprises"]')
        expect(button).to_be_visible()
        shown = v.js("SafeMap.state.map.hasLayer(SafeMap.state.layers.enterprises)")
        button.click()
        table = v.page.locator(".sm-tb")
        expect(table.locator(".sm-tb-pos")).to_contain_text(f"共 {N} 条")
        # The button opens the table without toggling the layer.
        assert v.js("SafeMap.state.map.hasLayer(SafeMap.state.layers.enterprises)") == shown
        table.locator(".sm-tb-ftoggle").click()
        _shot(v, "table-1366x768.png")
        _no_page_scroll(v)
        # The table scrolls inside itself.
        box = table.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1366
        table.locator(".sm-tb-layer").select_option("roads")
        expect(table.locator(".sm-tb-pos")).to_contain_text("共 0 条")
        expect(table.locator("thead")).to_contain_text("道路等级")
        assert v.errors == []
    finally:
        v.close()


def test_phone_sheet_with_close_button(browser: Any, server: LiveServer) -> None:
    v = Visit(browser, server.url, size=(390, 844))
    try:
        table = _open(v)
        box = table.bounding_box()
        assert box is not None and box["y"] <= 48 and box["y"] + box["height"] >= 843 and box["width"] <= 390
        _shot(v, "table-390x844.png")
        _no_page_scroll(v)
        close = table.locator(".sm-tb-close")
        expect(close).to_be_visible()
        # A row: the sheet makes way for the map, which shows the feature's popup.
        table.locator("tbody tr[data-id]").nth(1).locator("td").nth(2).click()
        expect(table).to_be_hidden()
        v.popup_shown()
        _shot(v, "table-390x844-row.png")
        v.page.click(".sm-tb-button a")
        expect(table).to_be_visible()
        close.click()
        expect(table).to_be_hidden()
        assert v.errors == []
    finally:
        v.close()
