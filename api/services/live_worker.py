"""The live data's housekeeping: silent sensors and vehicles, retention, and the MQTT subscriber.

:class:`LiveWorker` runs inside ``safemap serve`` (``SAFEMAP_LIVE_WORKER``) on a thread: every
``interval`` seconds it marks sensors and vehicles that stopped reporting 离线 (raising 设备离线
once each, :meth:`live_monitor.Monitor.sweep`), and once an hour removes readings and positions
older than ``SAFEMAP_RETENTION_DAYS`` (whole monthly partitions on PostGIS). With
``SAFEMAP_MQTT_URL`` set it also runs the MQTT subscriber (:mod:`mqtt_ingest`).
``safemap live sweep`` and ``safemap live prune`` do one pass from the command line.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

from safemap.api.services import danger_overdue
from safemap.api.services.ingest import ingest_for
from safemap.api.services.live_monitor import monitor_for
from safemap.api.services.mqtt_ingest import MqttIngest
from safemap.layers.errors import StoreUnavailable
from safemap.layers.store import FeatureStore
from safemap.layers.timeseries import TimeSeries

log = logging.getLogger("safemap.live")

PRUNE_EVERY_S = 3600.0


def prune(store: FeatureStore, retention_days: float, now: dt.datetime | None = None) -> dict[str, int]:
    """Remove readings and positions older than ``retention_days``; rows removed per table."""
    now = now or dt.datetime.now(dt.UTC)
    return TimeSeries.for_store(store).prune(now - dt.timedelta(days=retention_days))


class LiveWorker:
    """Sweep for silence and apply retention on a thread; optionally run the MQTT subscriber."""

    def __init__(
        self,
        store: FeatureStore,
        *,
        retention_days: float,
        mqtt: MqttIngest | None = None,
    ) -> None:
        self.store = store
        self.retention_days = retention_days
        self.mqtt = mqtt
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pruned_at = 0.0

    def run_once(self) -> None:
        """One sweep (and a prune when an hour has passed since the last)."""
        monitor_for(self.store).sweep()
        # Findings past their deadline become 隐患整改逾期 alarms in the same panel (one per finding).
        danger_overdue.sweep_overdue(self.store)
        if time.monotonic() - self._pruned_at >= PRUNE_EVERY_S:
            self._pruned_at = time.monotonic()
            removed = prune(self.store, self.retention_days)
            if any(removed.values()):
                log.info("按保留期限删除实时数据：%s", removed)

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.run_once()
            except StoreUnavailable:  # failing over: one line, not a traceback per pass
                log.warning("实时数据巡检暂停：数据库暂不可用（可能正在主备切换），稍后重试")
            except Exception:  # housekeeping must survive a busy or restarting database
                log.exception("实时数据巡检失败，稍后重试")

    def start(self, interval: float) -> None:
        """Start the thread (and the MQTT subscriber)."""
        if self.mqtt is not None:
            self.mqtt.start()
        self._thread = threading.Thread(target=self._loop, args=(interval,), name="safemap-live", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and the subscriber."""
        self._stop.set()
        if self.mqtt is not None:
            self.mqtt.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)


def live_worker(
    store: FeatureStore,
    *,
    retention_days: float,
    max_age_days: float,
    mqtt_url: str | None,
    mqtt_client_id: str,
    queue_max: int,
    ca_file: str | None = None,
) -> LiveWorker:
    """A worker for ``store`` with the ingest's age limit and, given a URL, the MQTT subscriber."""
    ingest = ingest_for(store, max_age=dt.timedelta(days=max_age_days))
    mqtt = (
        MqttIngest(mqtt_url, ingest, client_id=mqtt_client_id, queue_max=queue_max, ca_file=ca_file)
        if mqtt_url
        else None
    )
    return LiveWorker(store, retention_days=retention_days, mqtt=mqtt)
