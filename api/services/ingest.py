"""Ingest of live data: sensor readings and vehicle positions, from HTTP and MQTT alike.

One path for every channel (``POST /api/readings``, ``POST /api/positions``, the MQTT topics
``safemap/readings/{code}`` and ``safemap/positions/{plate}``, ``safemap simulate``):

1. **parse** each message on its own: the sensor code or plate must be known (compared in a
   canonical form, :mod:`live_registry`), the value a JSON number (``"12.5"`` or ``true`` is
   refused: a gateway that sends text has a bug worth seeing), the time ISO 8601 (naive times are
   in ``SAFEMAP_TIMEZONE``) or epoch seconds/milliseconds, neither more than
   :data:`MAX_FUTURE` ahead of the server's clock nor older than ``max_age``; positions inside the
   service area, speed 0–200 km/h, heading 0–360°. A bad message is rejected with its index and
   a Chinese reason and logged; the rest of the batch goes on — nothing crashes the ingest.
2. **store** the good ones in the time series (:mod:`safemap.layers.timeseries`): a message
   already stored (same sensor or vehicle, same time) is counted as a duplicate and not stored
   again, so a gateway's resend and MQTT's at-least-once delivery are harmless; messages may
   arrive in any order and are read back in time order.
3. **evaluate** the new ones in time order (:mod:`live_monitor`): set points with dead band, rate
   of change, geofences, the registered route, standing near schools and hospitals. A *late*
   message (older than the newest already seen for its sensor or vehicle) is stored, enters the
   1-min/1-h aggregates, but does not move the live state back in time.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from safemap.api.services.live_monitor import Monitor, Outcome, monitor_for
from safemap.api.services.live_registry import Registry, canonical_code, canonical_plate, registry
from safemap.layers.store import FeatureStore
from safemap.layers.timeseries import Position, Reading, TimeSeries

log = logging.getLogger("safemap.ingest")

#: How far ahead of the server's clock a device's time may be (clock skew).
MAX_FUTURE = dt.timedelta(minutes=5)
#: Default oldest accepted message (``SAFEMAP_INGEST_MAX_AGE_DAYS``).
MAX_AGE = dt.timedelta(days=7)
#: Most messages one HTTP batch may carry.
MAX_BATCH = 10_000

_Message = TypeVar("_Message", Reading, Position)


@dataclass
class IngestResult:
    """What a batch did: counts, the rejected messages with their reasons, the alarms it touched."""

    accepted: int = 0
    duplicates: int = 0
    late: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    alarms: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON of the result."""
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "late": self.late,
            "rejected": self.rejected,
            "alarms": self.alarms,
        }


class BadMessage(ValueError):
    """One message that cannot be ingested; the text is the Chinese reason."""


