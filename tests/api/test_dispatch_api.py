"""Routing and dispatch API on both stores: routes with reasons, plan, confirm 409, release, events, bad input."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from safemap.api.http.app import create_app
from safemap.api.settings import Settings
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from safemap.layers.timeseries import TimeSeries
from safemap.layers.tokens import create_token
from tests.gis.netfixtures import ll, road
from tests.support.background_server import BackgroundServer

ADMIN = Actor("admin", "admin")


def _seed(store: FeatureStore) -> dict[str, int]:
    """The ladder network of tests/gis (3.6 m rung in the middle), two teams and a depot."""
    from shapely.geometry import mapping

    from tests.gis.netfixtures import frame

    rows = [
        road(1, [(0, 1000), (2000, 1000)]),
        road(2, [(0, 0), (2000, 0)]),
        road(3, [(0, 0), (0, 1000)]),
        road(4, [(1000, 0), (1000, 1000)], name="渡槽下穿", max_height_m=3.6),
        road(5, [(2000, 0), (2000, 1000)]),
    ]
    ids = {}
    for _, r in frame(rows).iterrows():
        props = {k: r[k] for k in ("name", "road_class", "speed_kmh", "oneway", "width_m", "status")}
        if r["max_height_m"] == r["max_height_m"] and r["max_height_m"] is not None:
            props["max_height_m"] = r["max_height_m"]
        f = store.create("roads", {"type": "Feature", "geometry": mapping(r.geometry), "properties": props}, ADMIN)
        ids[r["name"]] = f["id"]

    def team(name: str, x: float, y: float, kind: str, vehicles: list) -> int:
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(ll(x, y))},
            "properties": {"name": name, "kind": kind, "headcount": 10, "status": "available", "vehicles": vehicles},
        }
        return int(store.create("rescue_teams", feature, ADMIN)["id"])

    ids["near"] = team("近站", 300, 0, "fire_station", [{"profile": "fire_engine", "count": 1}])
    ids["far"] = team("远站", 2000, 500, "fire_station", [{"profile": "fire_engine", "count": 1}])
    ids["depot"] = store.create(
        "material_depots",
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(ll(0, 500))},
            "properties": {
                "name": "储备库",
                "level": "county",
                "inventory": [{"item": "沙袋", "unit": "条", "quantity": 500}],
            },
        },
        ADMIN,
    )["id"]
    return ids


@pytest.fixture
def client(store: FeatureStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(basemap="none"), store=store)) as c:
        yield c


def test_route_and_reasons(client: TestClient, store: FeatureStore) -> None:
    _seed(store)
    r = client.post("/api/route", json={"from": list(ll(300, 0)), "to": list(ll(1000, 700)), "vehicle": "fire_engine"})
    assert r.status_code == 200, r.text
    body = r.json()
    # fire_engine speed factor 0.8 on 36 km/h roads: 1400 m at 8 m/s = 175 s.
    assert body["distance_m"] == pytest.approx(1400, abs=0.2) and body["duration_s"] == pytest.approx(175, abs=0.1)
    assert [x["name"] for x in body["roads"]] == ["路2", "渡槽下穿"]
    assert body["geometry"]["type"] == "LineString"
    r = client.post(
        "/api/route", json={"from": list(ll(300, 0)), "to": list(ll(1000, 700)), "vehicle": "aerial_ladder"}
    )
    assert r.status_code == 200 and r.json()["distance_m"] == pytest.approx(
        2300, abs=0.2
    )  # snapped to the north street
    # Matrix: one to many, and the unreachable one is null.
    r = client.post(
        "/api/route/matrix", json={"from": list(ll(300, 0)), "to": [list(ll(1000, 700)), list(ll(1500, 1000))]}
    )
    assert r.status_code == 200 and all(v > 0 for v in r.json()["durations_s"])
    net = client.get("/api/network").json()
    assert (net["nodes"], net["segments"], net["builds"]) == (6, 7, 1)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from": [82.9], "to": [82.9, 46.2]}, "from"),
        ({"from": [82.9, 46.2], "to": [10.0, 10.0]}, "to"),
        ({"from": [82.9, 46.2], "to": [82.95, 46.2], "vehicle": "bus"}, "vehicle"),
        ({"from": [82.9, 46.2], "to": [82.95, 46.2], "avoid": [{"type": "Point", "coordinates": [1, 2]}]}, "avoid"),
        ({"from": [82.9, 46.2], "to": [82.95, 46.2], "colour": "red"}, "colour"),
    ],
)
def test_bad_route_input_names_the_field(client: TestClient, body: dict, field: str) -> None:
    r = client.post("/api/route", json=body)
    assert r.status_code in (400, 422), r.text
    assert r.json()["problems"][0]["field"].startswith(field)


def test_plan_confirm_conflict_release(client: TestClient, store: FeatureStore) -> None:
    ids = _seed(store)
    body = {
        "incident": list(ll(1000, 300)),
        "needs": [{"kinds": ["fire_station"], "count": 1}],
        "materials": [{"item": "沙袋", "quantity": 200}],
    }
    plan = client.post("/api/dispatch/plan", json=body).json()
    cands = plan["needs"][0]["candidates"]
    assert [c["name"] for c in cands] == ["近站", "远站"] and cands[0]["selected"] and not cands[1]["selected"]
    assert plan["materials"]["depots"][0]["items"] == [{"item": "沙袋", "unit": "条", "quantity": 200.0}]
    order = {"incident": body["incident"], "teams": [{"team_id": ids["near"], "route": cands[0]["geometry"]}]}
    assert client.post("/api/dispatch/confirm", json=order).status_code == 401
    viewer = {"Authorization": "Bearer " + create_token(store, "查看员", "viewer")}
    assert client.post("/api/dispatch/confirm", json=order, headers=viewer).status_code == 403
    alice = {"Authorization": "Bearer " + create_token(store, "调度员甲", "dispatcher")}
    bob = {"Authorization": "Bearer " + create_token(store, "调度员乙", "dispatcher")}
    first = client.post("/api/dispatch/confirm", json=order, headers=alice)
    assert first.status_code == 200, first.text
    second = client.post("/api/dispatch/confirm", json=order, headers=bob)
    assert second.status_code == 409 and "调度员甲" in second.json()["message"]
    # The dispatched team is no longer offered.
    again = client.post("/api/dispatch/plan", json=body).json()["needs"][0]["candidates"]
    assert [c["name"] for c in again] == ["远站"]
    r = client.post("/api/dispatch/release", json={"team_ids": [ids["near"]]}, headers=bob)
    assert r.status_code == 200 and r.json()["dispatches"][0]["properties"]["status"] == "released"
    assert store.get("rescue_teams", ids["near"])["properties"]["status"] == "available"
    assert client.post("/api/dispatch/release", json={"team_ids": [ids["near"]]}, headers=bob).status_code == 409


def test_closure_applies_without_rebuild(client: TestClient, store: FeatureStore) -> None:
    ids = _seed(store)
    body = {"from": list(ll(300, 0)), "to": list(ll(1000, 700)), "vehicle": "fire_engine"}
    assert client.post("/api/route", json=body).json()["distance_m"] == pytest.approx(1400, abs=0.2)
    rung = store.get("roads", ids["渡槽下穿"])
    store.update(
        "roads", rung["id"], {"properties": {"status": "closed", "version": rung["properties"]["version"]}}, ADMIN
    )
    assert client.post("/api/route", json=body).json()["distance_m"] > 1400
    net = client.get("/api/network").json()
    assert net["builds"] == 1 and net["closure_updates"] == 1 and net["closed_segments"] == 1


def test_events_stream_reports_team_status(gpkg_store: FeatureStore, gpkg_path) -> None:
    ids = _seed(gpkg_store)
    token = create_token(gpkg_store, "调度员甲", "dispatcher")
    gpkg_store.close()
    with BackgroundServer(gpkg_path) as url, httpx.stream("GET", url + "/api/events", timeout=20) as stream:
        lines = stream.iter_lines()
        seen = []
        for line in lines:
            seen.append(line)
            if line.startswith("event: snapshot"):
                break
        order = {"incident": list(ll(1000, 1000)), "teams": [{"team_id": ids["far"]}]}
        r = httpx.post(url + "/api/dispatch/confirm", json=order, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        for line in lines:
            seen.append(line)
            if line.startswith("data:") and '"dispatched"' in line:
                break
    assert any(s == "event: rescue_teams" for s in seen)


# ---------------------------------------------------------------------------- incident link (issue 12)
def test_plan_and_confirm_for_an_incident_use_its_zone_and_record_the_dispatch(
    client: TestClient, store: FeatureStore
) -> None:
    from shapely.geometry import shape

    from safemap.api.services import incident_zones, incidents

    ids = _seed(store)
    alice = {"Authorization": "Bearer " + create_token(store, "调度员甲", "dispatcher")}
    inc = incidents.create(store, ADMIN, incidents.IncidentInput(kind="explosion", location=ll(1000, 300)))
    iid = inc["id"]
    need = {"needs": [{"kinds": ["fire_station"], "count": 1}]}
    # Before a zone is modelled: the incident's location, no hazard.
    r = client.post("/api/dispatch/plan", json={"incident_id": iid, **need})
    assert r.status_code == 200, r.text
    assert r.json()["hazard"] is None and r.json()["incident"]["incident_id"] == iid
    zone = incident_zones.model_zone(
        store, ADMIN, iid, {"model": "vce", "fuel_mass_kg": 200.0, "substance": "液化石油气"}
    )
    r = client.post("/api/dispatch/plan", json={"incident_id": iid, **need})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["hazard"]["incident_zone"]["id"] == zone["id"] and plan["hazard"]["incident_zone"]["seq"] == 1
    assert shape(plan["hazard"]["zone"]).equals_exact(shape(zone["outline"]), 1e-9)
    cand = next(c for c in plan["needs"][0]["candidates"] if c["selected"])
    order = {"incident_id": iid, "teams": [{"team_id": cand["team_id"], "route": cand["geometry"], "eta_s": 125.0}]}
    r = client.post("/api/dispatch/confirm", json=order, headers=alice)
    assert r.status_code == 200, r.text
    done = r.json()
    assert all(d["properties"]["incident_id"] == iid for d in done["dispatches"])
    line = incidents.timeline(store, iid)
    assert line[-1]["kind"] == "dispatch" and line[-1]["ref"] == f"dispatches:{done['plan_id']}"
    assert "2分05秒" in line[-1]["text"] and line[-1]["actor"] == "调度员甲"
    # A dangling incident id is refused and nothing is written; a closed incident takes no dispatch.
    before = store.counts()["dispatches"]
    far = {"incident": list(ll(1000, 300)), "incident_id": 424242, "teams": [{"team_id": ids["far"]}]}
    assert client.post("/api/dispatch/confirm", json=far, headers=alice).status_code in (404, 422)
    assert store.counts()["dispatches"] == before
    assert store.get("rescue_teams", ids["far"])["properties"]["status"] == "available"
    incidents.set_status(store, ADMIN, iid, "结束")
    r = client.post(
        "/api/dispatch/confirm", json={"incident_id": iid, "teams": [{"team_id": ids["far"]}]}, headers=alice
    )
    assert r.status_code == 409 and "已结束" in r.json()["message"]
    assert store.counts()["dispatches"] == before


def test_a_rescue_vehicle_with_a_fresh_position_is_routed_from_where_it_is(
    client: TestClient, store: FeatureStore
) -> None:
    """Issue 13: the far station's engine reports 100 m from the rung, so its team comes first.

    From the station (2000, 500) the engine would drive 500 + 1000 + 300 = 1800 m; from its live
    position (1100, 0) it drives 100 + 300 = 400 m, against 700 + 300 = 1000 m for the near station.
    """
    from safemap.layers.tokens import create_token

    ids = _seed(store)
    store.create(
        "vehicles",
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(ll(2000, 500))},
            "properties": {
                "name": "远站水罐车",
                "plate": "新F23119",
                "kind": "rescue",
                "team_id": ids["far"],
                "profile": "fire_engine",
                "source": "synthetic: test",
            },
        },
        ADMIN,
    )
    body = {"incident": list(ll(1000, 300)), "needs": [{"kinds": ["fire_station"], "count": 1}]}
    before = client.post("/api/dispatch/plan", json=body).json()["needs"][0]["candidates"]
    assert [c["name"] for c in before] == ["近站", "远站"] and before[1]["from_live"] is None

    device = {"Authorization": f"Bearer {create_token(store, '车载终端', 'device')}"}
    lon, lat = ll(1100, 0)
    r = client.post(
        "/api/positions",
        json={
            "positions": [
                {"plate": "新F23119", "ts": dt.datetime.now(dt.UTC).isoformat(), "lon": lon, "lat": lat, "speed_kmh": 0}
            ]
        },
        headers=device,
    )
    assert r.json()["accepted"] == 1, r.text
    after = client.post("/api/dispatch/plan", json=body).json()["needs"][0]["candidates"]
    assert [c["name"] for c in after] == ["远站", "近站"]
    assert after[0]["distance_m"] == pytest.approx(400, abs=1.0)
    assert after[0]["from_live"]["plate"] == "新F23119" and "实时位置" in after[0]["from_live"]["text"]

    stale = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    store_ts = TimeSeries.for_store(store)
    state = store_ts.vehicle_states()
    vid = next(iter(state))
    store_ts.set_vehicle_state([{**state[vid], "ts": stale}])
    again = client.post("/api/dispatch/plan", json=body).json()["needs"][0]["candidates"]
    assert [c["name"] for c in again] == ["近站", "远站"], "a position an hour old is not used"


def test_a_write_that_commits_after_a_later_one_still_reaches_the_stream(pg_store: FeatureStore, pg_url: str) -> None:
    """PostgreSQL gives audit ids at insert, not at commit: the stream must not skip the slower write.

    Transaction A writes its audit row first (lower id) but commits after transaction B (higher id),
    which the stream has already sent by then; A's road closure must still arrive.
    """
    import threading

    from safemap.layers.model import Actor as Who

    ids = _seed(pg_store)
    admin = Who("调度员甲", "dispatcher")

    def closure(road: str) -> dict:
        feature = pg_store.get("roads", ids[road])
        return {**feature, "properties": {**feature["properties"], "status": "closed"}}

    with BackgroundServer(pg_url) as url, httpx.stream("GET", url + "/api/events", timeout=30) as stream:
        lines = stream.iter_lines()
        for line in lines:
            if line.startswith("event: snapshot"):
                break
        a_wrote, b_done = threading.Event(), threading.Event()

        def slow_a() -> None:
            with pg_store.transaction() as tx:
                tx.record_audit(admin, "update", "roads", [(ids["路1"], None, closure("路1"))], "A")
                a_wrote.set()
                b_done.wait(20)
                time.sleep(1.5)  # the stream has polled and sent B by now
                tx.bump_generation()

        thread = threading.Thread(target=slow_a)
        thread.start()
        a_wrote.wait(10)
        with pg_store.transaction() as tx:
            tx.record_audit(admin, "update", "roads", [(ids["路2"], None, closure("路2"))], "B")
            tx.bump_generation()
        b_done.set()
        seen: list[int] = []
        deadline = time.monotonic() + 20
        for line in lines:
            if line.startswith("data:") and '"closed"' in line:
                seen.append(json.loads(line[5:])["id"])
            if len(seen) == 2 or time.monotonic() > deadline:
                break
        thread.join()
    assert seen == [ids["路2"], ids["路1"]], "B first (it committed first), then A, not lost"
