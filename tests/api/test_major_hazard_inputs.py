"""GB 18218 as planners type it (issue 11): CAS and names, units of mass, flash points, and units of the standard.

Worked numbers (reference/safety-standards.md §1): chlorine Q 5 t, β 4; ammonia Q 10 t, β 2;
LPG Q 50 t, β 1.5 (Table 4 W2); diesel W5.4 Q 5000 t, β 1 (Table 1.1 柴油 row, Table 1.2);
α (Table 1.5): 0 people 0.5, 1–29 1.0, ≥ 100 2.0; grades (Table 1.6): R < 10 四级, 10 ≤ R < 50 三级.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from safemap.api.cli.group import main
from safemap.api.http.app import create_app
from safemap.api.settings import Settings
from safemap.layers.model import SYSTEM
from safemap.layers.store import FeatureStore, open_store
from safemap.layers.tokens import create_token
from tests.support.demo import YUMIN_EXTENT as EXTENT

#: A spot in the demo county 2.7 km from the nearest protected target (nobody within 500 m).
LON, LAT = 83.05, 46.12
#: Metres per degree of longitude / latitude here (46.12° N).
M_LON, M_LAT = 77_200.0, 111_200.0


@pytest.fixture(scope="module")
def client(demo_store: FeatureStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(basemap="none", gpkg_path=Path("unused.gpkg")), store=demo_store)) as c:
        yield c


def _grade(client: TestClient, *subs: dict[str, Any], people: int = 0) -> Any:
    return client.post("/api/safety/major-hazard", json={"substances": list(subs), "exposed_population": people})


# ---------------------------------------------------------------------------- the request: substances as typed


@pytest.mark.parametrize("cas", ["7782 - 50 - 5", "7782－50－5", "７７８２－５０－５", "7782505", "7782-50-5"])
def test_cas_variants(client: TestClient, cas: str) -> None:
    # 5 t of chlorine (Q 5 t): S = 1, major; 100 people → α 2: R = 2 × 4 × 1 = 8 → 四级.
    r = _grade(client, {"cas": cas, "quantity_t": 5}, people=100)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["S"], out["is_major"], out["R"], out["grade"]) == (1.0, True, 8.0, 4)
    assert out["terms"][0]["cas"] == "7782-50-5" and out["terms"][0]["entry"] == "氯"


def test_bad_check_digit_is_422_on_the_cas_field(client: TestClient) -> None:
    r = _grade(client, {"name": "液氯", "cas": "7782-50-4", "quantity_t": 5})
    assert r.status_code == 422
    problem = r.json()["problems"][0]
    assert problem["field"] == "substances.0.cas" and "校验位错误" in problem["message"]


def test_name_cas_conflict_is_422_naming_both(client: TestClient) -> None:
    r = _grade(client, {"name": "液氯", "quantity_t": 1}, {"name": "氯", "cas": "7664-41-7", "quantity_t": 5})
    assert r.status_code == 422
    problems = r.json()["problems"]
    assert [p["field"] for p in problems] == ["substances.1.name", "substances.1.cas"]
    message = problems[0]["message"]
    for part in ("物质名称", "CAS号", "氯（CAS 7782-50-5）", "氨（CAS 7664-41-7）"):
        assert part in message


def test_order_of_classes_does_not_change_r(client: TestClient) -> None:
    # J3 and W4: Q 50 t each; β 2 and 1 → 2. 100 t, 0 people: S = 2, R = 0.5 × 2 × 2 = 2.
    a = _grade(client, {"name": "某气体", "hazard_class": "J3,W4", "quantity_t": 100}).json()
    b = _grade(client, {"name": "某气体", "hazard_class": "W4,J3", "quantity_t": 100}).json()
    assert (a["S"], a["R"]) == (b["S"], b["R"]) == (2.0, 2.0)
    assert "取较大的 β = 2" in a["terms"][0]["basis"]


def test_mass_units(client: TestClient) -> None:
    # 5000 typed as tonnes of chlorine: graded (S 1000, 一级 with 100 people) but warned.
    out = _grade(client, {"name": "液氯", "quantity_t": 5000}, people=100).json()
    assert out["grade"] == 1 and any("是否把 kg 填成了 t？" in w for w in out["warnings"])
    # The same 5000 with its unit, kg: 5 t, S = 1, no warning.
    for unit in ("kg", "千克", "公斤"):
        out = _grade(client, {"name": "液氯", "quantity": 5000, "unit": unit}).json()
        assert (out["S"], out["warnings"]) == (1.0, []), unit
    assert _grade(client, {"name": "液氯", "quantity": 5, "unit": "吨"}).json()["S"] == 1.0


@pytest.mark.parametrize(
    ("sub", "field"),
    [
        ({"name": "液氯", "quantity_t": 5, "quantity": 5, "unit": "t"}, "substances.0.quantity"),
        ({"name": "液氯"}, "substances.0.quantity_t"),
        ({"name": "液氯", "quantity": 5}, "substances.0.unit"),
        ({"name": "液氯", "quantity": 5, "unit": "lb"}, "substances.0.unit"),
        ({"name": "液氯", "quantity_t": 5, "unit": "kg"}, "substances.0.unit"),
        ({"name": "液氯", "quantity_t": "5"}, "substances.0.quantity_t"),
        ({"name": "柴油", "quantity_t": 5, "flash_point_c": 900}, "substances.0.flash_point_c"),
    ],
)
def test_mass_bad_input(client: TestClient, sub: dict, field: str) -> None:
    r = _grade(client, sub)
    assert r.status_code == 422, r.text
    assert r.json()["problems"][0]["field"] == field


def test_diesel_by_flash_point(client: TestClient) -> None:
    # 55 ℃ → W5.4, Q 5000 t: 10 000 t gives S = 2. 65 ℃ → listed as outside GB 18218, S = 0.
    # No flash point: W5.4, conservative, with a note.
    hot = _grade(client, {"name": "柴油", "quantity_t": 10_000, "flash_point_c": 55}).json()
    assert (hot["S"], hot["terms"][0]["critical_t"]) == (2.0, 5000.0)
    cold = _grade(client, {"name": "柴油", "quantity_t": 10_000, "flash_point_c": 65}).json()
    assert cold["S"] == 0.0 and cold["terms"][0]["basis"] == "闪点 65 ℃ > 60 ℃，不属于 GB 18218 易燃液体，未计入S"
    unknown = _grade(client, {"name": "柴油", "quantity_t": 10_000}).json()
    assert unknown["S"] == 2.0 and any("未给出闪点" in n for n in unknown["notes"])


# ---------------------------------------------------------------------------- units of the standard, every write path


def _feature(geometry: dict, **props: object) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": props}


def _square(lon: float, lat: float, half_m: float, east_m: float = 0.0) -> dict:
    """A polygon of ± ``half_m`` around (lon, lat), stretched ``east_m`` further east (metres)."""
    dx, dy, ex = half_m / M_LON, half_m / M_LAT, east_m / M_LON
    ring = [[lon - dx, lat - dy], [lon + dx + ex, lat - dy], [lon + dx + ex, lat + dy], [lon - dx, lat + dy]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def _lpg(q: float) -> list[dict]:
    return [{"name": "液化石油气", "cas": "68476-85-7", "quantity_t": q}]


def _props(c: TestClient, layer: str, fid: int) -> dict:
    return c.get(f"/api/layers/{layer}/{fid}").json()["properties"]


def _graded(p: dict) -> tuple:
    return (p["s_value"], p["r_value"], p["grade"], p["exposed_population"])


def test_unit_grades_follow_every_api_write(demo_copy: FeatureStore) -> None:
    with TestClient(create_app(Settings(basemap="none", extent=EXTENT), store=demo_copy)) as c:
        planner = {"Authorization": f"Bearer {create_token(demo_copy, '规划员', 'planner')}"}
        ent = demo_copy.create(
            "enterprises",
            _feature(
                {"type": "Point", "coordinates": [LON, LAT]},
                name="某液化气站",
                industry="lpg_station",
                risk_level="red",
            ),
            SYSTEM,
        )
        unit = c.post(
            "/api/layers/hazard_units",
            headers=planner,
            json=_feature(
                _square(LON, LAT, 30), name="1号罐区（防火堤）", enterprise_id=ent["id"], unit_kind="storage"
            ),
        )
        assert unit.status_code == 201, unit.text
        uid = unit.json()["id"]
        tanks = []
        for k in range(3):
            r = c.post(
                "/api/layers/hazard_sources",
                headers=planner,
                json=_feature(
                    _square(LON + (k - 1) * 10 / M_LON, LAT, 2),
                    name=f"{k + 1}#液化石油气储罐",
                    enterprise_id=ent["id"],
                    unit_id=uid,
                    kind="lpg_tank",
                    substances=_lpg(20),
                ),
            )
            assert r.status_code == 201, r.text
            tanks.append(r.json()["id"])
            if k == 0:  # one tank: S = 20/50 = 0.4, not major
                assert _graded(r.json()["properties"]) == (0.4, 0.3, None, 0)
        # Three tanks of 20 t in one dike: S = 60/50 = 1.2 → major; 0 people, α 0.5: R = 0.5 × 1.5 × 1.2 = 0.9 → 四级.
        # Every member carries the unit's values.
        assert _graded(_props(c, "hazard_units", uid)) == (1.2, 0.9, 4, 0)
        for t in tanks:
            assert _graded(_props(c, "hazard_sources", t)) == (1.2, 0.9, 4, 0)

        # A school of 100 people 700 m east of the tanks: outside 500 m of the dike, nothing changes …
        school = c.post(
            "/api/layers/protected_targets",
            headers=planner,
            json=_feature(
                {"type": "Point", "coordinates": [LON + 700 / M_LON, LAT]},
                name="某小学",
                category="school",
                population=100,
            ),
        )
        assert school.status_code == 201
        assert _props(c, "hazard_units", uid)["exposed_population"] == 0
        # … until the dike outline is redrawn 300 m further east (the school is then 370 m away): α = 2,
        # R = 2 × 1.5 × 1.2 = 3.6 for the unit and every member (a write to the unit regrades the members).
        version = _props(c, "hazard_units", uid)["version"]
        moved = c.patch(
            f"/api/layers/hazard_units/{uid}",
            headers={**planner, "If-Match": f'"{version}"'},
            json={"geometry": _square(LON, LAT, 30, east_m=300)},
        )
        assert moved.status_code == 200, moved.text
        assert _graded(moved.json()["properties"]) == (1.2, 3.6, 4, 100)
        for t in tanks:
            assert _graded(_props(c, "hazard_sources", t)) == (1.2, 3.6, 4, 100)

        # One tank leaves the unit: the unit (S = 40/50 = 0.8) is no longer major, nor are its members;
        # the tank on its own is S = 0.4 with nobody within 500 m of the tank itself.
        version = _props(c, "hazard_sources", tanks[2])["version"]
        left = c.patch(
            f"/api/layers/hazard_sources/{tanks[2]}",
            headers={**planner, "If-Match": f'"{version}"'},
            json={"properties": {"unit_id": None}},
        )
        assert left.status_code == 200, left.text
        assert _graded(left.json()["properties"]) == (0.4, 0.3, None, 0)
        assert _graded(_props(c, "hazard_units", uid)) == (0.8, 2.4, None, 100)
        assert _props(c, "hazard_sources", tanks[0])["grade"] is None

        # A member's quantity grows to 40 t: S = (40 + 20)/50 = 1.2 again, R = 2 × 1.5 × 1.2 = 3.6.
        version = _props(c, "hazard_sources", tanks[0])["version"]
        grown = c.patch(
            f"/api/layers/hazard_sources/{tanks[0]}",
            headers={**planner, "If-Match": f'"{version}"'},
            json={"properties": {"substances": _lpg(40)}},
        )
        assert grown.status_code == 200
        assert _graded(_props(c, "hazard_sources", tanks[1])) == (1.2, 3.6, 4, 100)

        # A member is deleted: the unit holds 40 t, S = 0.8, not major.
        version = _props(c, "hazard_sources", tanks[1])["version"]
        gone = c.delete(f"/api/layers/hazard_sources/{tanks[1]}", headers={**planner, "If-Match": f'"{version}"'})
        assert gone.status_code in (200, 204), gone.text
        assert _graded(_props(c, "hazard_units", uid)) == (0.8, 2.4, None, 100)

        # A unit that still has members cannot be deleted (the store names the referring layer).
        version = _props(c, "hazard_units", uid)["version"]
        refused = c.delete(f"/api/layers/hazard_units/{uid}", headers={**planner, "If-Match": f'"{version}"'})
        assert refused.status_code == 409 and "危险源" in refused.json()["message"]

        # The listing shows the unit with its members.
        listed = c.get("/api/safety/hazard-grades").json()
        mine = [u for u in listed["units"] if u["id"] == uid]
        assert mine and mine[0]["member_ids"] == [tanks[0]] and mine[0]["s_value"] == 0.8


def test_a_name_cas_conflict_is_refused_on_write(demo_copy: FeatureStore) -> None:
    with TestClient(create_app(Settings(basemap="none", extent=EXTENT), store=demo_copy)) as c:
        planner = {"Authorization": f"Bearer {create_token(demo_copy, '规划员', 'planner')}"}
        ent_id = demo_copy.query("enterprises", limit=1).rows[0]["id"]
        r = c.post(
            "/api/layers/hazard_sources",
            headers=planner,
            json=_feature(
                _square(LON, LAT, 5),
                name="液氯钢瓶库",
                enterprise_id=ent_id,
                kind="warehouse",
                substances=[{"name": "氯", "cas": "7664-41-7", "quantity_t": 5}],
            ),
        )
        assert r.status_code == 422
        fields = [p["field"] for p in r.json()["problems"]]
        assert fields == ["properties.substances.0.name", "properties.substances.0.cas"]
        assert "物质名称" in r.json()["problems"][0]["message"]


def test_cas_typed_loosely_is_stored_canonical(demo_copy: FeatureStore) -> None:
    with TestClient(create_app(Settings(basemap="none", extent=EXTENT), store=demo_copy)) as c:
        planner = {"Authorization": f"Bearer {create_token(demo_copy, '规划员', 'planner')}"}
        ent_id = demo_copy.query("enterprises", limit=1).rows[0]["id"]
        r = c.post(
            "/api/layers/hazard_sources",
            headers=planner,
            json=_feature(
                _square(LON, LAT, 5),
                name="液氯钢瓶库",
                enterprise_id=ent_id,
                kind="warehouse",
                substances=[{"name": "液氯", "cas": "7782 - 50 - 5", "quantity_t": 5}],
            ),
        )
        assert r.status_code == 201, r.text
        p = r.json()["properties"]
        # 5 t chlorine: S = 1; nobody within 500 m (α 0.5): R = 0.5 × 4 × 1 = 2 → 四级.
        assert p["substances"][0]["cas"] == "7782-50-5" and _graded(p) == (1.0, 2.0, 4, 0)
        bad = c.post(
            "/api/layers/hazard_sources",
            headers=planner,
            json=_feature(
                _square(LON, LAT, 5),
                name="液氯钢瓶库2",
                enterprise_id=ent_id,
                kind="warehouse",
                substances=[{"name": "液氯", "cas": "7782-50-4", "quantity_t": 5}],
            ),
        )
        assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "properties.substances.0.cas"


def test_a_source_cannot_join_another_enterprises_unit(demo_copy: FeatureStore) -> None:
    with TestClient(create_app(Settings(basemap="none", extent=EXTENT), store=demo_copy)) as c:
        planner = {"Authorization": f"Bearer {create_token(demo_copy, '规划员', 'planner')}"}
        unit = demo_copy.query("hazard_units", limit=1).rows[0]  # the demo's LPG dike
        other = next(e for e in demo_copy.query("enterprises", limit=5).rows if e["id"] != unit["enterprise_id"])
        source = next(h for h in demo_copy.query("hazard_sources").rows if h["enterprise_id"] == other["id"])
        r = c.patch(
            f"/api/layers/hazard_sources/{source['id']}",
            headers={**planner, "If-Match": f'"{source["version"]}"'},
            json={"properties": {"unit_id": unit["id"]}},
        )
        assert r.status_code == 422
        problem = r.json()["problems"][0]
        assert problem["field"] == "properties.unit_id" and "只能包含同一企业的危险源" in problem["message"]


def _geojson(path: Path, *features: dict) -> str:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}), encoding="utf-8")
    return str(path)


def test_cli_import_grades_units(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store_path = tmp_path / "cli.gpkg"
    monkeypatch.setenv("SAFEMAP_GPKG_PATH", str(store_path))
    monkeypatch.delenv("SAFEMAP_DATABASE_URL", raising=False)

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    point = {"type": "Point", "coordinates": [LON, LAT]}
    run(
        "import",
        "enterprises",
        _geojson(tmp_path / "e.geojson", _feature(point, name="某站", industry="lpg_station", risk_level="red")),
    )
    unit = _feature(_square(LON, LAT, 30), name="罐区", enterprise_id=1, unit_kind="storage")
    run("import", "hazard_units", _geojson(tmp_path / "u.geojson", unit))
    tanks = [
        _feature(
            _square(LON + (k - 1) * 10 / M_LON, LAT, 2),
            name=f"{k + 1}#罐",
            enterprise_id=1,
            unit_id=1,
            kind="lpg_tank",
            substances=_lpg(20),
        )
        for k in range(3)
    ]
    run("import", "hazard_sources", _geojson(tmp_path / "t.geojson", *tanks))
    store = open_store(store_path)
    try:
        # S = 60/50 = 1.2, nobody around (α 0.5): R = 0.9, 四级 — for the unit and each tank.
        assert [_graded(f) for f in store.query("hazard_sources").rows] == [(1.2, 0.9, 4, 0)] * 3
        assert _graded(store.query("hazard_units").rows[0]) == (1.2, 0.9, 4, 0)
    finally:
        store.close()
    out = run("grade-hazards")
    assert "已分级 3 个危险源：重大危险源 3 个，更新 0 个" in out and "分属 1 个危险化学品单元" in out

    # Flash points arrive by import too: diesel at 55 ℃ is W5.4 (Q 5000 t) — 10 000 t, S = 2,
    # R = 0.5 × 1 × 2 = 1 → 四级; at 65 ℃ it is outside GB 18218 (S = 0, no grade).
    diesel = [
        _feature(
            _square(LON, LAT + k * 100 / M_LAT, 5),
            name=f"柴油罐（闪点 {fp} ℃）",
            enterprise_id=1,
            kind="storage_tank",
            substances=[{"name": "柴油", "quantity_t": 10_000, "flash_point_c": fp}],
        )
        for k, fp in ((1, 55), (2, 65))
    ]
    run("import", "hazard_sources", _geojson(tmp_path / "d.geojson", *diesel))
    store = open_store(store_path)
    try:
        rows = {f["name"]: f for f in store.query("hazard_sources", children=True).rows}
        assert _graded(rows["柴油罐（闪点 55 ℃）"]) == (2.0, 1.0, 4, 0)
        assert _graded(rows["柴油罐（闪点 65 ℃）"]) == (0.0, 0.0, None, 0)
        assert rows["柴油罐（闪点 65 ℃）"]["substances"][0]["flash_point_c"] == 65
    finally:
        store.close()

    # A name–CAS conflict in a file is refused like one typed into the API: row, field, both substances;
    # nothing of the file is written.
    before = open_store(store_path)
    count = before.counts()["hazard_sources"]
    before.close()
    wrong = [
        _feature(
            _square(LON, LAT - 200 / M_LAT, 5),
            name="液氯库",
            enterprise_id=1,
            kind="warehouse",
            substances=[{"name": "液氯", "quantity_t": 5}],
        ),
        _feature(
            _square(LON, LAT - 300 / M_LAT, 5),
            name="氨罐",
            enterprise_id=1,
            kind="storage_tank",
            substances=[{"name": "氯", "cas": "7664-41-7", "quantity_t": 5}],
        ),
    ]
    result = CliRunner().invoke(main, ["import", "hazard_sources", _geojson(tmp_path / "w.geojson", *wrong)])
    assert result.exit_code != 0
    assert "第 2 行 substances.0.cas" in result.output and "未写入任何数据" in result.output, result.output
    assert "substances.0.cas" in result.output and "氨" in result.output and "氯" in result.output, result.output
    after = open_store(store_path)
    assert after.counts()["hazard_sources"] == count
    after.close()
