"""The plan's 专栏1 indicators, their yearly report and the accident density (issue 17), through the API and CLI.

The data set is the worked example: GDP 45 亿元 and 9 deaths in 2020 (0.2 人/亿元), 60 亿元 and 8
deaths in 2023 (0.1333 人/亿元 against 0.1556 on the straight path to 0.2 × (1 − 37 %) = 0.126
in 2025: 按进度); 2022 has no GDP (无法判断). The 2020 accidents come from an Excel sheet with
the office's Chinese headers.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from safemap.api.cli.indicators import indicators as indicators_cli
from safemap.api.http.app import create_app
from safemap.api.http.routers.indicators import router as indicators_router
from safemap.api.settings import Settings
from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token

CHROMIUM = Path("/usr/bin/chromium")
YEARS = [  # year, GDP (亿元), employees of 工矿商贸 (persons); 2022 lacks its GDP
    (2020, 45.0, 20000),
    (2021, 50.0, 21000),
    (2022, None, 21000),
    (2023, 60.0, 22000),
]
SHEET = [
    ["名称", "发生时间", "行业领域", "死亡人数", "重伤人数（含急性工业中毒）", "直接经济损失（万元）", "东经", "北纬"],
    ["G219线货车追尾", "2020-03-01 10:00", "道路运输", 3, 1, 120.5, 82.985, 46.205],
    ["某厂机械伤害", "2020-06-01 15:30", "工贸", 6, 0, 300, 82.990, 46.210],
]


def _app(store: FeatureStore) -> TestClient:
    app = create_app(Settings(basemap="none", gpkg_path=Path("unused.gpkg"), chromium_path=CHROMIUM), store=store)
    # Until the lead registers the router in create_app, mount it here (once).
    if not any(getattr(r, "path", "") == "/api/indicators" for r in app.routes):
        app.include_router(indicators_router)
    return TestClient(app)


def _workbook() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "事故台账"
    for row in SHEET:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _accident(name: str, when: str, industry: str, deaths: int, lon: float = 82.98, lat: float = 46.20) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"name": name, "occurred_at": when, "industry": industry, "deaths": deaths},
    }


def _load(client: TestClient, store: FeatureStore) -> None:
    """The worked example through the API as a planner: base data, an Excel import, two 2023 accidents."""
    auth = {"Authorization": f"Bearer {create_token(store, '规划员', 'planner')}"}
    for year, gdp, employees in YEARS:
        props = {"name": f"{year}年", "year": year, "employees_gmt": employees}
        if gdp is not None:
            props["gdp_100m_yuan"] = gdp
        r = client.post("/api/layers/indicator_years", json={"type": "Feature", "properties": props}, headers=auth)
        assert r.status_code == 201, r.text
    files = {"file": ("事故台账.xlsx", _workbook(), "application/octet-stream")}
    r = client.post("/api/layers/accidents/import", files=files, headers=auth)
    assert r.status_code == 201 and r.json()["count"] == 2, r.text
    for feature in (
        _accident("建筑工地坍塌", "2023-05-01T09:00:00+08:00", "construction", 6, 82.99, 46.21),
        _accident("客车侧翻", "2023-08-01T09:00:00+08:00", "road_transport", 2, 82.97, 46.19),
        # 2020-12-31 17:00 UTC is 2021-01-01 01:00 in Beijing: a 2021 accident, without deaths.
        _accident("仓库火情", "2020-12-31T17:00:00Z", "other", 0, 82.98, 46.20),
    ):
        r = client.post("/api/layers/accidents", json=feature, headers=auth)
        assert r.status_code == 201, r.text


@pytest.fixture
def client(gpkg_store: FeatureStore) -> Iterator[TestClient]:
    with _app(gpkg_store) as c:
        _load(c, gpkg_store)
        yield c


def _by_code(table: dict, code: str) -> dict:
    return next(i for i in table["indicators"] if i["code"] == code)


def test_the_excel_import_grades_the_accidents(client: TestClient) -> None:
    rows = client.get("/api/layers/accidents", params={"limit": 100}).json()["features"]
    by_name = {f["properties"]["name"]: f["properties"] for f in rows}
    road = by_name["G219线货车追尾"]
    assert road["industry"] == "road_transport" and road["deaths"] == 3 and road["serious_injuries"] == 1
    assert road["direct_loss_wan"] == pytest.approx(120.5)
    assert road["severity"] == "large"  # 3 deaths reach 较大 (“以上”包括本数)
    assert by_name["客车侧翻"]["severity"] == "general"


def test_the_worked_example(client: TestClient) -> None:
    r = client.get("/api/indicators")
    assert r.status_code == 200, r.text
    table = r.json()
    assert table["through"] == 2023  # the latest year with data
    gdp = _by_code(table, "deaths_per_gdp")
    years = {y["year"]: y for y in gdp["years"]}
    assert years[2020]["value"] == pytest.approx(0.2) and years[2020]["numerator"] == 9
    assert years[2020]["denominator"] == 45
    assert gdp["baseline"] == pytest.approx(0.2) and gdp["target"] == pytest.approx(0.126)
    assert years[2023]["value"] == pytest.approx(8 / 60, abs=1e-5)
    assert years[2023]["state"] == "on_track" and years[2023]["state_label"] == "按进度"
    assert "0.1556" in years[2023]["reason"] and "0.1333" in years[2023]["reason"]
    assert years[2022]["state"] == "cannot_check" and years[2022]["state_label"] == "无法判断"
    assert years[2022]["value"] is None and "2022" in years[2022]["reason"] and "地区生产总值" in years[2022]["reason"]
    assert gdp["latest_state_label"] == "按进度" and gdp["target_kind_label"] == "较基准年变化（%）"
    missing = {m["year"]: m for m in table["missing_years"]}
    assert "gdp_100m_yuan" in missing[2022]["fields"] and "地区生产总值（亿元）" in missing[2022]["labels"]
    assert "gdp_100m_yuan" not in missing[2023]["fields"] and "营运车辆数" in missing[2023]["labels"]
    deaths = {y["year"]: y["value"] for y in _by_code(table, "deaths")["years"]}
    assert deaths == {2020: 9, 2021: 0, 2022: 0, 2023: 8}
    # The midnight accident counts in 2021 (Beijing time), not 2020.
    assert client.get("/api/indicators", params={"through": 2021}).json()["breakdown"]["count"] == 1
    large = {y["year"]: y["value"] for y in _by_code(table, "large_accidents")["years"]}
    assert large[2020] == 2 and large[2023] == 1
    breakdown = table["breakdown"]
    assert breakdown["year"] == 2023 and breakdown["deaths"] == 8
    assert {s["label"]: s["count"] for s in breakdown["by_severity"]}["较大事故"] == 1


def test_through_bounds_and_the_plots(client: TestClient) -> None:
    r = client.get("/api/indicators", params={"through": 1990})
    assert r.status_code == 422 and "截至年份" in r.text, r.text
    r = client.get("/api/indicators", params={"through": 2999})
    assert r.status_code == 422 and "截至年份" in r.text, r.text
    r = client.get("/api/indicators/plots/deaths_per_gdp.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content[:4] == b"\x89PNG"
    r = client.get("/api/indicators/plots/deaths_per_gdp.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml") and b"<svg" in r.content
    r = client.get("/api/indicators/plots/no_such_thing.png")
    assert r.status_code == 404 and "没有指标代码" in r.text, r.text
    assert client.get("/api/indicators/plots/deaths.gif").status_code == 404


def test_the_report(client: TestClient) -> None:
    r = client.get("/api/indicators/report.html", params={"through": 2023})
    assert r.status_code == 200, r.text
    html = r.text
    assert "专栏1指标年度报告（截至2023年）" in html
    for words in ("指标", "基准值", "目标值", "状态", "说明", "亿元GDP生产安全事故死亡率", "按进度", "无法判断"):
        assert words in html, words
    assert "0.1333" in html and "较大事故" in html and "道路运输" in html
    assert not re.search(r"https?://", html)  # self-contained: nothing fetched, no source links
    assert html.count("data:image/png;base64,") >= 8  # seven plots and the density map
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium")
    r = client.get("/api/indicators/report.pdf", params={"through": 2023})
    assert r.status_code == 200, r.text
    assert r.content.startswith(b"%PDF") and r.headers["content-type"] == "application/pdf"


def test_the_pdf_without_chromium(gpkg_store: FeatureStore, tmp_path: Path) -> None:
    settings = Settings(basemap="none", gpkg_path=Path("unused.gpkg"), chromium_path=tmp_path / "no-chromium")
    app = create_app(settings, store=gpkg_store)
    if not any(getattr(r, "path", "") == "/api/indicators" for r in app.routes):
        app.include_router(indicators_router)
    with TestClient(app) as c:
        r = c.get("/api/indicators/report.pdf", params={"through": 2023})
    assert r.status_code == 503 and "Chromium" in r.text, r.text


def test_density_of_one_accident_integrates_to_one(gpkg_store: FeatureStore) -> None:
    import rasterio
    from rasterio.io import MemoryFile

    with _app(gpkg_store) as c:
        r = c.get("/api/accidents/density")
        assert r.status_code == 422 and "没有可计算的事故" in r.text, r.text
        auth = {"Authorization": f"Bearer {create_token(gpkg_store, '规划员', 'planner')}"}
        r = c.post(
            "/api/layers/accidents", json=_accident("一起", "2023-05-01T09:00:00+08:00", "fire", 1), headers=auth
        )
        assert r.status_code == 201, r.text
        r = c.get("/api/accidents/density.tif", params={"cell_m": 50})
        assert r.status_code == 200 and r.headers["content-type"] == "image/tiff", r.text
        with MemoryFile(r.content) as mem, mem.open() as ds:
            values = ds.read(1)
            assert ds.crs == rasterio.crs.CRS.from_epsg(32644)  # Yumin's UTM zone
            assert ds.dtypes[0] == "float32" and ds.nodata is None
            assert ds.descriptions[0] == "每平方公里事故密度"
            cell_km2 = abs(ds.transform.a * ds.transform.e) / 1e6
        assert float(values.sum()) * cell_km2 == pytest.approx(1.0, abs=0.02)
        r = c.get("/api/accidents/density", params={"cell_m": 50, "radius_m": 400})
        assert r.status_code == 200, r.text
        body = r.json()
        (s, w), (n, e) = body["bounds"]
        assert s < 46.20 < n and w < 82.98 < e and body["count"] == 1 and body["radius_m"] == 400
        assert body["image"].startswith("data:image/png;base64,") and body["max_per_km2"] > 0
        for params, says in (
            ({"cell_m": 0}, "栅格边长"),
            ({"cell_m": 6000}, "栅格边长"),
            ({"cell_m": 10, "radius_m": 50000}, "栅格边长"),  # over 4 M cells: asks for a larger cell
            ({"weight": "injuries"}, "权重"),
            ({"since": "去年"}, "时间格式"),
        ):
            r = c.get("/api/accidents/density", params=params)
            assert r.status_code == 422 and says in r.text, (params, r.text)
        r = c.get("/api/accidents/density", params={"since": "2024-01-01"})
        assert r.status_code == 422 and "没有可计算的事故" in r.text


def test_the_command_line(
    client: TestClient, gpkg_store: FeatureStore, gpkg_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFEMAP_GPKG_PATH", str(gpkg_path))
    monkeypatch.delenv("SAFEMAP_DATABASE_URL", raising=False)
    monkeypatch.delenv("SAFEMAP_EXTENT", raising=False)
    runner = CliRunner()
    csv_path = tmp_path / "指标.csv"
    result = runner.invoke(indicators_cli, ["table", "--through", "2023", "--csv", str(csv_path)])
    assert result.exit_code == 0, result.output
    assert "亿元GDP生产安全事故死亡率" in result.output and "按进度" in result.output and "无法判断" in result.output
    text = csv_path.read_text(encoding="utf-8-sig")
    assert text.startswith("指标,") and "0.2," in text
    result = runner.invoke(indicators_cli, ["table", "--through", "1990"])
    assert result.exit_code == 2 and "截至年份" in result.output
    html = tmp_path / "报告.html"
    assert runner.invoke(indicators_cli, ["report", "--through", "2023", "--out", str(html)]).exit_code == 0
    assert "专栏1指标年度报告" in html.read_text(encoding="utf-8")
    svg = tmp_path / "gdp.svg"
    result = runner.invoke(indicators_cli, ["plot", "deaths_per_gdp", "--out", str(svg)])
    assert result.exit_code == 0 and b"<svg" in svg.read_bytes(), result.output
    result = runner.invoke(indicators_cli, ["plot", "nope", "--out", str(svg)])
    assert result.exit_code == 2 and "没有指标代码" in result.output
    tif = tmp_path / "density.tif"
    result = runner.invoke(indicators_cli, ["density", "--out", str(tif), "--cell-m", "100", "--weight", "deaths"])
    assert result.exit_code == 0 and tif.read_bytes()[:2] in (b"II", b"MM"), result.output
    result = runner.invoke(indicators_cli, ["density", "--out", str(tif), "--cell-m", "1"])
    assert result.exit_code == 2 and "栅格边长" in result.output


def test_both_stores_give_the_same_table(store: FeatureStore) -> None:
    """The PostGIS store reads the same numbers as the GeoPackage (times, booleans, empty cells)."""
    with _app(store) as c:
        _load(c, store)
        table = c.get("/api/indicators", params={"through": 2023}).json()
    years = {y["year"]: y for y in _by_code(table, "deaths_per_gdp")["years"]}
    assert years[2020]["value"] == pytest.approx(0.2) and years[2023]["state"] == "on_track"
    assert years[2022]["state"] == "cannot_check"
    assert _breakdown_of(table) == (2023, 2, 8)


def _breakdown_of(table: dict) -> tuple[int, int, int]:
    b = table["breakdown"]
    return b["year"], b["count"], b["deaths"]
