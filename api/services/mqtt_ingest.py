"""MQTT subscriber: live data from the broker into :mod:`ingest` (``SAFEMAP_MQTT_URL``).

Topics (the JSON of each message is what ``POST /api/readings`` / ``/api/positions`` take for
one item, without the code or plate, which the topic carries):

* ``safemap/readings/{sensor_code}`` — ``{"ts": "2026-12-01T03:00:00+08:00", "value": 12.5}``
  or a list of such objects;
* ``safemap/positions/{plate}`` — ``{"ts": …, "lon": …, "lat": …, "speed_kmh": …, "heading": …}``
  or a list.

The client is paho-mqtt with a fixed client id, a persistent session (``clean_session=False``)
and QoS 1 subscriptions, so the broker keeps what is published while SafeMap is away and
delivers it when SafeMap comes back; paho reconnects by itself with back-off (1 s … 30 s) when the
broker goes away. Messages go from paho's network thread into a bounded queue and are ingested
in batches by one worker thread: a flood fills the queue, further messages are dropped and
counted (:attr:`MqttIngest.stats`) instead of growing memory, and a malformed message is
counted, logged and skipped — nothing a device sends stops the subscriber.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from safemap.api.services.ingest import Ingest

log = logging.getLogger("safemap.mqtt")

READINGS = "safemap/readings/"
POSITIONS = "safemap/positions/"


def check_mqtt_url(url: str) -> str:
    """``url`` if it is ``mqtt://[user:pass@]host[:port]``; else an error that does not repeat it."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError("应为 mqtt://用户:密码@主机:端口 或 mqtts://…")
    return url


class MqttIngest:
    """Subscribe to the live topics and feed :class:`~ingest.Ingest` (see the module text).

    Parameters
    ----------
    url
        ``mqtt://user:pass@host:port`` (port 1883 by default; ``mqtts`` 8883, TLS).
    ingest
        The store's ingest.
    client_id
        The persistent session's name at the broker; two SafeMap servers need two ids.
    queue_max
        Messages held between paho's thread and the ingest; beyond it messages are dropped.
    batch
        Most messages ingested in one batch.
    """

    def __init__(
        self,
        url: str,
        ingest: Ingest,
        *,
        client_id: str = "safemap-ingest",
        queue_max: int = 50_000,
        batch: int = 2_000,
        ca_file: str | None = None,
    ) -> None:
        self.url = urlsplit(check_mqtt_url(url))
        self.ingest = ingest
        self.batch = batch
        self.queue: queue.Queue[tuple[str, str, Any]] = queue.Queue(maxsize=queue_max)
        self.stats: Counter[str] = Counter()
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, protocol=mqtt.MQTTv311
        )
        if self.url.username:
            self.client.username_pw_set(unquote(self.url.username), unquote(self.url.password or ""))
        if self.url.scheme == "mqtts":
            self.client.tls_set(ca_certs=ca_file)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    # ----------------------------------------------------------------- paho's thread
    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT 连接被拒绝：%s", reason)
            return
        client.subscribe([(READINGS + "+", 1), (POSITIONS + "+", 1)])
        log.info("MQTT 已连接 %s:%s", self.url.hostname, self.url.port or 1883)

    def _on_subscribe(self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: Any, _props: Any) -> None:
        # ``connected`` means "subscribed": set only once the broker has acknowledged the
        # subscriptions, so nothing published after it is set can miss them.
        if any(reason.is_failure for reason in reasons):
            log.warning("MQTT 订阅被拒绝：%s", reasons)
            return
        self.stats["connects"] += 1
        self.connected.set()

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("MQTT 连接断开（%s），将自动重连", reason)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.stats["received"] += 1
        topic = msg.topic
        if topic.startswith(READINGS):
            kind, key = "readings", topic[len(READINGS) :]
        elif topic.startswith(POSITIONS):
            kind, key = "positions", topic[len(POSITIONS) :]
        else:
            self.stats["malformed"] += 1
            return
        try:
            payload = orjson.loads(msg.payload)
        except orjson.JSONDecodeError:
            self.stats["malformed"] += 1
            log.warning("MQTT %s：消息不是 JSON（%d 字节）", topic, len(msg.payload))
            return
        try:
            self.queue.put_nowait((kind, key, payload))
        except queue.Full:
            self.stats["dropped"] += 1

    # ----------------------------------------------------------------- the worker
    def _items(self, kind: str, key: str, payload: Any) -> list[Any]:
        items = payload if isinstance(payload, list) else [payload]
        field = "sensor" if kind == "readings" else "plate"
        return [{**item, field: key} if isinstance(item, dict) else item for item in items]

    def drain(self, timeout: float = 0.2) -> int:
        """Ingest what is queued (waiting up to ``timeout`` seconds for the first message); messages done."""
        batches: dict[str, list[Any]] = {"readings": [], "positions": []}
        taken = 0
        try:
            kind, key, payload = self.queue.get(timeout=timeout)
        except queue.Empty:
            return 0
        while True:
            batches[kind].extend(self._items(kind, key, payload))
            taken += 1
            if taken >= self.batch:
                break
            try:
                kind, key, payload = self.queue.get_nowait()
            except queue.Empty:
                break
        for name, items in batches.items():
            if not items:
                continue
            try:
                result = getattr(self.ingest, name)(items, channel="mqtt")
            except Exception:  # a failing store must not kill the subscriber; the batch is counted lost
                log.exception("MQTT 批量入库失败（%d 条）", len(items))
                self.stats["failed"] += len(items)
                time.sleep(1.0)
                continue
            self.stats["ingested"] += result.accepted
            self.stats["duplicates"] += result.duplicates
            self.stats["rejected"] += len(result.rejected)
        return taken

    def _run(self) -> None:
        while not self._stop.is_set():
            self.drain()

    def start(self) -> None:
        """Connect (in the background, retrying) and start ingesting."""
        self._worker = threading.Thread(target=self._run, name="safemap-mqtt-ingest", daemon=True)
        self._worker.start()
        self.client.connect_async(
            self.url.hostname or "localhost",
            self.url.port or (8883 if self.url.scheme == "mqtts" else 1883),
            keepalive=30,
        )
        self.client.loop_start()

    def stop(self) -> None:
        """Disconnect and ingest what is still queued."""
        self._stop.set()
        self.client.disconnect()
        self.client.loop_stop()
        if self._worker is not None:
            self._worker.join(timeout=10)
        while self.drain(timeout=0):
            pass
