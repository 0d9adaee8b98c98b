"""The MQTT subscriber against a real Mosquitto broker (``tests/support/mosquitto.py``).

One broker per module (persistent, on a free port); each test subscribes with its own client id
and forgets its session afterwards. Worked numbers: the flammable-gas detector of
``test_live_api`` (一级 25 %LEL, 二级 50 %LEL, dead band 2 %LEL): 30 raises 一级报警, 55 二级报警.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from safemap.api.services.ingest import Ingest, IngestResult
from safemap.api.services.mqtt_ingest import MqttIngest
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from safemap.layers.timeseries import TimeSeries
from tests.support.mosquitto import MOSQUITTO, Mosquitto

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists(), reason="mosquitto 未安装（make system-deps）")

ADMIN = Actor("测试管理员", "admin")
CODE = "YM-LPG-GAS1"
PLATE = "新F12345"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
START, END = NOW - dt.timedelta(days=1), NOW + dt.timedelta(minutes=5)
_ids = itertools.count()
#: The slow tests (restart, flood) run on the GeoPackage store only.
ONE_STORE = pytest.mark.parametrize("store", ["geopackage"], indirect=True)


def _t(minutes: float) -> str:
    return (NOW - dt.timedelta(minutes=60) + dt.timedelta(minutes=minutes)).isoformat()


def wait_until(check: Callable[[], Any], timeout: float, what: str, every: float = 0.02) -> Any:
    """Poll ``check`` until it returns something true; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    b = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def live(store: FeatureStore) -> dict[str, int]:
    gas = store.create(
        "sensors",
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [82.98, 46.20]},
            "properties": {
                "name": "液化气站可燃气体探测器1",
                "code": CODE,
                "kind": "flammable_gas",
                "unit": "pct_lel",
                "high_1": 25.0,
                "high_2": 50.0,
                "deadband": 2.0,
                "source": "synthetic: test",
            },
        },
        ADMIN,
    )
    truck = store.create(
        "vehicles",
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [82.90, 46.20]},
            "properties": {"name": "液化气槽车", "plate": PLATE, "kind": "hazmat_truck", "source": "synthetic: test"},
        },
        ADMIN,
    )
    return {"gas": gas["id"], "truck": truck["id"]}


class Publisher:
    """A real paho client publishing QoS 1 and waiting for the broker's PUBACK."""

    def __init__(self, broker: Mosquitto) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.connect("127.0.0.1", broker.port, keepalive=30)
        self.client.loop_start()

    def send(self, topic: str, payload: Any, *, wait: bool = True) -> mqtt.MQTTMessageInfo:
        data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        info = self.client.publish(topic, data, qos=1)
        if wait:
            info.wait_for_publish(timeout=10)
            assert info.is_published(), f"broker did not acknowledge {topic}"
        return info

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher(broker: Mosquitto) -> Iterator[Publisher]:
    p = Publisher(broker)
    yield p
    p.close()


