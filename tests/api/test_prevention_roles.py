"""Enterprise users keep their own records only (row-level), and risk points give the four-colour levels.

An enterprise user (role ``enterprise`` with its enterprise on the account) reads and writes its
own enterprise's rows in every owned layer (enterprises, risk points and zones, findings, their
photos, accidents …) through the layer API, the OGC API, tiles, exports and the double-prevention
routes; another enterprise's rows are invisible (404) and writes to them refused (403); layers no
enterprise owns are closed to it unless they are the base map. Risk points: LEC D = L×E×C and
LS R = L×S graded by ``risk_level_bands``; a zone and the enterprise take the highest level.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from safemap.api.http.app import create_app
from safemap.api.services import accounts
from safemap.api.settings import Settings
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token

ADMIN = Actor("admin", "admin")
PASSWORD = "Safe-Map-2026!"


def point(x: float) -> dict:
    return {"type": "Point", "coordinates": [x, 46.2]}


def make_enterprise(store: FeatureStore, name: str, x: float) -> int:
    f = store.create(
        "enterprises",
        {"geometry": point(x), "properties": {"name": name, "industry": "hazchem_storage", "risk_level": "blue"}},
        ADMIN,
    )
    return int(f["id"])


@pytest.fixture
def world(store: FeatureStore) -> dict:
    own, other = make_enterprise(store, "甲化工", 82.98), make_enterprise(store, "乙油库", 82.99)
    accounts.add_user(store, "jia", "甲化工安全员", "enterprise", PASSWORD, ADMIN, enterprise_id=own)
    accounts.add_user(store, "insp", "张检查", "inspector", PASSWORD, ADMIN)
    return {"own": own, "other": other}


def signed_in(store: FeatureStore, name: str) -> TestClient:
    c = TestClient(create_app(Settings(basemap="none"), store=store))
    r = c.post("/api/session", json={"name": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c


@pytest.fixture
def office(store: FeatureStore, world: dict) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(basemap="none"), store=store)) as c:
        c.headers["Authorization"] = f"Bearer {create_token(store, '规划员', 'planner')}"
        yield c


@pytest.fixture
def jia(store: FeatureStore, world: dict) -> Iterator[TestClient]:
    with signed_in(store, "jia") as c:
        yield c


def risk_point(enterprise_id: int | None, x: float, **props: object) -> dict:
    base = {"name": "储罐", "kind": "设备设施", "method": "LEC", "lec_l": 3, "lec_e": 6, "lec_c": 7}
    if enterprise_id is not None:
        base["enterprise_id"] = enterprise_id
    return {"type": "Feature", "geometry": point(x), "properties": {**base, **props}}


def test_risk_points_are_graded_by_lec_and_ls_and_the_enterprise_takes_the_highest(
    office: TestClient, world: dict
) -> None:
    own = world["own"]
    # LEC 3×6×7 = 126 → 一般 (70 < D ≤ 160); 6×6×40 = 1440 → 重大 (D > 320).
    r = office.post("/api/layers/risk_points", json=risk_point(own, 82.98))
    assert r.status_code == 201, r.text
    assert (r.json()["properties"]["score"], r.json()["properties"]["risk_level"]) == (126.0, "yellow")
    assert office.get(f"/api/layers/enterprises/{own}").json()["properties"]["risk_level"] == "yellow"
    zone = office.post(
        "/api/layers/risk_zones",
        json={
            "type": "Feature",
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[82.979, 46.199], [82.981, 46.199], [82.981, 46.201], [82.979, 46.201], [82.979, 46.199]]
                ],
            },
            "properties": {"name": "储罐区", "enterprise_id": own},
        },
    ).json()
    r = office.post(
        "/api/layers/risk_points", json=risk_point(own, 82.98, name="液氯储罐", lec_l=6, lec_c=40, zone_id=zone["id"])
    )
    assert (r.json()["properties"]["score"], r.json()["properties"]["risk_level"]) == (1440.0, "red")
    assert office.get(f"/api/layers/risk_zones/{zone['id']}").json()["properties"]["risk_level"] == "red"
    assert office.get(f"/api/layers/enterprises/{own}").json()["properties"]["risk_level"] == "red"
    # LS 4×4 = 16 → 较大 (12 < R ≤ 16), typed as people type the method.
    r = office.post(
        "/api/layers/risk_points",
        json=risk_point(own, 82.98, method="风险矩阵分析法（LS）", lec_l=None, lec_e=None, lec_c=None, ls_l=4, ls_s=4),
    )
    assert r.status_code == 201 and r.json()["properties"]["risk_level"] == "orange"
    # A factor that is not a value of the table, and a missing one, are named.
    r = office.post("/api/layers/risk_points", json=risk_point(own, 82.98, lec_l=5, lec_c=None))
    assert r.status_code == 422
    fields = {p["field"] for p in r.json()["problems"]}
    assert fields == {"properties.lec_l", "properties.lec_c"} and "10、6、3、1、0.5、0.2、0.1" in r.json()["message"]
    # The office sets a level by hand: it stays (核定), it is no longer derived.
    e = office.get(f"/api/layers/enterprises/{own}").json()
    r = office.patch(
        f"/api/layers/enterprises/{own}",
        json={"properties": {"risk_level": "橙（较大风险）", "version": e["properties"]["version"]}},
    )
    assert r.status_code == 200 and r.json()["properties"]["risk_level_fixed"] is True
    office.post("/api/layers/risk_points", json=risk_point(own, 82.98, name="再一个", lec_l=10, lec_c=100))
    assert office.get(f"/api/layers/enterprises/{own}").json()["properties"]["risk_level"] == "orange"


def test_enterprise_user_reads_and_writes_only_its_own_rows(
    store: FeatureStore, office: TestClient, jia: TestClient, world: dict
) -> None:
    own, other = world["own"], world["other"]
    theirs = office.post("/api/layers/risk_points", json=risk_point(other, 82.99, name="乙储罐")).json()
    mine = jia.post("/api/layers/risk_points", json=risk_point(None, 82.98, name="甲储罐"))
    assert mine.status_code == 201 and mine.json()["properties"]["enterprise_id"] == own  # filled in
    mine = mine.json()
    # Reads: the layer API, one feature, the OGC API, an export, the enterprise layer itself.
    names = [f["properties"]["name"] for f in jia.get("/api/layers/risk_points").json()["features"]]
    assert names == ["甲储罐"]
    assert jia.get(f"/api/layers/risk_points/{theirs['id']}").status_code == 404
    ogc = jia.get("/ogc/collections/risk_points/items?f=json").json()
    assert [f["properties"]["name"] for f in ogc["features"]] == ["甲储罐"]
    assert jia.get(f"/ogc/collections/risk_points/items/{theirs['id']}?f=json").status_code == 404
    assert [f["id"] for f in jia.get("/api/layers/enterprises").json()["features"]] == [own]
    exported = jia.get("/api/layers/risk_points/export?format=geojson")
    assert exported.status_code == 200 and "乙储罐" not in exported.text and "甲储罐" in exported.text
    # Writes to another enterprise's rows, or moving a row to it, are refused; nothing changes.
    r = jia.patch(f"/api/layers/risk_points/{theirs['id']}", json={"properties": {"name": "改", "version": 1}})
    assert r.status_code == 403
    r = jia.post("/api/layers/risk_points", json=risk_point(other, 82.99))
    assert r.status_code == 403 and "本企业" in r.json()["message"]
    r = jia.patch(
        f"/api/layers/risk_points/{mine['id']}",
        json={"properties": {"enterprise_id": other, "version": mine["properties"]["version"]}},
    )
    assert r.status_code == 403
    assert jia.delete(f"/api/layers/risk_points/{theirs['id']}?version=1").status_code == 403
    assert store.get("risk_points", theirs["id"])["properties"]["name"] == "乙储罐"
    # Layers no enterprise owns are closed, the base map is open.
    assert jia.get("/api/layers/incident_zones").status_code == 403
    assert jia.get("/api/layers/roads").status_code == 200
    assert (
        jia.post("/api/layers/risk_points/import", files={"file": ("x.csv", b"a,b\n", "text/csv")}).status_code == 403
    )


def test_enterprise_user_follows_its_own_findings_but_cannot_close_them(
    store: FeatureStore, office: TestClient, jia: TestClient, world: dict
) -> None:
    insp = signed_in(store, "insp")
    body = {"grade": "general", "description": "装卸区静电接地线断开", "deadline": "2099-01-01"}
    own = insp.post("/api/dangers", json={**body, "enterprise_id": world["own"]}).json()["feature"]
    other = insp.post("/api/dangers", json={**body, "enterprise_id": world["other"]}).json()["feature"]
    assert [f["id"] for f in jia.get("/api/dangers").json()["features"]] == [own["id"]]
    assert jia.get(f"/api/dangers/{other['id']}").status_code == 404
    assert jia.get(f"/api/prevention/enterprises/{world['other']}").status_code == 404
    assert jia.get(f"/api/prevention/enterprises/{world['own']}").json()["counts"]["dangers_open"] == 1
    assert [f["id"] for f in jia.get("/api/layers/hidden_dangers").json()["features"]] == [own["id"]]
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 10, 10)).save(buf, "JPEG")
    r = jia.post(f"/api/dangers/{other['id']}/photos", files={"file": ("a.jpg", buf.getvalue(), "image/jpeg")})
    assert r.status_code == 404
    r = jia.post(
        f"/api/dangers/{own['id']}/photos",
        files={"file": ("a.jpg", buf.getvalue(), "image/jpeg")},
        data={"stage": "evidence"},
    )
    assert r.status_code == 201
    photo_url = r.json()["url"]
    v = own["properties"]["version"]
    r = jia.post(f"/api/dangers/{other['id']}/transition", json={"action": "rectify", "version": 1})
    assert r.status_code == 404
    r = jia.post(f"/api/dangers/{own['id']}/transition", json={"action": "submit", "version": v, "text": "已重新接地"})
    assert r.status_code == 200 and r.json()["actions"] == ["note"]  # the enterprise may not review
    v = r.json()["feature"]["properties"]["version"]
    r = jia.post(f"/api/dangers/{own['id']}/transition", json={"action": "pass", "version": v})
    assert r.status_code == 403 and "企业不能自行销号" in r.json()["message"]
    # The photos of another enterprise's findings are not served to it.
    other_photo = insp.post(
        f"/api/dangers/{other['id']}/photos", files={"file": ("b.jpg", buf.getvalue(), "image/jpeg")}
    ).json()["url"]
    assert jia.get(photo_url).status_code == 200 and jia.get(other_photo).status_code == 404
    # An enterprise user may record its own finding (自查) but not another's.
    r = jia.post("/api/dangers", json={**body, "enterprise_id": world["other"]})
    assert r.status_code == 403
    r = jia.post("/api/dangers", json=body)
    assert r.status_code == 201 and r.json()["feature"]["properties"]["enterprise_id"] == world["own"]


def test_enterprise_accounts_need_their_enterprise(store: FeatureStore, world: dict) -> None:
    from safemap.layers.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="所属企业"):
        accounts.add_user(store, "yi", "乙", "enterprise", PASSWORD, ADMIN)
    with pytest.raises(ValidationFailed, match="没有编号"):
        accounts.add_user(store, "yi", "乙", "enterprise", PASSWORD, ADMIN, enterprise_id=99999)
    with pytest.raises(ValidationFailed, match="账号登录"):
        create_token(store, "yi", "enterprise")
