"""Warnings on both stores: a real SMTP server (aiosmtpd) and a local webhook receiver, retries, restarts, resends.

The world is small and hand-built near 裕民县 (metres from ``tests.gis.netfixtures.ORIGIN``):
an incident at (0, 0), an inner band of ±300 m and an outer band of ±1000 m; inside them a
school and its principal (phone, e-mail), a hospital and its duty office (phone, e-mail),
an enterprise with its safety officer (phone) and a village with its head (phone); a
housing estate outside. Everything binds to 127.0.0.1.

The module is longer than 500 lines because the SMTP server, the webhook receiver, the
movable clock and the world are shared by every test of the warning chain (compose,
queue, send, retry, restart, resend, HTTP, CLI, event stream); split, each part would
import the others' fixtures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from shapely.geometry import Polygon, mapping

from safemap.api.services import warnings as service
from safemap.api.services.warning_channels import SIGNATURE_HEADER, ChannelConfig
from safemap.api.services.warning_recipients import Band
from safemap.api.services.warning_worker import DeliveryWorker, RetryPolicy
from safemap.layers.errors import Unprocessable, VersionConflict
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from tests.gis.netfixtures import ll
from tests.support.background_server import free_port

ADMIN = Actor("admin", "admin")
DISPATCHER = Actor("调度员甲", "dispatcher")
SECRET = "test-secret-不外传"
VALUES = {"物质": "氯气", "方向": "东南", "撤离方向": "西北", "联系电话": "0901-6512119"}


# ---------------------------------------------------------------------------- servers
class _Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        mail = message_from_bytes(envelope.content)
        with self.lock:
            self.messages.append(
                {
                    "to": list(envelope.rcpt_tos),
                    "subject": str(make_header(decode_header(mail["Subject"]))),
                    "message_id": mail["Message-ID"],
                    "body": mail.get_payload(decode=True).decode("utf-8"),
                }
            )
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[str, _Inbox]]:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        controller.stop()


class Hook:
    """A webhook receiver: per delivery, answers from ``script`` (status codes, or ``"hang"``), then 200."""

    def __init__(self, script: list[Any] | None = None, hang_s: float = 1.5) -> None:
        self.script = script or []
        self.hang_s = hang_s
        self.calls: list[dict[str, Any]] = []
        self.per_delivery: dict[str, int] = {}
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                delivery = self.headers["X-SafeMap-Delivery"]
                with hook.lock:
                    n = hook.per_delivery.get(delivery, 0)
                    hook.per_delivery[delivery] = n + 1
                    hook.calls.append(
                        {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body, "n": n}
                    )
                    action = hook.script[n] if n < len(hook.script) else 200
                if action == "hang":
                    time.sleep(hook.hang_s)
                    action = 200  # too late: the sender has given up
                try:
                    self.send_response(int(action))
                    self.end_headers()
                    self.wfile.write(b'{"ok": true}')
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/warn"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Hook:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------- the world
def _box(half_m: float) -> Polygon:
    return Polygon([ll(-half_m, -half_m), ll(half_m, -half_m), ll(half_m, half_m), ll(-half_m, half_m)])


BANDS = (Band("重伤区", _box(300)), Band("轻伤区", _box(1000)))


def _point(x: float, y: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": list(ll(x, y))}


def _create(store: FeatureStore, layer: str, at: tuple[float, float], **props: Any) -> int:
    feature = {"type": "Feature", "geometry": _point(*at), "properties": props}
    return int(store.create(layer, feature, ADMIN)["id"])


def seed_world(store: FeatureStore) -> dict[str, int]:
    """The incident and everyone around it (see the module docstring)."""
    ids = {
        "incident": _create(
            store, "incidents", (0, 0), name="某化工厂氯气泄漏", kind="leak", status="responding",
            reported_at="2026-12-01T03:00:00+08:00",
        ),
        "school": _create(store, "protected_targets", (100, 0), name="测试小学", category="school", population=500),
        "hospital": _create(store, "protected_targets", (600, 0), name="测试医院", category="hospital", population=80),
        "estate": _create(
            store, "protected_targets", (1500, 0), name="区外小区", category="residential", population=900
        ),
        "village": _create(store, "settlements", (-700, 0), name="测试村", kind="village", population=300),
        "firm": _create(
            store, "enterprises", (0, 150), name="测试化工厂", industry="hazchem_use", risk_level="red",
            contact="张安全", phone="0901-6522222",
        ),
    }  # fmt: skip
    _create(
        store, "warning_contacts", (100, 0), name="李校长", role="principal", organisation="测试小学",
        phone="0901-6511111", email="principal@school.example", target_id=ids["school"],
    )  # fmt: skip
    _create(
        store, "warning_contacts", (600, 0), name="医院总值班", role="hospital_duty", organisation="测试医院",
        phone="0901-6533333", email="duty@hospital.example", target_id=ids["hospital"],
    )  # fmt: skip
    _create(
        store, "warning_contacts", (-700, 0), name="王村长", role="village_head", organisation="测试村委会",
        phone="0901-6544444", settlement_id=ids["village"],
    )  # fmt: skip
    _create(
        store, "warning_contacts", (1500, 0), name="区外联系人", role="other", phone="0901-6555555",
        target_id=ids["estate"],
    )  # fmt: skip
    return ids


def _request(**kw: Any) -> service.WarningRequest:
    base: dict[str, Any] = {
        "template": "evacuate",
        "bands": ("重伤区", "轻伤区"),
        "channels": ("email", "webhook", "call_list"),
        "values": VALUES,
    }
    base.update(kw)
    return service.WarningRequest(**base)


def _send(store: FeatureStore, ids: dict[str, int], config: ChannelConfig, **kw: Any) -> tuple[bool, dict[str, Any]]:
    return service.send_warning(store, DISPATCHER, ids["incident"], service.Zone(BANDS, 1), _request(**kw), config)


def _deliveries(store: FeatureStore) -> list[dict[str, Any]]:
    return store.query("warning_deliveries", limit=None, count=False).rows


class Clock:
    """A clock the test moves forward (no sleeping through back-off)."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