def _forget_session(broker: Mosquitto, client_id: str) -> None:
    """Connect once with ``clean_session=True`` so the broker drops the test's persistent session."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    try:
        c.connect("127.0.0.1", broker.port, keepalive=10)
        c.loop_start()
        time.sleep(0.1)
        c.disconnect()
        c.loop_stop()
    except OSError:
        pass


@contextmanager
def subscribed(
    broker: Mosquitto, ingest: Ingest, client_id: str | None = None, *, forget: bool = True, **kw: Any
) -> Iterator[MqttIngest]:
    """A started :class:`MqttIngest`, connected (and subscribed) before the body runs; stopped after."""
    client_id = client_id or f"safemap-test-{next(_ids)}-{uuid.uuid4().hex[:6]}"
    sub = MqttIngest(broker.url, ingest, client_id=client_id, **kw)
    sub.start()
    try:
        assert sub.connected.wait(10), "subscriber did not connect"
        yield sub
    finally:
        sub.stop()
        if forget:
            _forget_session(broker, client_id)


def _values(store: FeatureStore, sensor_id: int) -> list[float]:
    return [p["value"] for p in TimeSeries.for_store(store).readings(sensor_id, START, END)]


def _alarms(store: FeatureStore, kind: str) -> list[dict]:
    return store.query("alarms", filters={"kind": [kind]}, limit=None, count=False, children=False).rows


# ---------------------------------------------------------------------------- 1. the happy path
def test_readings_and_positions_arrive_and_raise_an_alarm(
    store: FeatureStore, live: dict[str, int], broker: Mosquitto, publisher: Publisher
) -> None:
    with subscribed(broker, Ingest(store)) as sub:
        publisher.send(f"safemap/readings/{CODE}", {"ts": _t(0), "value": 10.0})
        publisher.send(f"safemap/readings/{CODE}", [{"ts": _t(1), "value": 12.0}, {"ts": _t(2), "value": 14.0}])
        publisher.send(f"safemap/readings/{CODE}", {"ts": _t(3), "value": 30.0})  # ≥ 25: 一级报警
        publisher.send(f"safemap/positions/{PLATE}", {"ts": _t(0), "lon": 82.92, "lat": 46.20, "speed_kmh": 40})
        publisher.send(
            f"safemap/positions/{PLATE}",
            [
                {"ts": _t(1), "lon": 82.93, "lat": 46.20, "speed_kmh": 42, "heading": 90},
                {"ts": _t(2), "lon": 82.94, "lat": 46.20, "speed_kmh": 41, "heading": 90},
            ],
        )
        wait_until(lambda: len(_values(store, live["gas"])) == 4, 10, "4 readings in the time series")
        series = TimeSeries.for_store(store)
        track = wait_until(lambda: len(series.track(live["truck"], START, END)) == 3, 10, "3 positions")
        assert track
        (alarm,) = wait_until(lambda: _alarms(store, "high_1"), 10, "the 一级报警 alarm feature")
    assert _values(store, live["gas"]) == [10.0, 12.0, 14.0, 30.0]
    points = series.track(live["truck"], START, END)
    assert [p["lon"] for p in points] == pytest.approx([82.92, 82.93, 82.94])
    assert (alarm["state"], alarm["sensor_id"], alarm["value"], alarm["threshold"]) == (
        "active",
        live["gas"],
        30.0,
        25.0,
    )
    assert sub.stats["received"] == 5 and sub.stats["ingested"] == 7  # messages vs. items (two lists)
    assert sub.stats["malformed"] == sub.stats["rejected"] == sub.stats["dropped"] == 0


# ---------------------------------------------------------------------------- 2. bad messages
def test_malformed_messages_are_counted_and_skipped(
    store: FeatureStore, live: dict[str, int], broker: Mosquitto, publisher: Publisher
) -> None:
    with subscribed(broker, Ingest(store)) as sub:
        publisher.send(f"safemap/readings/{CODE}", b"not json {")
        publisher.send(f"safemap/readings/{CODE}", b"\xff\xfe\x00")
        publisher.send("safemap/readings/NOPE-404", {"ts": _t(0), "value": 1.0})  # unknown code
        publisher.send(f"safemap/readings/{CODE}", {"ts": _t(1), "value": "abc"})
        publisher.send(f"safemap/readings/{CODE}", ["not an object"])
        publisher.send(f"safemap/positions/{PLATE}", {"ts": _t(1), "lon": 120.0, "lat": 30.0})  # out of area
        publisher.send(f"safemap/readings/{CODE}", {"ts": _t(2), "value": 3.5})  # good, after all that
        wait_until(lambda: _values(store, live["gas"]) == [3.5], 10, "the good reading after the bad ones")
        wait_until(lambda: sub.stats["rejected"] == 4, 10, "4 rejected")
        assert sub.stats["malformed"] == 2
        assert sub.stats["ingested"] == 1 and sub.stats["failed"] == 0
        assert sub._worker is not None and sub._worker.is_alive()
        assert sub.connected.is_set()


# ---------------------------------------------------------------------------- 3. duplicates
def test_duplicates_are_stored_once(
    store: FeatureStore, live: dict[str, int], broker: Mosquitto, publisher: Publisher
) -> None:
    message = {"ts": _t(5), "value": 7.0}
    with subscribed(broker, Ingest(store)) as sub:
        publisher.send(f"safemap/readings/{CODE}", message)
        publisher.send(f"safemap/readings/{CODE}", message)
        publisher.send(f"safemap/readings/{CODE}", [message, message])  # and twice in one batch
        wait_until(lambda: sub.stats["ingested"] + sub.stats["duplicates"] == 4, 10, "4 items through the ingest")
    assert _values(store, live["gas"]) == [7.0]
    assert (sub.stats["ingested"], sub.stats["duplicates"]) == (1, 3)


# ---------------------------------------------------------------------------- 4. persistent session
def test_persistent_session_delivers_what_came_while_away(
    store: FeatureStore, live: dict[str, int], broker: Mosquitto, publisher: Publisher
) -> None:
    client_id = f"safemap-persist-{uuid.uuid4().hex[:6]}"
    with subscribed(broker, Ingest(store), client_id, forget=False):
        pass  # the broker now knows the session and its subscriptions
    for i in range(50):
        publisher.send(f"safemap/readings/{CODE}", {"ts": _t(i * 0.5), "value": float(i % 10)})
    assert _values(store, live["gas"]) == []
    with subscribed(broker, Ingest(store), client_id) as sub:
        wait_until(lambda: len(_values(store, live["gas"])) == 50, 15, "the 50 messages queued while away")
    assert sub.stats["received"] == 50 and sub.stats["ingested"] == 50


# ---------------------------------------------------------------------------- 5. broker restart
@ONE_STORE
def test_subscriber_reconnects_after_a_broker_restart(
    store: FeatureStore, live: dict[str, int], broker: Mosquitto
) -> None:
    with subscribed(broker, Ingest(store)) as sub:
        before = sub.stats["connects"]
        broker.kill()
        wait_until(lambda: not sub.connected.is_set(), 10, "the subscriber to notice the broker is gone")
        time.sleep(1.5)  # a few failed reconnects: paho's back-off grows
        broker.start()
        t0 = time.monotonic()
        wait_until(lambda: sub.stats["connects"] > before and sub.connected.is_set(), 20, "paho to reconnect")
        reconnect_s = time.monotonic() - t0
        p = Publisher(broker)
        try:
            p.send(f"safemap/readings/{CODE}", {"ts": _t(20), "value": 4.0})
            wait_until(lambda: _values(store, live["gas"]) == [4.0], 10, "the reading after the restart")
        finally:
            p.close()
    print(f"\nreconnected {reconnect_s:.2f} s after the broker came back")


# ---------------------------------------------------------------------------- 6. flood
class SlowIngest(Ingest):
    """A real :class:`Ingest` whose readings take 2 s per batch (a slow store).

    Slow enough that 2,000 messages overflow a queue of 100 even when a loaded CI machine makes
    the broker deliver slowly: at most 100 messages are ingested per 2 s.
    """

    def readings(self, items: list[Any], **kw: Any) -> IngestResult:
        time.sleep(2.0)
        return super().readings(items, **kw)


@ONE_STORE
def test_flood_drops_and_counts_instead_of_growing(
    store: FeatureStore, live: dict[str, int], broker: Mosquitto
) -> None:
    n = 2_000
    publisher = Publisher(broker)
    largest = 0
    try:
        with subscribed(broker, SlowIngest(store), queue_max=100) as sub:
            start = NOW - dt.timedelta(seconds=n + 60)
            infos = [
                publisher.send(
                    f"safemap/readings/{CODE}",
                    {"ts": (start + dt.timedelta(seconds=i)).isoformat(), "value": float(i % 20)},
                    wait=False,
                )
                for i in range(n)
            ]
            deadline = time.monotonic() + 120
            while sub.stats["received"] < n and time.monotonic() < deadline:
                largest = max(largest, sub.queue.qsize())
                time.sleep(0.005)
            assert all(info.is_published() for info in infos)
            assert sub.stats["received"] == n, dict(sub.stats)
            assert sub.stats["dropped"] > 0, dict(sub.stats)
            assert largest <= 100 and sub.queue.qsize() <= 100
            wait_until(sub.queue.empty, 30, "the queue to drain", every=0.05)
    finally:
        publisher.close()
    s = sub.stats  # stop() has drained the rest and joined the worker
    accounted = s["ingested"] + s["duplicates"] + s["rejected"] + s["malformed"] + s["failed"] + s["dropped"]
    assert s["received"] == accounted == n, dict(s)
    assert s["duplicates"] == s["rejected"] == s["malformed"] == s["failed"] == 0
    assert len(_values(store, live["gas"])) == s["ingested"]
    print(f"\nflood: {dict(s)}; largest queue seen {largest}")


# ---------------------------------------------------------------------------- 7. latency
def test_latency_from_publish_to_alarm(
    store: FeatureStore, live: dict[str, int], broker: Mosquitto, publisher: Publisher
) -> None:
    with subscribed(broker, Ingest(store)):
        publisher.send(f"safemap/readings/{CODE}", {"ts": _t(0), "value": 10.0})
        wait_until(lambda: _values(store, live["gas"]) == [10.0], 10, "the first reading")
        t0 = time.perf_counter()
        publisher.send(f"safemap/readings/{CODE}", {"ts": _t(1), "value": 55.0}, wait=False)
        (alarm,) = wait_until(lambda: _alarms(store, "high_2"), 10, "the 二级报警 alarm", every=0.002)
        latency_ms = (time.perf_counter() - t0) * 1000
    assert (alarm["value"], alarm["threshold"], alarm["level"]) == (55.0, 50.0, 2)
    print(f"\n[{store.kind}] publish → 二级报警 feature: {latency_ms:.1f} ms")
