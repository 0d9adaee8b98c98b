"""园区整体性安全风险评估 (issue 18 item 2): the service, ``/api/park/*`` and ``safemap park assess``.

Known answers used:

- The demo park is laid out as 1.6 km × 1.1 km (``layers/demo/park.py``: WEST 2300 m … EAST
  3900 m, SOUTH −2600 m … NORTH −1500 m from the town centre): 1.76 km².
- The F–N acceptance lines (GB 36894-2018 as read by Cheng et al., *Processes* 2023, 11, 1442;
  ``reference/safety-standards.md`` §2) pass through (N = 10, F = 10⁻⁴) and (N = 10, F = 10⁻⁶):
  F = 2×10⁻⁶ at N = 10 lies between them (ALARP); F = 2×10⁻³ at N = 1 is above 10⁻³/1
  (不可接受); so is F = 2×10⁻⁴ at N = 10 (above 10⁻⁴).
- A proposed LPG tank (40 t) inside the park, about 60 m from the vocational school (a
  high-sensitivity target, GB 36894 新建 limit 3×10⁻⁷/年): the ``risk_scenarios`` table gives an
  LPG tank a BLEVE at 3.5×10⁻⁷/年 and a VCE at 1.5×10⁻⁷/年 (TNO Purple Book CPR 18E 表3.1 ×
  ignition). The school lies inside the fireball (R = 2.9 W^⅓ m, W = 50 % of 40 t; reference §4.3),
  where the lethality is close to 1, and beyond the VCE's lethal radius: the risk from the new
  tank is ≈ 3.5×10⁻⁷/年 (at most 5.0×10⁻⁷), above 3×10⁻⁷: 不予准入, naming the school.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape
from shapely.ops import nearest_points

from safemap.api.http.app import create_app
from safemap.api.services import park_admission, park_assessment
from safemap.api.settings import Settings
from safemap.layers.model import SYSTEM
from safemap.layers.store import FeatureStore
from safemap.layers.validation import validate_feature
from tests.support.cli import cli_env, run
from tests.support.demo import DemoCounty, copy_demo

CHROMIUM = Path("/usr/bin/chromium")
SCHOOL = "裕民县职业技术学校"
PARK = "裕民县工业园区"


@pytest.fixture(scope="module")
def client(demo_store: FeatureStore) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(CHROMIUM), store=demo_store)) as c:
        yield c


def _settings(chromium: Path) -> Settings:
    # No background workers: they write to the store (warning outbox, live checks), and the shared
    # demo store must stay unchanged.
    return Settings(
        basemap="none", gpkg_path=Path("unused.gpkg"), chromium_path=chromium, warning_worker=False, live_worker=False
    )


def _park(store: FeatureStore) -> Any:
    frame = store.to_geodataframe("admin_boundaries")
    return frame[frame["level"] == "industrial_park"].geometry.iloc[0]


def _lpg_next_to_school(store: FeatureStore, quantity_t: float = 40.0) -> dict[str, Any]:
    """A point inside the park, ~60 m from the school: the park edge nearest the school, 0.0004° (≈30 m) in."""
    targets = store.to_geodataframe("protected_targets")
    school = targets[targets["name"] == SCHOOL].geometry.iloc[0]
    edge = nearest_points(_park(store), school)[0]
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [edge.x + 0.0004, edge.y]},
        "properties": {
            "name": "拟建液化石油气储罐",
            "kind": "lpg_tank",
            "substances": [{"name": "液化石油气", "quantity_t": quantity_t}],
        },
    }


# ---------------------------------------------------------------------------- the service


def test_units_listed_are_the_hazard_sources_inside_the_park(demo_store: FeatureStore) -> None:
    area = park_assessment.resolve_area(demo_store, name=PARK)
    result = park_assessment.assess(demo_store, area)
    hazards = demo_store.to_geodataframe("hazard_sources")
    inside = hazards[shapely.intersects(hazards.geometry.to_numpy(), _park(demo_store))]
    assert len(inside) > 10
    assert sorted(s["id"] for s in result["sources"]) == sorted(int(i) for i in inside["id"])
    for s in result["sources"]:
        assert s["grade_label"] in ("一级", "二级", "三级", "四级", "非重大危险源")
    ents = demo_store.to_geodataframe("enterprises")
    assert len(result["enterprises"]) == int(shapely.intersects(ents.geometry.to_numpy(), _park(demo_store)).sum())
    assert all(e["industry_label"] and "（" in e["risk_level_label"] for e in result["enterprises"])
    assert result["area"]["area_km2"] == pytest.approx(1.76, rel=0.01)
    assert result["risk"]["scenarios"] > 0 and result["risk"]["max_ir_per_year"] > 0
    assert [b["level_per_year"] for b in result["risk"]["bands"]] == [3e-5, 1e-5, 3e-6, 3e-7]
    levels = {f["properties"]["level_per_year"] for f in result["risk"]["contours"]["features"]}
    assert levels <= {3e-5, 1e-5, 3e-6, 3e-7} and levels
    for band in result["risk"]["bands"]:  # each target counted in the band its IR falls in
        for t in band["targets"]:
            assert t["ir_per_year"] >= band["level_per_year"]
    assert result["fn"]["verdict"] in (park_assessment.UNACCEPTABLE, park_assessment.ALARP, park_assessment.ACCEPTABLE)


def test_societal_verdict_known_answers() -> None:
    v = park_assessment.societal_verdict
    assert v([(10.0, 2e-6)], scenarios=1, population=100)["verdict"] == park_assessment.ALARP
    assert v([(1.0, 2e-3)], scenarios=1, population=100)["verdict"] == park_assessment.UNACCEPTABLE
    assert v([(10.0, 2e-4)], scenarios=1, population=100)["verdict"] == park_assessment.UNACCEPTABLE
    assert v([(10.0, 5e-7)], scenarios=1, population=100)["verdict"] == park_assessment.ACCEPTABLE
    # Nothing checked is never a pass.
    none = v([], scenarios=3, population=0)
    assert none["verdict"] == park_assessment.UNKNOWN and "人数" in none["reason"]
    assert v([], scenarios=0, population=500)["verdict"] == park_assessment.UNKNOWN
    assert park_assessment.band_of(3e-5) == 3e-5 and park_assessment.band_of(2.9e-7) is None


def test_empty_area_cannot_be_judged(demo_store: FeatureStore) -> None:
    """A drawn square in the empty steppe far from every source: nothing inside, no scenario."""
    remote = shapely.box(82.30, 46.45, 82.31, 46.46)
    area = park_assessment.resolve_area(demo_store, polygon=remote, name="空旷草原")
    result = park_assessment.assess(demo_store, area)
    assert result["sources"] == [] and result["risk"]["scenarios"] == 0
    assert result["fn"]["verdict"] == park_assessment.UNKNOWN


def test_sources_outside_whose_reach_crosses_the_area_are_named(demo_store: FeatureStore) -> None:
    """The school's own plot as the area: no source inside, but the chemical warehouse ~80 m away
    (6 t of chlorine: a toxic plume reaching kilometres) is counted and named as an outside source."""
    targets = demo_store.to_geodataframe("protected_targets")
    school = targets[targets["name"] == SCHOOL].geometry.iloc[0]
    area = park_assessment.resolve_area(demo_store, polygon=school, name=SCHOOL)
    result = park_assessment.assess(demo_store, area)
    assert result["sources"] == []
    names = {o["name"] for o in result["outside_sources"]}
    assert "甲类危险化学品仓库" in names
    assert all(o["distance_m"] <= o["reach_m"] for o in result["outside_sources"])
    assert result["risk"]["scenarios"] > 0 and result["risk"]["max_ir_in_area_per_year"] > 0


def test_substance_without_qra_data_cannot_be_judged(demo_store: FeatureStore) -> None:
    feature = _lpg_next_to_school(demo_store)
    feature["properties"].update(kind="warehouse", substances=[{"name": "硝酸铵", "quantity_t": 20}])
    area = park_assessment.resolve_area(demo_store)
    result = park_assessment.assess(demo_store, area, proposed=park_assessment.parse_proposed(feature))
    adm = result["admission"]
    assert adm["verdict"] == park_assessment.UNKNOWN and "硝酸铵" in adm["reasons"][0]


def test_small_gasoline_tank_in_the_middle_is_admitted(demo_store: FeatureStore) -> None:
    """5 t of gasoline at the park's centre (≈ 500 m from the school and every other target).

    Its only scenario is a pool fire on the default 100 m² pool (point source): lethal within a
    few tens of metres, so no target gets any risk from it and the F–N curve is unchanged.
    """
    area = park_assessment.resolve_area(demo_store)
    c = area.polygon.centroid
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [c.x, c.y]},
        "properties": {
            "name": "小型汽油储罐",
            "kind": "storage_tank",
            "substances": [{"name": "汽油", "quantity_t": 5}],
        },
    }
    result = park_assessment.assess(demo_store, area, proposed=park_assessment.parse_proposed(feature))
    adm = result["admission"]
    assert adm["scenarios"] == 1 and adm["targets_over_new_limit"] == []
    assert all(t["ir_new_plants_per_year"] == 0 for t in adm["risk"]["targets"])
    assert adm["fn"]["curve"] == result["fn"]["curve"]
    expected = park_admission.ADMIT if result["domino"]["available"] else park_admission.CONDITIONAL
    assert adm["verdict"] == expected and adm["domino"]["new_pairs"] == []


# ---------------------------------------------------------------------------- the API


def test_areas_lists_the_demo_park(client: TestClient) -> None:
    r = client.get("/api/park/areas")
    assert r.status_code == 200
    (park,) = r.json()["areas"]
    assert park["name"] == PARK and park["area_km2"] == pytest.approx(1.76, rel=0.01)
    assert park["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_lpg_tank_next_to_the_school_is_not_admitted(client: TestClient, demo_store: FeatureStore) -> None:
    park_id = client.get("/api/park/areas").json()["areas"][0]["id"]
    body = {"area_id": park_id, "proposed": _lpg_next_to_school(demo_store)}
    r = client.post("/api/park/assessment", json=body)
    assert r.status_code == 200, r.text
    adm = r.json()["admission"]
    assert adm["verdict"] == park_admission.REFUSE and adm["inside_area"]
    assert any(SCHOOL in reason for reason in adm["reasons"])
    (school,) = [t for t in adm["targets_over_new_limit"] if t["target_name"] == SCHOOL]
    assert school["limit_new_per_year"] == pytest.approx(3e-7)
    # Inside the fireball (R = 2.9·W^⅓ = 2.9 × 20 000^⅓ ≈ 79 m): the BLEVE term ≈ 3.5×10⁻⁷ × P(≈1);
    # the VCE's lethal radius is far shorter. Never more than both frequencies together.
    assert school["ir_new_plants_per_year"] == pytest.approx(3.5e-7, rel=0.05)
    assert school["ir_new_plants_per_year"] <= 5.0e-7
    assert adm["max_ir_after_per_year"] >= adm["max_ir_before_per_year"]
    assert r.json()["summary"]["admission_verdict"] == park_admission.REFUSE


def test_report_html_has_every_section_and_fetches_nothing(client: TestClient, demo_store: FeatureStore) -> None:
    r = client.post("/api/park/assessment/report.html", json={"proposed": _lpg_next_to_school(demo_store)})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    for heading in (
        "一、评估范围内的企业与危险源",
        "二、个人风险",
        "三、社会风险",
        "四、多米诺效应",
        "五、入园项目准入分析",
    ):
        assert heading in html
    assert SCHOOL in html and "不予准入" in html and "<svg" in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert "<script" not in html.lower()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not installed")
def test_report_pdf(client: TestClient) -> None:
    r = client.post("/api/park/assessment/report.pdf", json={})
    assert r.status_code == 200, r.text
    assert r.content.startswith(b"%PDF") and r.headers["content-type"] == "application/pdf"


def test_pdf_without_chromium_is_503(demo_store: FeatureStore) -> None:
    with TestClient(create_app(_settings(Path("/nonexistent/chromium")), store=demo_store)) as c:
        r = c.post("/api/park/assessment/report.pdf", json={})
    assert r.status_code == 503 and "Chromium" in r.json()["message"]


def test_bad_input_is_refused_naming_the_field(client: TestClient, demo_store: FeatureStore) -> None:
    feature = _lpg_next_to_school(demo_store)
    feature["properties"]["substances"] = []
    r = client.post("/api/park/assessment", json={"proposed": feature})
    assert r.status_code == 422
    assert any("substances" in p["field"] for p in r.json()["problems"]) and "物质" in r.json()["message"]
    feature["properties"]["substances"] = [{"name": "液化石油气", "quantity_t": -5}]
    assert client.post("/api/park/assessment", json={"proposed": feature}).status_code == 422
    feature["properties"]["substances"] = [
        {"name": "液化石油气", "quantity_t": "４０"}
    ]  # full-width text, not a number
    assert client.post("/api/park/assessment", json={"proposed": feature}).status_code == 422
    del feature["properties"]["kind"]
    assert client.post("/api/park/assessment", json={"proposed": feature}).status_code == 422
    far = _lpg_next_to_school(demo_store)
    far["geometry"]["coordinates"] = [120.0, 30.0]
    r = client.post("/api/park/assessment", json={"proposed": far})
    assert r.status_code == 422 and "服务范围" in r.json()["message"]
    r = client.post("/api/park/assessment", json={"area_id": 99999})
    assert r.status_code == 404
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[83.0, 46.1], [83.1, 46.2], [83.1, 46.1], [83.0, 46.2], [83.0, 46.1]]],
    }
    assert client.post("/api/park/assessment", json={"area": bowtie}).status_code == 422
    assert client.post("/api/park/assessment", json={"stability": "G"}).status_code == 422
    assert client.post("/api/park/assessment", content=b"[").status_code == 400


# ---------------------------------------------------------------------------- the CLI


def test_cli_assess_writes_the_report(
    demo_county: DemoCounty, demo_store: FeatureStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli_env(copy_demo(demo_county, tmp_path / "cli.gpkg"), monkeypatch)
    proposed = tmp_path / "拟建.geojson"
    proposed.write_text(json.dumps(_lpg_next_to_school(demo_store), ensure_ascii=False), encoding="utf-8")
    html = tmp_path / "report.html"
    code, out = run("park", "assess", PARK, "--proposed", str(proposed), "--html", str(html))
    assert code == 0, out
    assert "入园项目准入（拟建液化石油气储罐）：不予准入" in out and SCHOOL in out
    assert "四、多米诺效应" in html.read_text(encoding="utf-8")
    code, out = run("park", "assess", "没有这个园区")
    assert code == 2 and "没有" in out
    proposed.write_text("{", encoding="utf-8")
    code, out = run("park", "assess", "--proposed", str(proposed))
    assert code == 2 and "GeoJSON" in out


# ---------------------------------------------------------------------------- run time (measured, not asserted)


def test_run_time_on_the_demo_park(demo_store: FeatureStore) -> None:
    area = park_assessment.resolve_area(demo_store)
    began = time.perf_counter()
    park_assessment.assess(demo_store, area, proposed=park_assessment.parse_proposed(_lpg_next_to_school(demo_store)))
    print(f"park assessment, demo park with a proposed unit: {time.perf_counter() - began:.2f} s")


def test_run_time_on_a_synthetic_park_of_200_units(demo_copy: FeatureStore) -> None:
    """200 synthetic sources stored in a copy of the demo, assessed over their hull: cold (first) and warm run."""
    synthetic = pytest.importorskip("tests.support.synthetic_park")
    features = synthetic.synthetic_park(n_units=200, seed=18)
    enterprise = int(demo_copy.to_geodataframe("enterprises")["id"].iloc[0])
    layer = demo_copy.layer("hazard_sources")
    clean = []
    for f in features:
        props = {k: v for k, v in f["properties"].items() if v is not None} | {"enterprise_id": enterprise}
        clean.append(validate_feature(layer, {**f, "properties": props}, partial=False, extent=demo_copy.extent))
    demo_copy.insert_clean("hazard_sources", clean, SYSTEM)
    hull = gpd.GeoSeries([shape(f["geometry"]) for f in features], crs=4326).union_all().convex_hull.buffer(0.002)
    area = park_assessment.resolve_area(demo_copy, polygon=hull, name="合成园区（200 个单元）")
    times = []
    for _ in range(2):
        began = time.perf_counter()
        result = park_assessment.assess(demo_copy, area)
        times.append(time.perf_counter() - began)
    assert len(result["sources"]) == 200
    print(f"park assessment, synthetic park of 200 units: cold {times[0]:.1f} s, warm {times[1]:.1f} s")