# ---------------------------------------------------------------------------- tests
def test_recipients_most_urgent_first_and_only_inside(store: FeatureStore) -> None:
    ids = seed_world(store)
    _create(store, "protected_targets", (250, 250), name="无联系人住宅", category="residential", population=120)
    created, preview = _send(store, ids, ChannelConfig(), preview=True)
    assert not created and preview["preview"] is True
    who = [(r["organisation"], r["name"], r["band"]) for r in preview["recipient_list"]]
    assert who == [
        ("测试小学", "李校长", "重伤区"),
        ("测试医院", "医院总值班", "轻伤区"),
        ("测试村委会", "王村长", "轻伤区"),
        ("测试化工厂", "张安全", "重伤区"),
    ]
    assert "氯气" in preview["message"] and "西北方向撤离" in preview["message"]
    assert preview["uncovered_targets"]["count"] == 1 and preview["uncovered_targets"]["population"] == 120
    assert store.counts()["warnings"] == 0 and store.counts()["warning_deliveries"] == 0


def test_warning_reaches_every_recipient_exactly_once(store: FeatureStore, smtp: tuple[str, _Inbox]) -> None:
    url, inbox = smtp
    ids = seed_world(store)
    with Hook() as hook:
        config = ChannelConfig(smtp_url=url, webhook_url=hook.url, webhook_secret=SECRET, timeout_s=2)
        created, result = _send(store, ids, config)
        assert created and result["recipients"] == 4
        by_channel = {
            c: sum(d["channel"] == c for d in result["deliveries"]) for c in ("email", "webhook", "call_list")
        }
        assert by_channel == {"email": 2, "webhook": 4, "call_list": 4}
        assert all(d["state"] == "queued" for d in result["deliveries"])
        worker = DeliveryWorker(store, config, policy=RetryPolicy(base_s=30))
        assert worker.run_until_idle()["sent"] == 6
        assert worker.run_until_idle()["claimed"] == 0  # nothing left, nothing twice
    assert sorted(m["to"][0] for m in inbox.messages) == ["duty@hospital.example", "principal@school.example"]
    assert len({m["message_id"] for m in inbox.messages}) == 2
    assert all("氯气" in m["body"] and m["subject"].startswith("【裕民县") for m in inbox.messages)
    phones = sorted(json.loads(c["body"])["recipient"]["phone"] for c in hook.calls)
    assert phones == ["0901-6511111", "0901-6522222", "0901-6533333", "0901-6544444"]
    for call in hook.calls:  # signed over the exact body
        expected = "sha256=" + hmac.new(SECRET.encode(), call["body"], hashlib.sha256).hexdigest()
        assert call["headers"][SIGNATURE_HEADER.lower()] == expected
        assert call["headers"]["idempotency-key"].endswith(":" + call["headers"]["x-safemap-delivery"])
    rows = _deliveries(store)
    assert {r["state"] for r in rows if r["channel"] != "call_list"} == {"sent"}
    assert all(r["attempts"] == 1 and r["sent_at"] is not None for r in rows if r["channel"] != "call_list")
    # The call list waits for someone to phone; acknowledging is recorded once.
    call = next(r for r in rows if r["channel"] == "call_list")
    assert call["state"] == "queued"
    acked = service.acknowledge(store, DISPATCHER, call["id"], "已电话确认")
    assert acked["state"] == "acknowledged" and acked["state_label"] == "已确认"
    again = service.acknowledge(store, DISPATCHER, call["id"])
    assert again["acknowledged_at"] == acked["acknowledged_at"]
    listed = service.list_warnings(store, ids["incident"])
    assert listed[0]["counts"]["已发送"] == 6 and listed[0]["counts"]["已确认"] == 1


