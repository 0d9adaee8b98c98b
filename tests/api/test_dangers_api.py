"""Hidden dangers as a closed loop (issue 17): 发现 → 整改中 → 待复查 → 销号 over the API, on both stores.

The rules checked: the deadline may not be past at creation; submitting needs measures and an
evidence photo; a 重大隐患 is closed by someone other than its finder; a step quotes the version
it saw; the phone's replay of the same finding (same client_uuid) stores it once, also when the
replays race; photos are images under 8 MB, their EXIF place read; overdue findings raise one
alarm each, closed with the finding. Nothing is half-written when a step is refused.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from safemap.api.http.app import create_app
from safemap.api.services import danger_overdue, dangers
from safemap.api.settings import Settings
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token

ADMIN = Actor("admin", "admin")
#: 吉也克镇 in the demo county's frame (any point in the store's extent).
HERE = [82.98, 46.20]


def jpeg(color: tuple[int, int, int] = (200, 30, 30), gps: tuple[float, float] | None = None) -> bytes:
    """A small JPEG; with ``gps`` (lon, lat) its EXIF GPS IFD holds the place as degrees/minutes/seconds."""
    img = Image.new("RGB", (64, 48), color)
    exif = Image.Exif()
    if gps is not None:
        lon, lat = gps

        def dms(v: float) -> tuple[float, float, float]:
            d = int(v)
            m = int((v - d) * 60)
            return (float(d), float(m), round((v - d - m / 60) * 3600, 4))

        exif[0x8825] = {1: "N", 2: dms(lat), 3: "E", 4: dms(lon)}
        exif[0x0132] = "2026:12:01 09:30:00"
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


@pytest.fixture
def client(store: FeatureStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(basemap="none"), store=store)) as c:
        yield c


def token(store: FeatureStore, name: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(store, name, role)}"}


@pytest.fixture
def people(store: FeatureStore) -> dict[str, dict[str, str]]:
    return {
        "finder": token(store, "张检查", "inspector"),
        "reviewer": token(store, "李复查", "inspector"),
        "viewer": token(store, "赵只读", "viewer"),
        "admin": token(store, "王管理", "admin"),
    }


@pytest.fixture
def enterprise(store: FeatureStore) -> int:
    created = store.create(
        "enterprises",
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": HERE},
            "properties": {
                "name": "裕民县某化工",
                "industry": "hazchem_use",
                "risk_level": "yellow",
                "township": "吉也克镇",
            },
        },
        ADMIN,
    )
    return int(created["id"])


def today(store: FeatureStore) -> dt.date:
    return dangers.today(store)


def finding(client: TestClient, auth: dict[str, str], **extra: object) -> dict:
    body = {"grade": "major", "description": "液氯储罐区有毒气体报警器失效", "deadline": "2099-12-31", **extra}
    r = client.post("/api/dangers", json=body, headers=auth)
    assert r.status_code in (200, 201), r.text
    return r.json()["feature"]


def step(client: TestClient, auth: dict[str, str], fid: int, action: str, **extra: object):  # type: ignore[no-untyped-def]
    version = client.get(f"/api/dangers/{fid}", headers=auth).json()["feature"]["properties"]["version"]
    return client.post(
        f"/api/dangers/{fid}/transition", json={"action": action, "version": version, **extra}, headers=auth
    )


def counts(store: FeatureStore) -> tuple[int, int, int]:
    return (
        len(store.query("hidden_dangers", limit=None).rows),
        len(store.query("hidden_danger_events", limit=None).rows),
        len(store.query("danger_photos", limit=None).rows),
    )


def test_a_major_finding_goes_round_the_loop_to_closed(
    client: TestClient, store: FeatureStore, people: dict, enterprise: int
) -> None:
    f = finding(client, people["finder"], enterprise_id=enterprise, deadline=str(today(store)))
    p = f["properties"]
    assert p["status"] == "found" and p["status_label"] == "发现" and p["grade_label"] == "重大隐患"
    assert p["township"] == "吉也克镇" and f["geometry"]["coordinates"] == HERE  # placed at its enterprise
    assert p["overdue"] is False and p["found_by"] == "张检查"
    fid = f["id"]
    detail = client.get(f"/api/dangers/{fid}", headers=people["finder"]).json()
    assert detail["actions"] == ["rectify", "submit", "extend", "note"]

    assert step(client, people["finder"], fid, "rectify").status_code == 200
    before = counts(store)
    r = step(client, people["finder"], fid, "submit", text="已更换报警器")
    assert r.status_code == 422 and "整改证据" in r.json()["message"]
    assert counts(store) == before  # nothing half-written

    r = client.post(
        f"/api/dangers/{fid}/photos",
        files={"file": ("after.jpg", jpeg(), "image/jpeg")},
        data={"stage": "evidence"},
        headers=people["finder"],
    )
    assert r.status_code == 201 and r.json()["stage_label"] == "整改证据"
    photo = r.json()
    assert client.get(photo["url"], headers=people["viewer"]).content[:2] == b"\xff\xd8"
    r = step(client, people["finder"], fid, "submit", measures="已更换有毒气体报警器并联调", photo_ids=[photo["id"]])
    assert r.status_code == 200 and r.json()["feature"]["properties"]["status_label"] == "待复查"

    r = step(client, people["finder"], fid, "pass")
    assert r.status_code == 403 and r.json()["message"] == "重大隐患须由发现人以外的人员复查销号"
    r = step(client, people["reviewer"], fid, "fail")
    assert r.status_code == 422 and "原因" in r.json()["message"]
    r = step(client, people["reviewer"], fid, "pass", text="现场复查合格")
    assert r.status_code == 200
    closed = r.json()["feature"]["properties"]
    assert closed["status_label"] == "销号" and closed["reviewer"] == "李复查" and closed["closed_at"]
    assert r.json()["actions"] == ["note"]
    kinds = [e["kind_label"] for e in r.json()["events"]]
    assert kinds == ["发现", "开始整改", "上传照片", "整改完成提交复查", "销号"]
    assert all(e["actor"] for e in r.json()["events"])
    # Every step is in the audit log, with who.
    log = store.audit_log(layer="hidden_dangers", limit=100)
    assert {e["actor"] for e in log} >= {"张检查", "李复查"}
    # Closed is final for the loop.
    assert step(client, people["reviewer"], fid, "rectify").status_code == 409


def test_general_finding_may_be_closed_by_its_finder_and_stale_steps_are_refused(
    client: TestClient, store: FeatureStore, people: dict
) -> None:
    f = finding(client, people["finder"], grade="一般", location=HERE)  # "一般" typed short
    fid, version = f["id"], f["properties"]["version"]
    assert f["properties"]["grade"] == "general"
    r = client.post(f"/api/dangers/{fid}/transition", json={"action": "rectify"}, headers=people["finder"])
    assert r.status_code == 428
    assert (
        client.post(
            f"/api/dangers/{fid}/transition", json={"action": "rectify", "version": version}, headers=people["finder"]
        ).status_code
        == 200
    )
    r = client.post(
        f"/api/dangers/{fid}/transition",
        json={"action": "note", "version": version, "text": "x"},
        headers=people["finder"],
    )
    assert r.status_code == 409 and "刷新" in r.json()["message"]
    r = step(client, people["finder"], fid, "pass")
    assert r.status_code == 409 and "整改中" in r.json()["message"]
    client.post(
        f"/api/dangers/{fid}/photos",
        files={"file": ("a.png", _png(), "image/png")},
        data={"stage": "整改证据"},
        headers=people["finder"],
    )
    assert step(client, people["finder"], fid, "submit", text="已清理通道").status_code == 200
    assert step(client, people["finder"], fid, "pass").status_code == 200


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (10, 10), (0, 128, 0)).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"deadline": "2020-01-01"}, "deadline", "已过"),
        ({"deadline": "明天"}, "deadline", "应为日期"),
        ({"grade": "特大"}, "grade", "一般隐患（general）"),
        ({"description": "   "}, "description", "隐患描述"),
        ({"location": None, "enterprise_id": None}, "location", "点选"),
        ({"enterprise_id": 999999}, "enterprise_id", "没有编号为 999999 的企业"),
        ({"found_at": "2099-01-01T00:00:00"}, "found_at", "不能晚于现在"),
    ],
)
def test_bad_findings_are_refused_naming_the_field(
    client: TestClient, store: FeatureStore, people: dict, body: dict, field: str, words: str
) -> None:
    before = counts(store)
    full = {"grade": "major", "description": "配电室无应急照明", "deadline": "2099-12-31", "location": HERE, **body}
    r = client.post("/api/dangers", json=full, headers=people["finder"])
    assert r.status_code == 422, r.text
    assert r.json()["problems"][0]["field"] == field and words in r.json()["message"]
    assert counts(store) == before


def test_dates_typed_the_way_people_type_them(client: TestClient, store: FeatureStore, people: dict) -> None:
    for typed in ("２０９９－０１－０５", "2099年1月5日", "2099/1/5", " 2099.01.05 "):
        f = finding(client, people["finder"], location=HERE, deadline=typed)
        assert f["properties"]["deadline"] == "2099-01-05", typed
    # Today is allowed (a finding fixed on the spot), in the store's zone.
    assert finding(client, people["finder"], location=HERE, deadline=str(today(store)))["properties"]["deadline"]


def test_viewers_cannot_record_and_anonymous_cannot_read(client: TestClient, people: dict) -> None:
    r = client.post(
        "/api/dangers",
        json={"grade": "general", "description": "x", "deadline": "2099-01-01"},
        headers=people["viewer"],
    )
    assert r.status_code == 403
    assert client.get("/api/dangers").status_code == 401
    assert client.get("/api/layers/hidden_dangers").status_code == 401
    assert client.get("/api/layers/hidden_dangers", headers=people["viewer"]).status_code == 200


def test_replayed_finding_is_stored_once(client: TestClient, store: FeatureStore, people: dict) -> None:
    first = client.post(
        "/api/dangers",
        json={
            "grade": "general",
            "description": "灭火器过期",
            "deadline": "2099-01-01",
            "location": HERE,
            "client_uuid": "phone-1",
        },
        headers=people["finder"],
    )
    again = client.post(
        "/api/dangers",
        json={
            "grade": "general",
            "description": "灭火器过期",
            "deadline": "2099-01-01",
            "location": HERE,
            "client_uuid": "phone-1",
        },
        headers=people["finder"],
    )
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["feature"]["id"] == again.json()["feature"]["id"]
    assert counts(store)[:2] == (1, 1)


def test_racing_replays_store_one_finding(pg_store: FeatureStore) -> None:
    """Eight replays of one queued finding at once (a phone back online on a flaky link) store it once."""
    app = create_app(Settings(basemap="none"), store=pg_store)
    auth = token(pg_store, "张检查", "inspector")
    answers: list[int] = []
    body = {
        "grade": "general",
        "description": "消防通道堵塞",
        "deadline": "2099-01-01",
        "location": HERE,
        "client_uuid": "race-7",
    }
    with TestClient(app) as c:

        def send() -> None:
            answers.append(c.post("/api/dangers", json=body, headers=auth).status_code)

        threads = [threading.Thread(target=send) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(answers) == [200] * 7 + [201]
    assert len(pg_store.query("hidden_dangers", limit=None).rows) == 1


def test_photos_checked_and_exif_place_read(client: TestClient, store: FeatureStore, people: dict) -> None:
    fid = finding(client, people["finder"], location=HERE)["id"]
    url = f"/api/dangers/{fid}/photos"
    r = client.post(
        url, files={"file": ("scene.jpg", jpeg(gps=(82.9836, 46.2011)), "image/jpeg")}, headers=people["finder"]
    )
    assert r.status_code == 201, r.text
    meta = r.json()
    assert meta["stage_label"] == "发现时"
    assert meta["lon"] == pytest.approx(82.9836, abs=1e-4) and meta["lat"] == pytest.approx(46.2011, abs=1e-4)
    assert meta["taken_at"] == "2026-12-01T09:30:00+08:00"  # EXIF time is the phone's local time
    # The same image again (the queue replaying) is not stored twice.
    again = client.post(
        url, files={"file": ("scene.jpg", jpeg(gps=(82.9836, 46.2011)), "image/jpeg")}, headers=people["finder"]
    )
    assert again.status_code == 200 and again.json()["id"] == meta["id"]
    before = counts(store)
    bad = client.post(
        url, files={"file": ("notes.jpg", b"this is not a picture", "image/jpeg")}, headers=people["finder"]
    )
    assert bad.status_code == 422 and "不是可识别的图片" in bad.json()["message"]
    txt = client.post(url, files={"file": ("notes.txt", b"hello", "text/plain")}, headers=people["finder"])
    assert txt.status_code == 422
    huge = client.post(
        url, files={"file": ("big.jpg", b"\xff\xd8" + b"0" * (9 * 1024 * 1024), "image/jpeg")}, headers=people["finder"]
    )
    assert huge.status_code == 413
    assert counts(store) == before
    assert (
        client.post(url, files={"file": ("a.jpg", jpeg(), "image/jpeg")}, headers=people["viewer"]).status_code == 403
    )


def test_overdue_findings_raise_one_alarm_each_closed_with_the_finding(
    client: TestClient, store: FeatureStore, people: dict
) -> None:
    f = finding(client, people["finder"], grade="general", location=HERE, deadline=str(today(store)))
    fid = f["id"]
    assert danger_overdue.sweep_overdue(store) == []  # due today: not yet overdue
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    raised = danger_overdue.sweep_overdue(store, later)
    assert len(raised) == 1
    assert danger_overdue.sweep_overdue(store, later) == []  # one alarm per finding
    alarm = store.get("alarms", raised[0])["properties"]
    assert alarm["kind"] == "danger_overdue" and alarm["danger_id"] == fid and "3 天" in alarm["message"]
    events = client.get(f"/api/dangers/{fid}", headers=people["finder"]).json()["events"]
    assert events[-1]["kind_label"] == "逾期报警"
    client.post(
        f"/api/dangers/{fid}/photos",
        files={"file": ("a.jpg", jpeg(), "image/jpeg")},
        data={"stage": "evidence"},
        headers=people["finder"],
    )
    assert step(client, people["finder"], fid, "submit", text="已整改").status_code == 200
    assert step(client, people["reviewer"], fid, "pass").status_code == 200
    assert store.get("alarms", raised[0])["properties"]["state"] == "closed"


def test_extend_needs_a_later_date_and_a_reason(client: TestClient, store: FeatureStore, people: dict) -> None:
    fid = finding(client, people["finder"], location=HERE, deadline="2099-01-01")["id"]
    assert (
        step(client, people["reviewer"], fid, "extend", deadline="2098-01-01", text="设备到货延迟").status_code == 422
    )
    assert step(client, people["reviewer"], fid, "extend", deadline="2099-03-01").status_code == 422
    r = step(client, people["reviewer"], fid, "extend", deadline="2099-03-01", text="设备到货延迟")
    assert r.status_code == 200 and r.json()["feature"]["properties"]["deadline"] == "2099-03-01"


def test_statistics_per_township_and_industry(
    client: TestClient, store: FeatureStore, people: dict, enterprise: int
) -> None:
    finding(client, people["finder"], enterprise_id=enterprise)
    finding(client, people["finder"], enterprise_id=enterprise, grade="general")
    finding(client, people["finder"], location=HERE, grade="general")
    by_industry = client.get("/api/prevention/stats?by=industry", headers=people["viewer"]).json()
    rows = {r["label"]: r for r in by_industry["rows"]}
    assert rows["危化品使用"]["total"] == 2 and rows["危化品使用"]["major_open"] == 1
    assert rows["无所属企业"]["total"] == 1 and by_industry["closed_rate"] == 0
    by_town = client.get("/api/prevention/stats?by=township", headers=people["viewer"]).json()
    assert {r["label"]: r["found"] for r in by_town["rows"]} == {"吉也克镇": 2, "未填乡镇": 1}
    assert client.get("/api/prevention/stats?by=county", headers=people["viewer"]).status_code == 400
    listed = client.get("/api/dangers?grade=重大隐患&status=发现", headers=people["viewer"]).json()
    assert [f["properties"]["enterprise_name"] for f in listed["features"]] == ["裕民县某化工"]
    assert client.get("/api/dangers?status=完成", headers=people["viewer"]).status_code == 400
