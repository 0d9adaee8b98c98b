"""Incidents (issue 12): 接警 → 核实 → 处置中 → 结束, hazard zones, who is inside, timeline, record, events."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape

from safemap.api.http.app import create_app
from safemap.api.services import consequence, incident_zones, incidents
from safemap.api.services.event_feed import FOLLOWED, change
from safemap.api.services.safety import load as load_safety
from safemap.api.settings import Settings
from safemap.layers import dispatching
from safemap.layers.errors import FeatureNotFound, Unprocessable, VersionConflict
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token

DISPATCHER = Actor("值班员", "dispatcher")
#: The county seat of the demo (裕民县城), typed as a caller reads it off a phone: 82°58′47″E 46°12′01″N.
SEAT_DMS = "82°58′47″E 46°12′01″N"
SEAT = (82 + 58 / 60 + 47 / 3600, 46 + 12 / 60 + 1 / 3600)
#: A chlorine leak at 3 a.m. on a clear night: Turner night, ≤ 3/8 cloud, 2–3 m/s → F.
PLUME = {"model": "gaussian_plume", "rate_kg_s": 2.0, "wind_m_s": 2.5, "wind_from_deg": 315.0}


@pytest.fixture
def client(demo_copy: FeatureStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(basemap="none"), store=demo_copy)) as c:
        yield c


@pytest.fixture
def auth(demo_copy: FeatureStore) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(demo_copy, '值班员', 'dispatcher')}"}


def _create(client: TestClient, auth: dict[str, str], **extra: object) -> dict:
    body = {"kind": "泄漏中毒", "location_text": SEAT_DMS, "substance": "氯", "quantity_t": 1.5, **extra}
    r = client.post("/api/incidents", json=body, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


def test_chlorine_leak_from_call_to_close(client: TestClient, auth: dict[str, str], demo_copy: FeatureStore) -> None:
    r = client.post(
        "/api/incidents",
        json={
            "kind": "泄漏中毒",
            "location_text": "８２°５８′４７″Ｅ，４６°１２′０１″Ｎ",  # full-width digits and marks
            "substance": "氯",
            "quantity_t": 1.5,
            "reporter": "张三",
            "phone": "13800000000",
            "reported_at": "2026-12-01T03:00:00",
        },
        headers=auth,
    )
    assert r.status_code == 201, r.text
    inc = r.json()
    iid = inc["id"]
    assert r.headers["location"] == f"/api/incidents/{iid}"
    p = inc["properties"]
    assert (p["status"], p["status_label"], p["kind"], p["kind_label"]) == ("reported", "接警", "leak", "泄漏中毒")
    assert inc["geometry"]["coordinates"] == pytest.approx(list(SEAT), abs=1e-9)
    assert p["reported_at"] == "2026-12-01T03:00:00+08:00"  # SAFEMAP_TIMEZONE
    assert p["township"] and p["name"].endswith("泄漏中毒（12月01日03:00）")

    # Zone: stability from the cloud and the hour (3 a.m., clear, 2.5 m/s → F, Turner Table 1).
    r = client.post(
        f"/api/incidents/{iid}/zone", json={**PLUME, "cloud_cover": "晴", "at": "2026-12-01T03:05:00"}, headers=auth
    )
    assert r.status_code == 201, r.text
    zone = r.json()
    assert (zone["seq"], zone["model"], zone["stability"], zone["wind_from_deg"]) == (1, "gaussian_plume", "F", 315.0)
    assert zone["inputs"]["stability_derived"]["insolation"] == "night"
    assert [b["label"].split("（")[0] for b in zone["bands"]] == ["AEGL-3", "AEGL-2", "AEGL-1"]
    assert zone["created_by"] == "值班员" and zone["created_at"]
    # The stored footprint is the consequence model's own answer for the same inputs.
    same = client.post(
        "/api/safety/consequence", json={**PLUME, "stability": "F", "location": list(SEAT), "substance": "氯"}
    ).json()
    for band, feat in zip(zone["bands"], same["zones"]["features"], strict=True):
        assert shape(band["geometry"]).equals_exact(shape(feat["geometry"]), 1e-9)
    # The plume runs downwind: wind from the NW (315°) → the footprint lies to the SE of the leak.
    c = shape(zone["bands"][-1]["geometry"]).centroid
    assert c.x > SEAT[0] and c.y < SEAT[1]

    # Re-model when the wind turns: seq 2 is current, seq 1 is history.
    r = client.post(f"/api/incidents/{iid}/zone", json={**PLUME, "wind_from_deg": 45.0, "stability": "D"}, headers=auth)
    assert r.status_code == 201 and r.json()["seq"] == 2
    history = client.get(f"/api/incidents/{iid}/zones").json()
    assert [z["seq"] for z in history] == [1, 2]
    detail = client.get(f"/api/incidents/{iid}").json()
    assert detail["current_zone"]["seq"] == 2 and detail["current_zone"]["wind_from_deg"] == 45.0

    # Who is inside zone 1: each feature once, in its innermost band; schools and hospitals first.
    r = client.get(f"/api/incidents/{iid}/exposure", params={"zone_id": zone["id"]})
    assert r.status_code == 200, r.text
    exp = r.json()
    assert exp["zone"]["seq"] == 1 and len(exp["bands"]) == 3
    assert exp["totals"]["population"] == sum(b["population"] for b in exp["bands"]) > 0
    ids = [t["id"] for b in exp["bands"] for t in b["protected_targets"]]
    assert len(ids) == len(set(ids))
    for band in exp["bands"]:
        cats = [
            t["category"] in ("school", "kindergarten", "hospital", "nursing_home") for t in band["protected_targets"]
        ]
        assert cats == sorted(cats, reverse=True)
        assert band["population"] == sum(t["population"] or 0 for t in band["protected_targets"])
    # The counts agree with a plain spatial query on the band polygons.
    targets = demo_copy.to_geodataframe("protected_targets")
    outer = shapely.union_all([shape(b["geometry"]) for b in zone["bands"]])
    assert exp["totals"]["counts"]["protected_targets"] == int(targets.intersects(outer).sum())
    r = client.get(f"/api/incidents/{iid}/exposure", params={"zone_id": zone["id"], "format": "csv"})
    assert r.status_code == 200 and r.content.startswith("\ufeff".encode())
    header = r.content.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[:4] == ["影响分区", "阈值", "对象类别", "名称"] and "安全负责人" in header
    r = client.get(f"/api/incidents/{iid}/exposure", params={"format": "xlsx"})
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet.cell(1, 1).value == "影响分区" and sheet.max_row >= 2

    # Lifecycle: forward only; skipping forward allowed and said; backwards and stale refused.
    r = client.post(f"/api/incidents/{iid}/status", json={"status": "核实", "note": "消防到场确认"}, headers=auth)
    assert r.status_code == 200 and r.json()["properties"]["status_label"] == "核实"
    version = r.json()["properties"]["version"]
    r = client.post(f"/api/incidents/{iid}/status", json={"status": "reported"}, headers=auth)
    assert r.status_code == 409 and "不能从“核实”退回“接警”" in r.json()["message"]
    r = client.post(f"/api/incidents/{iid}/status", json={"status": "处置中", "version": version - 1}, headers=auth)
    assert r.status_code == 409
    r = client.post(f"/api/incidents/{iid}/notes", json={"text": "下风向东南 1 km 内群众就地避险"}, headers=auth)
    assert r.status_code == 201 and r.json()["kind"] == "note"
    r = client.post(f"/api/incidents/{iid}/status", json={"status": "结束", "version": version}, headers=auth)
    assert r.status_code == 200 and r.json()["properties"]["closed_at"]
    r = client.post(f"/api/incidents/{iid}/status", json={"status": "接警"}, headers=auth)
    assert r.status_code == 409 and "已“结束”" in r.json()["message"]
    r = client.post(f"/api/incidents/{iid}/zone", json={**PLUME, "stability": "D"}, headers=auth)
    assert r.status_code == 409

    line = client.get(f"/api/incidents/{iid}/timeline").json()
    assert [e["kind"] for e in line] == ["created", "zone", "zone", "status", "note", "status"]
    assert all(e["actor"] == "值班员" and e["at"].endswith("+08:00") for e in line)
    assert "未经 处置中" in line[-1]["text"]
    assert line[1]["ref"] == f"incident_zones:{zone['id']}"

    active = [f["id"] for f in client.get("/api/incidents", params={"status": "active"}).json()["features"]]
    closed = [f["id"] for f in client.get("/api/incidents", params={"status": "结束,已控制"}).json()["features"]]
    assert iid not in active and iid in closed

    html = client.get(f"/api/incidents/{iid}/report").text
    assert "处置记录" in html and "<svg" in html and "AEGL-3" in html and "消防到场确认" in html
    assert "分" in html and "秒" in html  # durations in 分秒
    assert "<script" not in html
    # The evacuation plan of the current zone is on the record too (the road network is loaded for it).
    evac = client.get(f"/api/incidents/{iid}/evacuation").json()
    assert "疏散安置" in html and f"危险区内 {evac['people']} 人，已安置 {evac['assigned']} 人" in html
    if evac["assignments"]:
        assert evac["assignments"][0]["shelter"]["name"] in html


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "火灾", "location": [116.39, 39.9]}, "location"),  # Beijing: outside the county
        ({"kind": "火灾", "location_text": "116.39, 39.90"}, "location_text"),
        ({"kind": "火灾", "location_text": "82°59′76″E 46°12′18″N"}, "location_text"),  # 76″
        ({"kind": "火灾", "location_text": "东边那个厂"}, "location_text"),
        ({"kind": "火灾", "location_text": "82.98, 46.20", "crs": "BJ54"}, "crs"),
        ({"kind": "地震了", "location": [82.98, 46.2]}, "kind"),
        ({"kind": "火灾"}, "location"),
        ({"kind": "火灾", "location": [82.98, 46.2], "place": {"layer": "townships", "id": 1}}, "location"),
        ({"kind": "火灾", "place": {"layer": "enterprises", "name": "不存在的企业"}}, "place.name"),
        ({"kind": "火灾", "place": {"layer": "wells", "id": 1}}, "place"),
        ({"kind": "火灾", "location": [82.98, 46.2], "quantity_t": "5"}, "quantity_t"),
        ({"kind": "火灾", "location": [82.98, 46.2], "enterprise_id": 999999}, "enterprise_id"),
        ({"kind": "火灾", "location": [82.98, 46.2], "colour": "red"}, "colour"),
        ({"kind": "火灾", "location": [82.98, 46.2], "reported_at": "2099-01-01T03:00:00"}, "reported_at"),
        ({"kind": "火灾", "location": [82.98, 46.2], "phone": "call me"}, "phone"),
    ],
)
def test_bad_incident_input_is_a_4xx_naming_the_field(
    client: TestClient, auth: dict[str, str], demo_copy: FeatureStore, body: dict, field: str
) -> None:
    before = demo_copy.counts()["incidents"]
    r = client.post("/api/incidents", json=body, headers=auth)
    assert r.status_code in (400, 422), r.text
    assert r.json()["problems"][0]["field"].split(".")[0] in (field.split(".")[0], "properties")
    assert demo_copy.counts()["incidents"] == before


def test_typed_coordinates_in_every_notation(client: TestClient, auth: dict[str, str]) -> None:
    for text in (
        "82.97972, 46.20028",
        "46.20028, 82.97972",  # latitude first: swapped by the county's extent, and said
        "46°12′01″N 82°58′47″E",
        "82°58'47\"E, 46°12'01\"N",
        "东经82度58分47秒 北纬46度12分01秒",
        "82 58 47 E 46 12 01 N",
    ):
        inc = _create(client, auth, location_text=text, crs="CGCS2000")
        assert inc["geometry"]["coordinates"] == pytest.approx(list(SEAT), abs=1e-4), text
        assert any("CGCS2000" in n for n in inc["notes"])
    swapped = _create(client, auth, location_text="46.20028, 82.97972")
    assert any("调换" in n for n in swapped["notes"])


def test_place_by_name_links_the_enterprise(client: TestClient, auth: dict[str, str], demo_copy: FeatureStore) -> None:
    source = demo_copy.query("hazard_sources", limit=1).rows[0]
    r = client.post(
        "/api/incidents", json={"kind": "fire", "place": {"layer": "hazard_sources", "id": source["id"]}}, headers=auth
    )
    assert r.status_code == 201, r.text
    p = r.json()["properties"]
    assert p["hazard_source_id"] == source["id"] and p["enterprise_id"] == source["enterprise_id"]
    assert p["location_text"].startswith("危险源：")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**PLUME, "wind_m_s": 0, "stability": "F"}, "wind_m_s"),  # calm: the Gaussian plume does not apply
        ({**PLUME, "stability": "F", "substance": "二噁英X"}, "substance"),
        ({**PLUME}, "stability"),  # neither stability nor cloud
        ({**PLUME, "cloud_cover": 9}, "cloud_cover"),
        ({**PLUME, "cloud_cover": "雾"}, "cloud_cover"),
        ({**PLUME, "stability": "F", "location": [82.98, 46.2]}, "location"),
        ({"model": "tnt", "fuel_mass_kg": 5}, "model"),
        ({"model": "vce"}, "fuel_mass_kg"),
    ],
)
def test_bad_zone_input_writes_nothing(
    client: TestClient, auth: dict[str, str], demo_copy: FeatureStore, body: dict, field: str
) -> None:
    iid = _create(client, auth)["id"]
    before = demo_copy.counts()
    r = client.post(f"/api/incidents/{iid}/zone", json=body, headers=auth)
    assert r.status_code == 422, r.text
    assert r.json()["problems"][0]["field"].split(".")[0] == field
    after = demo_copy.counts()
    assert (after["incident_zones"], after["incident_events"]) == (before["incident_zones"], before["incident_events"])


def test_missing_incident_and_roles(client: TestClient, auth: dict[str, str], demo_copy: FeatureStore) -> None:
    for path in ("", "/zones", "/timeline", "/report", "/exposure"):
        r = client.get(f"/api/incidents/424242{path}")
        assert r.status_code == 404, (path, r.text)
        assert "424242" in r.json()["message"]
    assert client.post("/api/incidents/424242/status", json={"status": "核实"}, headers=auth).status_code == 404
    assert client.post("/api/incidents/424242/notes", json={"text": "x"}, headers=auth).status_code == 404
    assert client.post("/api/incidents/99999999999999999999/notes", json={"text": "x"}, headers=auth).status_code == 422
    body = {"kind": "火灾", "location": list(SEAT)}
    assert client.post("/api/incidents", json=body).status_code == 401
    viewer = {"Authorization": f"Bearer {create_token(demo_copy, '大屏', 'viewer')}"}
    assert client.post("/api/incidents", json=body, headers=viewer).status_code == 403
    iid = _create(client, auth)["id"]
    assert client.get(f"/api/incidents/{iid}", headers=viewer).status_code == 200
    r = client.get(f"/api/incidents/{iid}/exposure")
    assert r.status_code == 422 and "尚未建模" in r.json()["message"]
    assert client.get("/api/incidents", params={"status": "已撤销"}).status_code == 422


def test_every_change_reaches_the_event_stream(
    client: TestClient, auth: dict[str, str], demo_copy: FeatureStore
) -> None:
    start = dispatching.latest_audit_id(demo_copy)
    iid = _create(client, auth)["id"]
    client.post(f"/api/incidents/{iid}/zone", json={**PLUME, "stability": "D"}, headers=auth)
    client.post(f"/api/incidents/{iid}/status", json={"status": "处置中"}, headers=auth)
    client.post(f"/api/incidents/{iid}/notes", json={"text": "封控 G219"}, headers=auth)
    events = [(r["layer"], change(r)) for r in dispatching.changes_since(demo_copy, start, FOLLOWED)]
    kinds = [k for k, _ in events]
    assert kinds.count("incidents") == 2 and kinds.count("incident_zones") == 1
    assert [e["kind"] for k, e in events if k == "incident_events"] == ["created", "zone", "status", "note"]
    status = [e for k, e in events if k == "incidents"][-1]
    assert (status["status"], status["status_label"], status["action"]) == ("responding", "处置中", "status")
    zone = next(e for k, e in events if k == "incident_zones")
    assert zone["incident_id"] == iid and zone["seq"] == 1 and zone["geometry"]["type"] in ("Polygon", "MultiPolygon")


# ---------------------------------------------------------------------------- service level, both stores
def test_lifecycle_on_both_stores(store: FeatureStore) -> None:
    """接警 → zone → 核实 → 结束 through the services; a failing step writes nothing."""
    body = incidents.IncidentInput(kind="explosion", location=(83.0, 46.2), reporter="李四")
    inc = incidents.create(store, DISPATCHER, body)
    iid = inc["id"]
    assert inc["properties"]["status"] == "reported"
    vce = {"model": "vce", "fuel_mass_kg": 1000.0, "substance": "液化石油气"}
    z = incident_zones.model_zone(store, DISPATCHER, iid, vce)
    # The bands are the VCE model's own circles at the incident (consequence.compute, same inputs).
    direct = consequence.compute(
        load_safety(store), consequence.make_input({**vce, "location": (83.0, 46.2)}), store.extent
    )
    assert z["seq"] == 1 and [b["label"] for b in z["bands"]] == [
        f["properties"]["label"] for f in direct["zones"]["features"]
    ]
    assert z["results"]["w_tnt_kg"] == direct["results"]["w_tnt_kg"] > 0
    with pytest.raises(Unprocessable):
        incident_zones.model_zone(store, DISPATCHER, iid, {**vce, "substance": "不存在的物质"})
    assert len(incident_zones.zones(store, iid)) == 1
    incidents.set_status(store, DISPATCHER, iid, "核实")
    with pytest.raises(VersionConflict):
        incidents.set_status(store, DISPATCHER, iid, "接警")
    with pytest.raises(VersionConflict):
        incidents.set_status(store, DISPATCHER, iid, "结束", version=1)  # stale
    eid = incidents.record_event(store, iid, "warning", "预警已发送 12 人", "预警服务", ref="warnings:1")
    done = incidents.set_status(store, DISPATCHER, iid, "closed", note="现场清理完毕")
    assert done["properties"]["closed_at"] and done["properties"]["status_label"] == "结束"
    line = incidents.timeline(store, iid)
    assert [e["kind"] for e in line] == ["created", "zone", "status", "warning", "status"]
    assert next(e for e in line if e["id"] == eid)["ref"] == "warnings:1"
    with pytest.raises(FeatureNotFound):
        incidents.record_event(store, 987654, "note", "x", DISPATCHER)
    with pytest.raises(FeatureNotFound):
        incidents.set_status(store, DISPATCHER, 987654, "核实")
    # Audited like any layer edit.
    audit = store.audit_log(layer="incidents")
    assert {a["action"] for a in audit} >= {"create", "status"}


def test_the_generic_layer_api_cannot_bypass_the_lifecycle(client: TestClient, auth: dict[str, str]) -> None:
    """PATCH /api/layers/incidents may edit a description, not move the status (no timeline entry then)."""
    inc = _create(client, auth)
    iid, version = inc["id"], inc["properties"]["version"]
    r = client.post(f"/api/incidents/{iid}/status", json={"status": "处置中"}, headers=auth)
    assert r.status_code == 200, r.text
    version = r.json()["properties"]["version"]
    r = client.patch(
        f"/api/layers/incidents/{iid}", json={"properties": {"status": "reported", "version": version}}, headers=auth
    )
    assert r.status_code == 422, r.text
    assert r.json()["problems"][0]["field"] == "properties.status" and "事件处置" in r.json()["problems"][0]["message"]
    assert client.get(f"/api/incidents/{iid}").json()["properties"]["status"] == "responding"
    r = client.patch(
        f"/api/layers/incidents/{iid}",
        json={"properties": {"status": "responding", "description": "罐区阀门泄漏", "version": version}},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    # Registered through the layer API, an incident still starts its timeline.
    body = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": list(SEAT)},
        "properties": {
            "name": "县城火灾",
            "kind": "fire",
            "status": "reported",
            "reported_at": "2026-12-01T03:00:00+08:00",
        },
    }
    r = client.post("/api/layers/incidents", json=body, headers=auth)
    assert r.status_code == 201, r.text
    kinds = [e["kind"] for e in client.get(f"/api/incidents/{r.json()['id']}/timeline").json()]
    assert kinds == ["created"]