def test_failing_webhook_is_retried_with_back_off_and_recorded(store: FeatureStore) -> None:
    ids = seed_world(store)
    clock = Clock()
    # Every delivery: HTTP 500, then no answer within the timeout, then 200.
    with Hook(script=[500, "hang"], hang_s=1.5) as hook:
        config = ChannelConfig(webhook_url=hook.url, webhook_secret=SECRET, timeout_s=0.5)
        _send(store, ids, config, channels=("webhook",), bands=("重伤区",))
        worker = DeliveryWorker(store, config, policy=RetryPolicy(base_s=30, cap_s=600), clock=clock)
        first = worker.run_until_idle()
        assert first == {"claimed": 2, "sent": 0, "failed": 0, "retrying": 2, "lost": 0}
        rows = _deliveries(store)
        assert all(r["state"] == "failed" and r["attempts"] == 1 for r in rows)
        assert all("HTTP 500" in r["last_error"] and "30 秒后重试" in r["last_error"] for r in rows)
        assert all(abs((r["next_attempt_at"] - clock.now).total_seconds() - 30) < 0.01 for r in rows)
        clock.advance(29)
        assert worker.run_until_idle()["claimed"] == 0  # not due yet: back-off respected
        clock.advance(2)
        assert worker.run_until_idle()["retrying"] == 2
        rows = _deliveries(store)
        assert all(r["attempts"] == 2 and "超时" in r["last_error"] and "1 分钟后重试" in r["last_error"] for r in rows)
        clock.advance(61)
        assert worker.run_until_idle()["sent"] == 2
        rows = _deliveries(store)
        assert all(r["state"] == "sent" and r["attempts"] == 3 and r["last_error"] is None for r in rows)
        assert sorted(hook.per_delivery.values()) == [3, 3]
    # Every attempt is in the audit log, with the row before and after.
    attempts = [e for e in store.audit_log(layer="warning_deliveries", limit=100) if e["action"] == "deliver"]
    assert len(attempts) == 6


def test_webhook_that_always_fails_stops_after_max_attempts(gpkg_store: FeatureStore) -> None:
    ids = seed_world(gpkg_store)
    clock = Clock()
    with Hook(script=[503] * 10) as hook:
        config = ChannelConfig(webhook_url=hook.url, webhook_secret=SECRET, timeout_s=1)
        _send(gpkg_store, ids, config, channels=("webhook",), bands=("重伤区",))
        worker = DeliveryWorker(
            gpkg_store, config, policy=RetryPolicy(base_s=30, cap_s=45, max_attempts=3), clock=clock
        )
        waits = []
        for _ in range(5):
            worker.run_until_idle()
            rows = _deliveries(gpkg_store)
            if rows[0]["next_attempt_at"] is None:
                break
            waits.append(round((rows[0]["next_attempt_at"] - clock.now).total_seconds()))
            clock.advance(waits[-1] + 1)
        assert waits == [30, 45]  # 30 s, then 60 s capped at 45 s
        assert all(r["state"] == "failed" and r["attempts"] == 3 for r in rows)
        assert all("已达最多 3 次" in r["last_error"] for r in rows)
        assert sorted(hook.per_delivery.values()) == [3, 3]


