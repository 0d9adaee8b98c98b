"""Material allocation plans on the demo county: plan, edit (409 when stale), confirm, stock moved, 422s, CSV, sheet."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from safemap.api.http.app import create_app
from safemap.api.settings import Settings
from safemap.layers.allocation_tables import parse_demand_csv
from safemap.layers.errors import Unprocessable, VersionConflict
from safemap.layers.model import Actor
from safemap.layers.paths import DATA_DIR
from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token
from tests.support.cli import run
from tests.support.demo import DemoCounty

BLIZZARD = DATA_DIR / "demo" / "allocation_blizzard.csv"
ADMIN = Actor("admin", "admin")


@pytest.fixture
def client(demo_copy: FeatureStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(basemap="none"), store=demo_copy)) as c:
        yield c


def _auth(store: FeatureStore, role: str, name: str = "调度员甲") -> dict[str, str]:
    return {"Authorization": "Bearer " + create_token(store, name, role)}


def _blizzard_body(**extra: Any) -> dict[str, Any]:
    rows = parse_demand_csv(BLIZZARD.read_text(encoding="utf-8"))
    demands = [
        {
            "name": r["name"],
            "lon": r["lonlat"][0],
            "lat": r["lonlat"][1],
            "item": r["item"],
            "quantity": r["quantity"],
            "unit": r["unit"],
            "priority": r["priority"],
        }
        for r in rows
    ]
    return {"name": "暴雪断路（演示）", "demands": demands, **extra}


def _stock(store: FeatureStore) -> dict[tuple[int, str], float]:
    out: dict[tuple[int, str], float] = {}
    for r in store.query("material_depots", limit=None, count=False).rows:
        for i in r.get("inventory", []):
            out[(int(r["id"]), i["item"])] = out.get((int(r["id"]), i["item"]), 0.0) + float(i["quantity"])
    return out


def test_plan_edit_confirm_reduces_stock_exactly(client: TestClient, demo_copy: FeatureStore) -> None:
    """The demo blizzard: 融雪剂 is held nowhere (5 t short, 无库存); the 10 kW generators are 7 in the whole
    county against 2 + 2 + 3 + 2 = 9 asked: 2 short, all 库存不足 and all at the one priority-3 row.
    Confirming takes exactly the planned quantities from each depot and writes one dispatch per depot → point.
    """
    alice = _auth(demo_copy, "dispatcher")
    viewer = _auth(demo_copy, "viewer", "查看员")
    assert client.post("/api/allocation/plans", json=_blizzard_body(), headers=viewer).status_code == 403
    from safemap.api.services import incidents

    # An incident still being handled (the demo's own incidents have ended: their plans cannot be confirmed).
    incident = incidents.create(
        demo_copy, ADMIN, incidents.IncidentInput(kind="natural", location=(83.08112, 46.41721), name="暴雪断路")
    )["id"]
    r = client.post("/api/allocation/plans", json=_blizzard_body(incident_id=incident), headers=alice)
    assert r.status_code == 201, r.text
    plan = r.json()
    pid, version = plan["plan"]["id"], plan["plan"]["version"]
    assert plan["plan"]["status"] == "draft" and plan["plan"]["status_label"] == "草稿"
    shorts = {s["item"]: s for s in plan["shortfalls"]}
    assert shorts["融雪剂"]["quantity"] == pytest.approx(5.0)
    assert shorts["融雪剂"]["reasons"][0]["code"] == "no_stock"
    assert "各储备库均无“融雪剂”库存" in shorts["融雪剂"]["reasons"][0]["text"]
    gens = [s for s in plan["shortfalls"] if s["item"].startswith("移动发电机组")]
    assert sum(s["quantity"] for s in gens) == pytest.approx(9 - 7)
    assert all(r["code"] == "stock_short" for s in gens for r in s["reasons"])
    demands = {f["id"]: f["properties"] for f in plan["demands"]["features"]}
    short_ids = {s["demand_id"] for s in gens}
    assert sum(d["unmet"] for d in demands.values()) == pytest.approx(plan["plan"]["unmet_total"]) == pytest.approx(7)
    assert all(d["served"] + d["unmet"] == pytest.approx(d["quantity"]) for d in demands.values())
    assert [demands[d]["priority"] for d in short_ids] == [3]
    # Everyone reads it.
    assert client.get(f"/api/allocation/plans/{pid}", headers=viewer).status_code == 200

    # Edit with a stale version → 409, nothing changes.
    flow = plan["flows"]["features"][0]
    stale = {"version": version + 5, "flows": [{"id": flow["id"], "quantity": 1}]}
    r = client.patch(f"/api/allocation/plans/{pid}/flows", json=stale, headers=alice)
    assert r.status_code == 409, r.text
    # A real edit: one unit less on the first flow.
    new_qty = flow["properties"]["quantity"] - 1
    edit = {"version": version, "flows": [{"id": flow["id"], "quantity": new_qty}]}
    r = client.patch(f"/api/allocation/plans/{pid}/flows", json=edit, headers=alice)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["plan"]["version"] == version + 1
    edited = next(f for f in plan["flows"]["features"] if f["id"] == flow["id"])
    assert edited["properties"]["quantity"] == new_qty and edited["properties"]["edited"] is True
    # The old version cannot confirm.
    r = client.post(f"/api/allocation/plans/{pid}/confirm", json={"version": version}, headers=alice)
    assert r.status_code == 409

    before = _stock(demo_copy)
    n_disp = demo_copy.counts()["dispatches"]
    r = client.post(f"/api/allocation/plans/{pid}/confirm", json={"version": version + 1}, headers=alice)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["plan"]["status"] == "confirmed" and done["plan"]["dispatch_plan_id"]
    after = _stock(demo_copy)
    taken: dict[tuple[int, str], float] = {}
    pairs = set()
    for f in done["flows"]["features"]:
        p = f["properties"]
        taken[(p["depot_id"], p["item"])] = taken.get((p["depot_id"], p["item"]), 0.0) + p["quantity"]
        pairs.add((p["depot_id"], p["demand_id"] and tuple(demands[p["demand_id"]]["name"])))
    for key, qty in before.items():
        assert after[key] == pytest.approx(qty - taken.get(key, 0.0)), key
    assert demo_copy.counts()["dispatches"] - n_disp == len(pairs)
    events = demo_copy.query("incident_events", filters={"incident_id": [incident]}, limit=None, count=False).rows
    assert any(e["kind"] == "dispatch" and f"物资分配方案 {pid}" in e["text"] for e in events)
    # A confirmed plan cannot be confirmed or cancelled again.
    again = client.post(f"/api/allocation/plans/{pid}/confirm", json={"version": version + 2}, headers=alice)
    assert again.status_code == 409 and "已确认" in again.json()["message"]


def test_confirm_after_stock_moved_is_409_and_writes_nothing(client: TestClient, demo_copy: FeatureStore) -> None:
    """Plan 40 tents from the 察汗托海 depot's 37 and the county's; then the county's tents go elsewhere.

    Confirm → 409 naming that depot and item; every stock stays as it was, the plan stays a draft.
    """
    alice = _auth(demo_copy, "dispatcher")
    body = {
        "name": "帐篷",
        "demands": [
            {"name": "克什玛布拉克村委会", "lon": 82.64447, "lat": 46.15041, "item": "救灾帐篷(12m²)", "quantity": 60}
        ],
    }
    r = client.post("/api/allocation/plans", json=body, headers=alice)
    assert r.status_code == 201, r.text
    plan = r.json()
    flows = plan["flows"]["features"]
    assert sum(f["properties"]["quantity"] for f in flows) == pytest.approx(60)  # full-width/space-insensitive match
    depot_id = flows[0]["properties"]["depot_id"]
    item = flows[0]["properties"]["item"]
    depot = demo_copy.get("material_depots", depot_id)
    inventory = [{**i, "quantity": 0.0} if i["item"] == item else i for i in depot["properties"]["inventory"]]
    inventory = [{k: v for k, v in i.items() if k not in ("id", "parent_id", "seq")} for i in inventory]
    demo_copy.update(
        "material_depots",
        depot_id,
        {"properties": {"inventory": inventory}},
        ADMIN,
        expected_version=depot["properties"]["version"],
    )
    before = _stock(demo_copy)
    n_disp = demo_copy.counts()["dispatches"]
    r = client.post(f"/api/allocation/plans/{plan['plan']['id']}/confirm", json={"version": 1}, headers=alice)
    assert r.status_code == 409, r.text
    message = r.json()["message"]
    assert depot["properties"]["name"] in message and item in message
    assert _stock(demo_copy) == before
    assert demo_copy.counts()["dispatches"] == n_disp
    assert client.get(f"/api/allocation/plans/{plan['plan']['id']}").json()["plan"]["status"] == "draft"
    # Re-optimising on today's stock is the way out; then cancel.
    r = client.post(f"/api/allocation/plans/{plan['plan']['id']}/optimise", json={"version": 1}, headers=alice)
    assert r.status_code == 200, r.text
    assert all(f["properties"]["depot_id"] != depot_id for f in r.json()["flows"]["features"])
    r = client.post(f"/api/allocation/plans/{plan['plan']['id']}/cancel", json={"version": 2}, headers=alice)
    assert r.status_code == 200 and r.json()["plan"]["status_label"] == "已取消"


def _one(**kw: Any) -> dict[str, Any]:
    demand = {"name": "点", "lon": 82.9, "lat": 46.2, "item": "棉被", "quantity": 10, **kw}
    return {"demands": [demand]}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (_one(quantity=-3), "数量：应大于"),
        (_one(priority=5), "优先级"),
        (_one(lon=200), "经度"),
        (_one(quantity="１０"), "数量"),
        (_one(unit="kg"), "单位"),
        ({"demands": []}, "demands"),
        ({"demands": [{"name": "点", "lon": 82.9, "lat": 46.2, "quantity": 1}]}, "物资名称"),
        ({**_one(), "payload_t": -1}, "单车载重"),
        (_one(lon=100.0, lat=30.0), "不在服务区范围内"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient, demo_copy: FeatureStore, body: dict[str, Any], says: str
) -> None:
    r = client.post("/api/allocation/plans", json=body, headers=_auth(demo_copy, "dispatcher"))
    assert r.status_code == 422, r.text
    assert says in r.text


def test_flow_edit_beyond_stock_or_demand_is_422(client: TestClient, demo_copy: FeatureStore) -> None:
    alice = _auth(demo_copy, "dispatcher")
    r = client.post("/api/allocation/plans", json=_one(quantity=10), headers=alice)
    plan = r.json()
    flow = plan["flows"]["features"][0]
    edit = {"version": 1, "flows": [{"id": flow["id"], "quantity": 11}]}
    r = client.patch(f"/api/allocation/plans/{plan['plan']['id']}/flows", json=edit, headers=alice)
    assert r.status_code == 422 and "超出需求" in r.json()["message"]
    edit = {"version": 1, "flows": [{"id": 999999, "quantity": 1}]}
    r = client.patch(f"/api/allocation/plans/{plan['plan']['id']}/flows", json=edit, headers=alice)
    assert r.status_code == 422 and "不属于" in r.json()["message"]
    assert client.get("/api/allocation/plans/999999").status_code == 404


def test_csv_with_awkward_values() -> None:
    """Full-width digits, spaces, thousands separators, 一级/高/empty priorities; bad rows named by line."""
    text = (
        "\ufeff需求点, 经度 ,纬度,物资,数量,单位,优先级,source\n"
        "甲村,８２.９,46.2,棉被,１，２００,床,一级,synthetic\n"
        "乙村, 82.91 ,46.21,吸附棉, 5 0 0 ,kg,高,synthetic\n"
        "丙村,82.92,46.22,棉被,3,床,,synthetic\n"
    )
    rows = parse_demand_csv(text)
    assert [r["quantity"] for r in rows] == [1200, 500, 3]
    assert [r["priority"] for r in rows] == [1, 1, 2]
    assert rows[0]["lonlat"] == (82.9, 46.2) and rows[1]["unit"] == "kg"
    bad = "需求点,经度,纬度,物资,数量,单位,优先级\n甲村,abc,46.2,棉被,-5,床,9\n"
    with pytest.raises(Unprocessable) as err:
        parse_demand_csv(bad)
    said = [p.message for p in err.value.problems]
    assert any("第2行·经度" in m for m in said) and any("第2行·数量" in m for m in said)
    assert any("第2行·优先级" in m for m in said)
    with pytest.raises(Unprocessable, match="缺少列"):
        parse_demand_csv("名称,数量\n甲,1\n")


def test_kg_demand_against_stock_in_tonnes(client: TestClient, demo_copy: FeatureStore) -> None:
    """500 kg of 吸附棉 (stocked in t) is 0.5 t: the plan sends 0.5 t."""
    body = _one(item="吸附棉", quantity=500, unit="kg")
    r = client.post("/api/allocation/plans", json=body, headers=_auth(demo_copy, "dispatcher"))
    assert r.status_code == 201, r.text
    flows = r.json()["flows"]["features"]
    assert sum(f["properties"]["quantity"] for f in flows) == pytest.approx(0.5)
    assert {f["properties"]["unit"] for f in flows} == {"t"}


def test_printable_sheet(client: TestClient, demo_copy: FeatureStore) -> None:
    """The sheet lists every flow with its time as 分秒, the shortfall in words, and local times."""
    r = client.post("/api/allocation/plans", json=_blizzard_body(), headers=_auth(demo_copy, "dispatcher"))
    plan = r.json()
    html = client.get(f"/api/allocation/plans/{plan['plan']['id']}/sheet")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    text = html.text
    assert "物资分配方案" in text and "缺口说明" in text and "各储备库均无“融雪剂”库存" in text
    assert "分" in text and "秒" in text
    for f in plan["flows"]["features"][:3]:
        assert f["properties"]["name"].split(" → ")[0] in text
    assert "Asia/Shanghai" in text
    assert "draft" not in text and "no_stock" not in text  # codes never shown


def test_cli_plan_show_confirm(env: Path, demo_county: DemoCounty) -> None:
    """``safemap allocation plan --demands`` on the demo blizzard, then show and confirm."""
    shutil.copyfile(demo_county.path, env)
    code, out = run("allocation", "plan", "--demands", str(BLIZZARD), "--name", "暴雪断路")
    assert code == 0, out
    assert "物资分配方案 1" in out and "无库存" in out and "融雪剂" in out
    code, out = run("allocation", "show", "1")
    assert code == 0 and "草稿" in out
    code, out = run("allocation", "confirm", "1")
    assert code == 0 and "已确认" in out and "调度单号" in out
    code, out = run("allocation", "confirm", "1")
    assert code == 2 and "已确认" in out
    missing = env.parent / "nope.csv"
    code, out = run("allocation", "plan", "--demands", str(missing))
    assert code == 2 and "无法读取" in out


def test_both_stores_plan_and_confirm(store: FeatureStore) -> None:
    """One 4 km road; depot A (50 棉被) at 0 m, depot B (100) at 4000 m; P1 wants 80 at 1000 m, P2 60 at 3000 m.

    Supply 150 ≥ demand 140, nothing short. Least Σ time × quantity (time ∝ road distance on one
    road): A → P1 50 (1 km), B → P1 30 (3 km), B → P2 60 (1 km) = 50 + 90 + 60 = 200 unit·km; any other
    plan moves units onto 3 km legs without taking any off. Confirm leaves A 0 and B 10, on GeoPackage
    and on PostGIS alike; a second confirm is a 409 and changes nothing.
    """
    from shapely.geometry import mapping

    from safemap.api.services import allocation as service
    from safemap.api.services.network import NetworkService
    from tests.gis.netfixtures import frame, ll, road

    for _, r in frame([road(1, [(0, 0), (4000, 0)])]).iterrows():
        props = {k: r[k] for k in ("name", "road_class", "speed_kmh", "oneway", "width_m", "status")}
        store.create("roads", {"type": "Feature", "geometry": mapping(r.geometry), "properties": props}, ADMIN)

    def depot(name: str, x: float, qty: float) -> int:
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(ll(x, 0))},
            "properties": {
                "name": name,
                "level": "township",
                "inventory": [{"item": "棉被", "unit": "床", "quantity": qty}],
            },
        }
        return int(store.create("material_depots", feature, ADMIN)["id"])

    a, b = depot("甲库", 0, 50), depot("乙库", 4000, 100)
    body = service.PlanInput(
        "测试",
        (
            service.DemandInput("P1", ll(1000, 0), "棉被", 80, "床", 1),
            service.DemandInput("P2", ll(3000, 0), "棉被", 60, "床", 2),
        ),
    )
    plan = service.create(store, NetworkService(), ADMIN, body)
    names = {f["id"]: f["properties"]["name"] for f in plan["demands"]["features"]}
    got = {
        (f["properties"]["depot_id"], names[f["properties"]["demand_id"]]): f["properties"]["quantity"]
        for f in plan["flows"]["features"]
    }
    assert got == {(a, "P1"): 50, (b, "P1"): 30, (b, "P2"): 60}
    assert plan["shortfalls"] == []
    done = service.confirm(store, ADMIN, plan["plan"]["id"], plan["plan"]["version"])
    assert done["plan"]["status"] == "confirmed"
    stock = _stock(store)
    assert stock[(a, "棉被")] == 0 and stock[(b, "棉被")] == 10
    with pytest.raises(VersionConflict):
        service.confirm(store, ADMIN, plan["plan"]["id"], done["plan"]["version"])
    assert _stock(store) == stock


def test_a_plan_of_an_ended_incident_is_not_confirmed(client: TestClient, demo_copy: FeatureStore) -> None:
    """As in dispatch: once the incident is 结束, its draft plan cannot take stock any more (409, nothing written)."""
    from safemap.api.services import incidents

    alice = _auth(demo_copy, "dispatcher")
    incident = incidents.create(
        demo_copy, ADMIN, incidents.IncidentInput(kind="natural", location=(83.08112, 46.41721), name="暴雪")
    )["id"]
    r = client.post("/api/allocation/plans", json=_blizzard_body(incident_id=incident), headers=alice)
    assert r.status_code == 201, r.text
    plan = r.json()["plan"]
    incidents.set_status(demo_copy, ADMIN, incident, "closed")
    before = _stock(demo_copy)
    r = client.post(f"/api/allocation/plans/{plan['id']}/confirm", json={"version": plan["version"]}, headers=alice)
    assert r.status_code == 409 and "已结束" in r.json()["message"]
    assert _stock(demo_copy) == before
    assert client.get(f"/api/allocation/plans/{plan['id']}").json()["plan"]["status"] == "draft"