def parse_time(value: Any, tz: dt.tzinfo) -> dt.datetime:
    """A message time as aware UTC: ISO 8601 text or epoch seconds / milliseconds (JSON numbers)."""
    if isinstance(value, bool) or value is None:
        raise BadMessage("时间（ts）缺失或不是时间")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise BadMessage("时间（ts）不是有限数")
        seconds = value / 1000.0 if abs(value) > 1e11 else float(value)
        try:
            return dt.datetime.fromtimestamp(seconds, dt.UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise BadMessage(f"时间（ts）超出范围：{value}") from exc
    if not isinstance(value, str):
        raise BadMessage("时间（ts）应为 ISO 8601 文本或纪元秒数")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadMessage(f"时间（ts）无法识别：{value[:40]!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(dt.UTC)


def _number(value: Any, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        shown = repr(value)[:40]
        raise BadMessage(f"{label}应为数值（收到 {shown}）")
    number = float(value)
    if not math.isfinite(number):
        raise BadMessage(f"{label}不是有限数")
    return number


def _optional(value: Any, label: str, low: float, high: float) -> float | None:
    if value is None:
        return None
    number = _number(value, label)
    if not low <= number <= high:
        raise BadMessage(f"{label}应在 {low:g}–{high:g} 之间（收到 {number:g}）")
    return number


class Ingest:
    """The ingest of one store (see the module text); safe to call from several threads."""

    def __init__(self, store: FeatureStore, *, max_age: dt.timedelta = MAX_AGE) -> None:
        self.store = store
        self.max_age = max_age
        self.series = TimeSeries.for_store(store)
        self.monitor: Monitor = monitor_for(store)

    def _check_time(self, ts: dt.datetime, now: dt.datetime) -> None:
        if ts > now + MAX_FUTURE:
            raise BadMessage("时间在将来（比服务器时钟超前 5 分钟以上）")
        if ts < now - self.max_age:
            raise BadMessage(f"时间过旧（早于 {self.max_age.days} 天前）")

    def readings(self, items: list[Any], *, channel: str = "http", now: dt.datetime | None = None) -> IngestResult:
        """Ingest sensor readings ``{"sensor": code, "ts": …, "value": number}``."""
        return self._batch(
            items, "读数", self._reading, self.series.insert_readings, self.monitor.on_readings, channel, now
        )

    def _reading(self, reg: Registry, item: Any, now: dt.datetime) -> Reading:
        if not isinstance(item, dict):
            raise BadMessage("每条读数应为 JSON 对象")
        code = item.get("sensor", item.get("code"))
        if not isinstance(code, str) or not code.strip():
            raise BadMessage("缺少传感器编码（sensor）")
        sensor_id = reg.sensor_by_code.get(canonical_code(code))
        if sensor_id is None:
            raise BadMessage(f"未登记的传感器编码 {code[:64]!r}")
        ts = parse_time(item.get("ts"), self.store.tz)
        self._check_time(ts, now)
        return (sensor_id, ts, _number(item.get("value"), "读数（value）"))

    def positions(self, items: list[Any], *, channel: str = "http", now: dt.datetime | None = None) -> IngestResult:
        """Ingest vehicle positions ``{"plate", "ts", "lon", "lat", "speed_kmh"?, "heading"?}``."""
        return self._batch(
            items, "位置", self._position, self.series.insert_positions, self.monitor.on_positions, channel, now
        )

    def _batch(
        self,
        items: list[Any],
        what: str,
        parse: Callable[[Registry, Any, dt.datetime], _Message],
        insert: Callable[[list[_Message]], list[_Message]],
        evaluate: Callable[[Registry, list[_Message]], Outcome],
        channel: str,
        now: dt.datetime | None,
    ) -> IngestResult:
        """Parse, store and evaluate one batch of messages of one kind.

        Parameters
        ----------
        items
            The messages as received (JSON values); each is parsed on its own.
        what
            The kind of message in Chinese (``读数``, ``位置``), for the log of rejects.
        parse
            Turns one message into a row of the time series or raises :class:`BadMessage`.
        insert
            Stores the good rows and returns those actually new (not stored before).
        evaluate
            Evaluates the new rows against the alarm rules (:class:`Monitor`).
        channel
            Where the batch came from (``http``, ``mqtt``, ``simulate``), for the log.
        now
            The server's clock (default: now, UTC) for the checks of the messages' times.

        Returns
        -------
        IngestResult
            The counts, the rejected messages with their reasons and the alarms touched.
        """
        now = now or dt.datetime.now(dt.UTC)
        reg = registry(self.store)
        result = IngestResult()
        good: list[_Message] = []
        for index, item in enumerate(items):
            try:
                good.append(parse(reg, item, now))
            except BadMessage as exc:
                result.rejected.append({"index": index, "reason": str(exc)})
        self._log_rejects(what, channel, result)
        if good:
            new = insert(good)
            result.accepted = len(new)
            result.duplicates = len(good) - len(new)
            outcome = evaluate(reg, new)
            result.late, result.alarms = outcome.late, outcome.alarms
        return result

    def _position(self, reg: Registry, item: Any, now: dt.datetime) -> Position:
        if not isinstance(item, dict):
            raise BadMessage("每条位置应为 JSON 对象")
        plate = item.get("plate")
        if not isinstance(plate, str) or not plate.strip():
            raise BadMessage("缺少车牌号（plate）")
        vehicle_id = reg.vehicle_by_plate.get(canonical_plate(plate))
        if vehicle_id is None:
            raise BadMessage(f"未登记的车辆 {plate[:20]!r}")
        ts = parse_time(item.get("ts"), self.store.tz)
        self._check_time(ts, now)
        lon = _number(item.get("lon"), "经度（lon）")
        lat = _number(item.get("lat"), "纬度（lat）")
        extent = self.store.extent
        if extent is not None and not (extent[0] <= lon <= extent[2] and extent[1] <= lat <= extent[3]):
            raise BadMessage(f"位置 {lon:.5f}, {lat:.5f} 在服务范围之外")
        speed = _optional(item.get("speed_kmh", item.get("speed")), "速度（speed_kmh）", 0, 200)
        heading = _optional(item.get("heading"), "方向（heading）", 0, 360)
        return (vehicle_id, ts, lon, lat, speed, heading)

    @staticmethod
    def _log_rejects(what: str, channel: str, result: IngestResult) -> None:
        for bad in result.rejected[:5]:
            log.warning("%s %s 第 %d 条被拒绝：%s", channel, what, bad["index"], bad["reason"])
        if len(result.rejected) > 5:
            log.warning("%s %s 另有 %d 条被拒绝", channel, what, len(result.rejected) - 5)


_INGESTS: dict[int, Ingest] = {}


def ingest_for(store: FeatureStore, *, max_age: dt.timedelta = MAX_AGE) -> Ingest:
    """The one :class:`Ingest` of ``store`` in this process (its monitor keeps the alarm memory)."""
    found = _INGESTS.get(id(store))
    if found is None or found.store is not store:
        found = _INGESTS[id(store)] = Ingest(store, max_age=max_age)
    found.max_age = max_age
    return found