def test_restart_in_the_middle_loses_nothing_and_sends_nothing_twice(
    store: FeatureStore, smtp: tuple[str, _Inbox]
) -> None:
    url, inbox = smtp
    ids = seed_world(store)
    clock = Clock()
    config = ChannelConfig(smtp_url=url, timeout_s=2)
    _send(store, ids, config, channels=("email",))
    dead = DeliveryWorker(store, config, lease_s=60, clock=clock, worker_id="dead")
    claimed = dead.claim()  # … and the process dies before sending
    assert len(claimed) == 2 and not inbox.messages
    fresh = DeliveryWorker(store, config, lease_s=60, clock=clock, worker_id="fresh")
    assert fresh.run_until_idle()["claimed"] == 0  # leased by the dead worker: not sent twice
    clock.advance(61)  # the lease runs out
    assert fresh.run_until_idle()["sent"] == 2
    assert sorted(m["to"][0] for m in inbox.messages) == ["duty@hospital.example", "principal@school.example"]
    # The dead worker's late record is refused: its claim was taken over.
    assert dead.record(claimed[0], dead.send(claimed[0])) == "lost"
    assert len(inbox.messages) == 3  # that late send is the only repeat, and the store still says sent once
    assert all(r["state"] == "sent" and r["attempts"] == 1 for r in _deliveries(store))


