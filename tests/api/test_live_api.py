"""Live data over HTTP (issue 13), on both stores: ingest, dedup, order, alarms and their life, tracks.

Worked numbers:
* a flammable-gas detector with the two alarm levels of GB/T 50493-2019 §5.5.2 (一级 25 %LEL,
  二级 50 %LEL) and a dead band of 2 %LEL: 10, 24, 26 → one 一级报警 at 26; 24.5 holds it
  (≥ 25 − 2); 22.9 clears it (已恢复); 26 again, then 55 → 二级报警 (the 一级 alarm of that episode
  recovers as the level changes);
* a truck 1 km north of its registered east–west route along 46.2°N, allowed 500 m: 偏离登记路线
  with the distance ≈ 1000 m (pyproj.Geod, independent of the UTM computation of the service).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pyproj import Geod

from safemap.api.http.app import create_app
from safemap.api.services.live_view import current_seq
from safemap.api.settings import Settings
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from safemap.layers.timeseries import TimeSeries
from safemap.layers.tokens import create_token

ADMIN = Actor("测试管理员", "admin")
SEAT = (82.98, 46.20)
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _feature(lon: float, lat: float, **props: object) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props}


@pytest.fixture
def live(store: FeatureStore) -> dict[str, int]:
    gas = store.create(
        "sensors",
        _feature(
            *SEAT,
            name="液化气站可燃气体探测器1",
            code="YM-LPG-GAS1",
            kind="flammable_gas",
            unit="pct_lel",
            substance="液化石油气",
            high_1=25.0,
            high_2=50.0,
            deadband=2.0,
            source="synthetic: test",
        ),
        ADMIN,
    )
    route = store.create(
        "hazmat_routes",
        {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [[82.90, 46.20], [83.00, 46.20]]},
            "properties": {"name": "测试登记路线", "source": "synthetic: test"},
        },
        ADMIN,
    )
    truck = store.create(
        "vehicles",
        _feature(
            82.90,
            46.20,
            name="液化气槽车",
            plate="新F12345",
            kind="hazmat_truck",
            cargo="液化石油气",
            un_number="1075",
            route_id=route["id"],
            max_off_route_m=500.0,
            source="synthetic: test",
        ),
        ADMIN,
    )
    fence = store.create(
        "geofences",
        {
            "type": "Feature",
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[82.95, 46.25], [82.97, 46.25], [82.97, 46.27], [82.95, 46.27], [82.95, 46.25]]],
            },
            "properties": {
                "name": "测试城镇中心区",
                "kind": "town_centre",
                "rule": "no_entry",
                "applies_to": "hazmat_truck",
                "source": "synthetic: test",
            },
        },
        ADMIN,
    )
    return {"gas": gas["id"], "truck": truck["id"], "route": route["id"], "fence": fence["id"]}


@pytest.fixture
def client(store: FeatureStore) -> Iterator[TestClient]:
    settings = Settings(basemap="none", live_worker=False, warning_worker=False)
    with TestClient(create_app(settings, store=store)) as c:
        yield c


@pytest.fixture
def device(store: FeatureStore) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(store, '网关', 'device')}"}


@pytest.fixture
def dispatcher(store: FeatureStore) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(store, '值班员', 'dispatcher')}"}


def _t(minutes: float) -> str:
    return (NOW - dt.timedelta(minutes=60) + dt.timedelta(minutes=minutes)).isoformat()


def _readings(client: TestClient, device: dict[str, str], values: list[float], start: float = 0.0) -> dict:
    body = {"readings": [{"sensor": "YM-LPG-GAS1", "ts": _t(start + i), "value": v} for i, v in enumerate(values)]}
    r = client.post("/api/readings", json=body, headers=device)
    assert r.status_code == 200, r.text
    return r.json()


def _alarms(client: TestClient, state: str | None = None) -> list[dict]:
    r = client.get("/api/alarms", params={"state": state} if state else None)
    assert r.status_code == 200, r.text
    return r.json()["features"]


def test_set_points_with_dead_band_raise_one_alarm_per_episode(
    client: TestClient, device: dict[str, str], live: dict[str, int]
) -> None:
    answer = _readings(client, device, [10, 24, 26, 24.5, 25.5, 24.0])
    assert (answer["accepted"], answer["duplicates"], answer["rejected"]) == (6, 0, [])
    alarms = _alarms(client)
    assert len(alarms) == 1, "26, 24.5, 25.5, 24.0 wobble inside the dead band: one alarm, not three"
    p = alarms[0]["properties"]
    assert (p["kind"], p["kind_label"]) == ("high_1", "一级报警（高报）")
    assert (p["state"], p["state_label"]) == ("active", "报警")
    assert (p["value"], p["threshold"], p["unit"]) == (26.0, 25.0, "%LEL")
    beijing = dt.timezone(dt.timedelta(hours=8))  # SAFEMAP_TIMEZONE Asia/Shanghai
    assert p["raised_at"] == dt.datetime.fromisoformat(_t(2)).astimezone(beijing).isoformat()
    assert "液化气站可燃气体探测器1" in p["message"] and "超过报警值 25%LEL" in p["message"]

    _readings(client, device, [22.9], start=6)  # below 25 − 2: recovered
    p = _alarms(client)[0]["properties"]
    assert (p["state"], p["state_label"]) == ("recovered", "已恢复") and p["recovered_at"]

    _readings(client, device, [26, 55], start=7)
    active = _alarms(client, "active")
    assert [a["properties"]["kind"] for a in active] == ["high_2"]
    assert active[0]["properties"]["level"] == 2

    snap = client.get("/api/live").json()
    sensor = next(s for s in snap["sensors"] if s["id"] == live["gas"])
    assert (sensor["state"], sensor["state_label"], sensor["value"], sensor["unit_label"]) == (
        "high_2",
        "二级报警（高高报）",
        55.0,
        "%LEL",
    )


def test_duplicates_out_of_order_late_and_bad_messages(
    client: TestClient, device: dict[str, str], live: dict[str, int], store: FeatureStore
) -> None:
    first = _readings(client, device, [1.0, 2.0, 3.0])
    assert first["accepted"] == 3
    again = _readings(client, device, [1.0, 2.0, 3.0])  # a gateway's resend
    assert (again["accepted"], again["duplicates"]) == (0, 3)
    body = {
        "readings": [
            {"sensor": " ym-lpg-gas1 ".upper(), "ts": _t(10), "value": 5.0},  # spaces around the code
            {"sensor": "ＹＭ-ＬＰＧ-ＧＡＳ１", "ts": _t(8), "value": 4.0},  # full-width code, out of order
            {"sensor": "YM-LPG-GAS1", "ts": _t(-30), "value": 0.5},  # late: stored, state unchanged
            {"sensor": "NOPE", "ts": _t(11), "value": 1.0},
            {"sensor": "YM-LPG-GAS1", "ts": _t(12), "value": "12.5"},
            {"sensor": "YM-LPG-GAS1", "ts": _t(13), "value": True},
            {"sensor": "YM-LPG-GAS1", "ts": (NOW + dt.timedelta(hours=2)).isoformat(), "value": 1.0},
            {"sensor": "YM-LPG-GAS1", "ts": (NOW - dt.timedelta(days=400)).isoformat(), "value": 1.0},
            {"sensor": "YM-LPG-GAS1", "ts": "昨天", "value": 1.0},
            "not an object",
        ]
    }
    r = client.post("/api/readings", json=body, headers=device)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["accepted"], answer["late"]) == (3, 1)
    reasons = {bad["index"]: bad["reason"] for bad in answer["rejected"]}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9]
    assert "未登记的传感器编码" in reasons[3]
    assert "应为数值" in reasons[4] and "应为数值" in reasons[5]
    assert "将来" in reasons[6] and "过旧" in reasons[7] and "无法识别" in reasons[8]

    r = client.get(f"/api/sensors/{live['gas']}/readings", params={"from": _t(-60), "to": _t(30)})
    points = r.json()["points"]
    assert [p["value"] for p in points] == [0.5, 1.0, 2.0, 3.0, 4.0, 5.0]  # time order, once each
    snap = TimeSeries.for_store(store).sensor_states()[live["gas"]]
    assert snap["value"] == 5.0, "the late reading did not move the live state back"


def test_one_minute_and_hour_aggregates(client: TestClient, device: dict[str, str], live: dict[str, int]) -> None:
    base = NOW.replace(minute=0, second=0) - dt.timedelta(hours=2)
    values = [float(i % 7) for i in range(120)]  # every 30 s for an hour
    items = [
        {"sensor": "YM-LPG-GAS1", "ts": (base + dt.timedelta(seconds=30 * i)).isoformat(), "value": v}
        for i, v in enumerate(values)
    ]
    assert client.post("/api/readings", json={"readings": items}, headers=device).json()["accepted"] == 120
    r = client.get(
        f"/api/sensors/{live['gas']}/readings",
        params={"from": base.isoformat(), "to": (base + dt.timedelta(hours=1)).isoformat(), "step": "1min"},
    )
    minutes = r.json()["points"]
    assert len(minutes) == 60
    assert minutes[0] | {"ts": None} == {"ts": None, "avg": 0.5, "min": 0.0, "max": 1.0, "n": 2}
    r = client.get(
        f"/api/sensors/{live['gas']}/readings",
        params={"from": base.isoformat(), "to": (base + dt.timedelta(hours=1)).isoformat(), "step": "1h"},
    )
    (hour,) = r.json()["points"]
    assert hour["n"] == 120 and hour["avg"] == pytest.approx(sum(values) / 120) and hour["max"] == 6.0
    bad = client.get(f"/api/sensors/{live['gas']}/readings", params={"step": "5min"})
    assert bad.status_code == 400 and "步长" in bad.json()["message"]


def test_truck_off_route_and_into_a_forbidden_area(
    client: TestClient, device: dict[str, str], live: dict[str, int]
) -> None:
    geod = Geod(ellps="WGS84")
    north_lon, north_lat, _ = geod.fwd(82.95, 46.20, 0.0, 1000.0)
    positions = [
        {"plate": "新F12345", "ts": _t(0), "lon": 82.92, "lat": 46.20, "speed_kmh": 50},
        {"plate": "新F 12345", "ts": _t(1), "lon": north_lon, "lat": north_lat, "speed_kmh": 45},
        {"plate": "新f12345", "ts": _t(2), "lon": 82.96, "lat": 46.26, "speed_kmh": 30},
        {"plate": "新F12345", "ts": _t(3), "lon": 90.0, "lat": 46.2},
        {"plate": "新F99999", "ts": _t(3), "lon": 82.9, "lat": 46.2},
    ]
    r = client.post("/api/positions", json={"positions": positions}, headers=device)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["accepted"] == 3 and [b["index"] for b in answer["rejected"]] == [3, 4]
    assert "服务范围之外" in answer["rejected"][0]["reason"] and "未登记的车辆" in answer["rejected"][1]["reason"]
    kinds = {a["properties"]["kind"]: a["properties"] for a in _alarms(client, "active")}
    assert set(kinds) == {"off_route", "geofence"}
    assert kinds["off_route"]["value"] == pytest.approx(1000.0, abs=2.0)
    assert "偏离登记路线" in kinds["off_route"]["message"] and "新F12345" in kinds["off_route"]["message"]
    assert "测试城镇中心区" in kinds["geofence"]["message"]

    track = client.get(f"/api/vehicles/{live['truck']}/track", params={"from": _t(-5), "to": _t(10)}).json()
    assert track["geometry"]["type"] == "LineString" and len(track["properties"]["points"]) == 3
    assert track["properties"]["kind_label"] == "危险货物运输车"


def test_alarm_life_ack_close_and_to_incident(
    client: TestClient, device: dict[str, str], dispatcher: dict[str, str], live: dict[str, int]
) -> None:
    _readings(client, device, [30.0])
    (alarm,) = _alarms(client, "报警")  # Chinese state names work as filters
    aid = alarm["id"]
    assert client.post(f"/api/alarms/{aid}/ack", json={"note": "已电话核实"}, headers=device).status_code == 403
    r = client.post(f"/api/alarms/{aid}/ack", json={"note": "已电话核实"}, headers=dispatcher)
    assert r.status_code == 200, r.text
    p = r.json()["properties"]
    assert (p["state_label"], p["acknowledged_by"], p["ack_note"]) == ("已确认", "值班员", "已电话核实")

    r = client.post(f"/api/alarms/{aid}/incident", headers=dispatcher)
    assert r.status_code == 201, r.text
    incident = r.json()
    assert incident["properties"]["kind"] == "leak" and incident["properties"]["substance"] == "液化石油气"
    assert incident["geometry"]["coordinates"] == pytest.approx(list(SEAT))
    again = client.post(f"/api/alarms/{aid}/incident", headers=dispatcher)
    assert again.json()["id"] == incident["id"], "one alarm, one incident"

    r = client.post(f"/api/alarms/{aid}/close", json={"note": "已处置"}, headers=dispatcher)
    assert r.json()["properties"]["state_label"] == "已关闭"
    assert client.post(f"/api/alarms/{aid}/ack", headers=dispatcher).status_code == 409
    assert client.get("/api/alarms", params={"state": "已确认,bogus"}).status_code == 400


def test_device_token_can_only_ingest(client: TestClient, device: dict[str, str], live: dict[str, int]) -> None:
    r = client.post(
        "/api/layers/sensors",
        json=_feature(82.9, 46.2, code="X1", kind="pressure", unit="mpa", name="x"),
        headers=device,
    )
    assert r.status_code == 403
    r = client.post("/api/incidents", json={"kind": "火灾", "location": list(SEAT)}, headers=device)
    assert r.status_code == 403
    assert client.post("/api/readings", json={"readings": []}).status_code == 401
    bad = client.post("/api/readings", json={"readings": "x"}, headers=device)
    assert bad.status_code == 422 and "读数列表" in bad.json()["message"]


def test_offline_sweep_and_recovery(
    client: TestClient, device: dict[str, str], live: dict[str, int], store: FeatureStore
) -> None:
    from safemap.api.services.live_monitor import monitor_for

    _readings(client, device, [1.0], start=0)  # 60 min ago; stale after 300 s
    seq = current_seq(store)
    raised = monitor_for(store).sweep()
    assert len(raised) == 1
    (alarm,) = _alarms(client, "active")
    assert alarm["properties"]["kind_label"] == "设备离线" and "未上报数据" in alarm["properties"]["message"]
    assert monitor_for(store).sweep() == [], "offline is raised once"
    assert current_seq(store) > seq
    _readings(client, device, [1.5], start=59)
    assert _alarms(client, "active") == []
    assert client.get("/api/live").json()["sensors"][0]["state"] == "normal"


def test_a_sensor_code_or_plate_in_use_is_refused(
    client: TestClient, store: FeatureStore, live: dict[str, int]
) -> None:
    admin = {"Authorization": f"Bearer {create_token(store, '管理员', 'admin')}"}
    twin = _feature(82.91, 46.21, name="重复编码", code=" ym-lpg-gas1 ".upper(), kind="pressure", unit="mpa")
    r = client.post("/api/layers/sensors", json=twin, headers=admin)
    assert (
        r.status_code == 422 and "设备编码" in r.json()["message"] and "液化气站可燃气体探测器1" in r.json()["message"]
    )
    plate = _feature(82.91, 46.21, name="另一辆车", plate="新F12345", kind="rescue")
    r = client.post("/api/layers/vehicles", json=plate, headers=admin)
    assert r.status_code == 422 and "车牌号" in r.json()["message"]
    # Editing the sensor itself keeps its own code.
    version = client.get(f"/api/layers/sensors/{live['gas']}").json()["properties"]["version"]
    r = client.patch(
        f"/api/layers/sensors/{live['gas']}",
        json={"properties": {"code": "YM-LPG-GAS1", "high_1": 20.0}},
        headers={**admin, "If-Match": f'"{version}"'},
    )
    assert r.status_code == 200, r.text


def test_a_silent_gateway_raises_one_offline_alarm_per_sensor_in_one_sweep(
    client: TestClient, device: dict[str, str], live: dict[str, int], store: FeatureStore
) -> None:
    from safemap.api.services.live_monitor import monitor_for

    for i in range(20):
        store.create(
            "sensors",
            _feature(82.97 + i * 1e-4, 46.19, name=f"网关探测器{i}", code=f"GW-{i:02d}", kind="toxic_gas", unit="ppm"),
            ADMIN,
        )
    items = [{"sensor": f"GW-{i:02d}", "ts": _t(0), "value": 0.1} for i in range(20)]
    assert client.post("/api/readings", json={"readings": items}, headers=device).json()["accepted"] == 20
    raised = monitor_for(store).sweep()
    assert len(raised) == 20 and len(set(raised)) == 20
    offline = [a for a in _alarms(client, "active") if a["properties"]["kind"] == "offline"]
    assert len(offline) == 20 and all("未上报数据" in a["properties"]["message"] for a in offline)
    assert monitor_for(store).sweep() == []
    states = TimeSeries.for_store(store).sensor_states()
    assert sum(1 for s in states.values() if s["state"] == "offline") == 20