def test_resend_is_idempotent(store: FeatureStore, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = seed_world(store)
    config = ChannelConfig()
    clock = Clock()
    monkeypatch.setattr(service, "utc_now", clock)
    created, first = _send(store, ids, config, idempotency_key="client:abc")
    clock.advance(90)  # the retry comes a minute and a half later: {时间} reads differently
    again, second = _send(store, ids, config, idempotency_key="client:abc")
    assert created and not again and second["replayed"]
    assert second["warning"]["id"] == first["warning"]["id"]
    auto1 = _send(store, ids, config)
    clock.advance(61)
    auto2 = _send(store, ids, config)  # a double click without a key, across a minute: same warning
    assert auto1[0] and not auto2[0] and auto1[1]["warning"]["id"] == auto2[1]["warning"]["id"]
    assert store.counts()["warnings"] == 2
    assert store.counts()["warning_deliveries"] == 2 * len(first["deliveries"])
    with pytest.raises(VersionConflict) as exc:
        _send(store, ids, config, idempotency_key="client:abc", template="close_windows")
    assert exc.value.problems[0].field == "Idempotency-Key"


def test_unconfigured_channels_are_recorded_not_failed(store: FeatureStore) -> None:
    ids = seed_world(store)
    created, result = _send(store, ids, ChannelConfig())
    assert created
    states = {(d["channel"], d["state_label"]) for d in result["deliveries"]}
    assert states == {("email", "未配置"), ("webhook", "未配置"), ("call_list", "排队")}
    assert result["channels"]["email"]["configured"] is False
    assert DeliveryWorker(store, ChannelConfig()).run_until_idle()["claimed"] == 0


def test_bad_input_names_the_field(store: FeatureStore) -> None:
    ids = seed_world(store)
    config = ChannelConfig()
    cases = [
        ({"template": "nope"}, "template", "预警模板"),
        ({"values": {"物质": "氯气"}}, "values.方向", "方向"),
        ({"bands": ("不存在",)}, "bands", "当前危险区没有分区"),
        ({"channels": ("fax",)}, "channels", "没有发布渠道"),
    ]
    for kw, field, words in cases:
        with pytest.raises(Unprocessable) as exc:
            _send(store, ids, config, **kw)
        assert exc.value.problems[0].field == field and words in exc.value.message, kw
    far = service.Zone((Band("远处", Polygon([ll(5000, 5000), ll(5050, 5000), ll(5050, 5050)])),))
    with pytest.raises(Unprocessable) as exc:
        service.send_warning(store, DISPATCHER, ids["incident"], far, _request(bands=("远处",)), config)
    assert exc.value.problems[0].field == "bands" and "没有需要通知的对象" in exc.value.message
    assert store.counts()["warnings"] == 0 and store.counts()["warning_deliveries"] == 0


# ---------------------------------------------------------------------------- HTTP
def _zone_row(store: FeatureStore, incident_id: int) -> None:
    """A stored zone as the incident service writes it (bands JSON, outermost band as geometry)."""
    bands = [{"label": b.label, "threshold": None, "geometry": mapping(b.geometry)} for b in BANDS]
    props = {
        "name": "危险区 1",
        "incident_id": incident_id,
        "seq": 1,
        "model": "gaussian_plume",
        "inputs": "{}",
        "bands": json.dumps(bands),
        "created_by": "test",
    }
    store.create(
        "incident_zones", {"type": "Feature", "geometry": mapping(BANDS[1].geometry), "properties": props}, ADMIN
    )


def test_http_send_list_call_list_ack(gpkg_store: FeatureStore) -> None:
    from fastapi.testclient import TestClient

    from safemap.api.http.app import create_app
    from safemap.api.settings import Settings
    from safemap.layers.tokens import create_token

    ids = seed_world(gpkg_store)
    _zone_row(gpkg_store, ids["incident"])
    auth = {"Authorization": "Bearer " + create_token(gpkg_store, "调度员甲", "dispatcher")}
    viewer = {"Authorization": "Bearer " + create_token(gpkg_store, "查看员", "viewer")}
    inc = ids["incident"]
    body = {"template": "evacuate", "bands": ["重伤区", "轻伤区"], "channels": ["call_list", "email"], "values": VALUES}
    with TestClient(create_app(Settings(basemap="none", warning_worker=False), store=gpkg_store)) as client:
        templates = client.get("/api/warning-templates").json()
        assert {"shelter_in_place", "evacuate", "close_windows"} <= {t["code"] for t in templates["templates"]}
        assert templates["channels"]["email"]["configured"] is False
        assert client.post(f"/api/incidents/{inc}/warnings", json=body, headers=viewer).status_code == 403
        r = client.post(f"/api/incidents/{inc}/warnings", json={**body, "preview": True}, headers=auth)
        assert r.status_code == 200 and len(r.json()["recipient_list"]) == 4
        r = client.post(f"/api/incidents/{inc}/warnings", json=body, headers={**auth, "Idempotency-Key": "k1"})
        assert r.status_code == 201, r.text
        wid = r.json()["warning"]["id"]
        r2 = client.post(f"/api/incidents/{inc}/warnings", json=body, headers={**auth, "Idempotency-Key": "k1"})
        assert r2.status_code == 200 and r2.json()["warning"]["id"] == wid
        bad = client.post(f"/api/incidents/{inc}/warnings", json={**body, "values": {}}, headers=auth)
        assert bad.status_code == 422 and "{物质}" in bad.json()["message"]
        bad = client.post(f"/api/incidents/{inc}/warnings", json={**body, "template": "x"}, headers=auth)
        assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "template"
        bad = client.post(f"/api/incidents/{inc}/warnings", json={**body, "channels": ["fax"]}, headers=auth)
        assert bad.status_code == 422 and "发布渠道" in bad.json()["message"]
        assert client.post("/api/incidents/999999/warnings", json=body, headers=auth).status_code == 404
        listed = client.get(f"/api/incidents/{inc}/warnings").json()["warnings"]
        assert len(listed) == 1 and listed[0]["counts"]["未配置"] == 2 and listed[0]["counts"]["排队"] == 4
        page = client.get(f"/api/incidents/{inc}/warnings/{wid}/call-list")
        assert page.status_code == 200 and "电话通知清单" in page.text and "0901-6511111" in page.text
        assert page.text.index("测试小学") < page.text.index("测试化工厂")  # schools first
        call = next(d for d in listed[0]["deliveries"] if d["channel"] == "call_list")
        ack = client.post(f"/api/warning-deliveries/{call['id']}/ack", json={"note": "已电话确认"}, headers=auth)
        assert ack.status_code == 200 and ack.json()["state_label"] == "已确认"
        assert client.post(f"/api/warning-deliveries/{call['id']}/ack", headers=viewer).status_code == 403
        timeline = [e for e in gpkg_store.query("incident_events", limit=None).rows if e["kind"] == "warning"]
        assert len(timeline) == 2 and "发布预警" in timeline[0]["text"]


def test_sent_warning_reaches_the_event_stream(gpkg_store: FeatureStore) -> None:
    from safemap.api.services.event_feed import FOLLOWED, change
    from safemap.layers import dispatching

    ids = seed_world(gpkg_store)
    start = dispatching.latest_audit_id(gpkg_store)
    _send(gpkg_store, ids, ChannelConfig())
    rows = [r for r in dispatching.changes_since(gpkg_store, start, FOLLOWED) if r["layer"] == "warnings"]
    assert len(rows) == 1
    event = change(rows[0])
    assert event is not None and event["incident_id"] == ids["incident"] and event["recipients"] == 4


def test_cli_delivers_once(gpkg_path: Any, smtp: tuple[str, _Inbox], monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from safemap.api.cli.group import main
    from safemap.layers.store import open_store
    from tests.support.demo import YUMIN_EXTENT

    url, inbox = smtp
    store = open_store(gpkg_path, extent=YUMIN_EXTENT)
    try:
        ids = seed_world(store)
        _send(store, ids, ChannelConfig(smtp_url=url), channels=("email", "call_list"))
    finally:
        store.close()
    monkeypatch.setenv("SAFEMAP_GPKG_PATH", str(gpkg_path))
    monkeypatch.setenv("SAFEMAP_SMTP_URL", url)
    monkeypatch.delenv("SAFEMAP_DATABASE_URL", raising=False)
    first = CliRunner().invoke(main, ["warnings", "deliver"])
    assert first.exit_code == 0, first.output
    assert "已发送 2" in first.output and len(inbox.messages) == 2
    again = CliRunner().invoke(main, ["warnings", "deliver"])
    assert "领取 0" in again.output and len(inbox.messages) == 2
    listed = CliRunner().invoke(main, ["warnings", "list", str(ids["incident"])])
    assert "已发送 2" in listed.output and "排队 4" in listed.output


def test_two_workers_at_once_send_each_delivery_once(store: FeatureStore, smtp: tuple[str, _Inbox]) -> None:
    url, inbox = smtp
    ids = seed_world(store)
    with Hook() as hook:
        config = ChannelConfig(smtp_url=url, webhook_url=hook.url, webhook_secret=SECRET, timeout_s=2)
        _send(store, ids, config)
        workers = [DeliveryWorker(store, config, batch=2, worker_id=f"w{k}") for k in range(3)]
        threads = [threading.Thread(target=w.run_until_idle) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(hook.per_delivery.values()) == [1, 1, 1, 1]
    assert len(inbox.messages) == 2
    assert all(r["state"] == "sent" and r["attempts"] == 1 for r in _deliveries(store) if r["channel"] != "call_list")


def test_app_worker_sends_right_after_the_post(gpkg_store: FeatureStore, smtp: tuple[str, _Inbox]) -> None:
    from fastapi.testclient import TestClient

    from safemap.api.http.app import create_app
    from safemap.api.settings import Settings
    from safemap.layers.tokens import create_token

    url, inbox = smtp
    ids = seed_world(gpkg_store)
    _zone_row(gpkg_store, ids["incident"])
    auth = {"Authorization": "Bearer " + create_token(gpkg_store, "调度员甲", "dispatcher")}
    body = {"template": "evacuate", "bands": ["重伤区"], "channels": ["email"], "values": VALUES}
    settings = Settings(basemap="none", smtp_url=url, warning_worker_interval_s=600)
    with TestClient(create_app(settings, store=gpkg_store)) as client:
        started = time.monotonic()
        assert client.post(f"/api/incidents/{ids['incident']}/warnings", json=body, headers=auth).status_code == 201
        while not inbox.messages and time.monotonic() - started < 20:
            time.sleep(0.1)
        assert [m["to"] for m in inbox.messages] == [["principal@school.example"]]
        assert time.monotonic() - started < 20  # woken by the POST, not after the 600 s interval


def test_channel_settings_never_echo_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from safemap.api.settings import SECRET_SETTINGS, SettingsInvalid, channel_config, load_settings

    assert {"smtp_url", "warning_webhook_url", "warning_webhook_secret"} <= SECRET_SETTINGS
    monkeypatch.setenv("SAFEMAP_SMTP_URL", "http://user:hunter2@mail.example:25")
    with pytest.raises(SettingsInvalid) as exc:
        load_settings()
    assert "SAFEMAP_SMTP_URL" in str(exc.value) and "hunter2" not in str(exc.value)
    monkeypatch.setenv("SAFEMAP_SMTP_URL", "smtps://user:hunter2@mail.example:465")
    monkeypatch.setenv("SAFEMAP_WARNING_WEBHOOK_URL", "https://gateway.example/sms")
    status = channel_config(load_settings()).status()
    assert status["email"]["configured"] and not status["webhook"]["configured"]
    assert "SAFEMAP_WARNING_WEBHOOK_SECRET" in status["webhook"]["reason"] and "hunter2" not in str(status)
