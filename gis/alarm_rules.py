"""Alarm levels of a monitoring sensor: set points with hysteresis, rate of change, liveness.

Pure rules (no I/O, no store): the alarm service keeps one :class:`SensorMemory` per sensor,
feeds each batch of new readings to :func:`evaluate` and turns the returned
:class:`Transition` list into alarm features.

Levels
------
A sensor is in exactly one level at a time: ``normal``, ``high_1`` (一级报警, 高报), ``high_2``
(二级报警, 高高报), ``low_1`` (低报) or ``low_2`` (低低报) — the most severe level it holds
(GB/T 50493-2019 §5.5: two alarm set points for detectors; tank levels carry high/low pairs).
Set points are ordered ``low_2 < low_1 < high_1 < high_2``; any of them may be missing.

Hysteresis (回差, ``deadband``): a high level is *entered* when the value reaches its set point
(``value >= high_k``) and *left* only when the value falls below set point − deadband
(``value < high_k - deadband``); a low level is entered at ``value <= low_k`` and left above
``low_k + deadband``. A value wobbling around a set point therefore raises one alarm, not one per
crossing.

Transitions
-----------
Every change of level is reported as a *clear* of the old level (when it was not ``normal``)
followed by a *raise* of the new level (when it is not ``normal``), both stamped with the reading
that caused them. So:

- ``normal → high_2`` in one reading: one transition, raise ``high_2`` (``high_1`` is not raised);
- ``high_1 → high_2`` (escalation): clear ``high_1``, raise ``high_2``;
- ``high_2 → high_1`` (**downgrade**: the value fell below ``high_2 - deadband`` but not below
  ``high_1 - deadband``): clear ``high_2``, raise ``high_1``;
- ``high_2 → normal``: clear ``high_2`` only.

Each alarm feature therefore stands for one episode of one level. The ``threshold`` of a transition
is the set point of the level raised or cleared.

Rate of change (变化速率)
-------------------------
Between consecutive accepted readings (the first new one is compared with ``memory.last_value``),
``rate = |Δvalue| / Δt`` in units per minute. ``rate > rate_limit`` raises ``rate`` (value = the
rate, threshold = ``rate_limit``); the rate alarm clears when the rate falls below
``0.5 × rate_limit`` and only then re-arms: while it is active no further ``rate`` raise is
reported, and rates between ``0.5 × rate_limit`` and ``rate_limit`` keep it as it is.

Readings that are ignored
-------------------------
- readings at or before ``memory.last_ts`` (also within one batch): a late or repeated reading
  never changes the live state; storing it is the caller's business (the time series dedups);
- NaN and infinite values: skipped altogether (they change neither the level nor ``last_ts``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import pairwise
from typing import Any, Literal

from safemap.gis.numbers import finite

Liveness = Literal["ok", "offline", "silent"]

LEVELS: tuple[str, ...] = ("normal", "high_1", "high_2", "low_1", "low_2")
RATE_CLEAR_FRACTION = 0.5
"""The rate alarm clears when the rate falls below this fraction of ``rate_limit``."""
DEFAULT_STALE_AFTER_S = 300
"""Seconds without a reading after which a sensor is offline when its own setting is empty."""


@dataclass(frozen=True)
class Thresholds:
    """Alarm set points of one sensor, in the sensor's unit.

    Attributes
    ----------
    high_1, high_2
        High (一级) and high-high (二级) set points; ``high_2 > high_1`` when both are given.
    low_1, low_2
        Low and low-low set points; ``low_2 < low_1`` when both are given.
    deadband
        回差, ≥ 0, same unit: a level is left only this far back past its set point.
    rate_limit
        Rate-of-change alarm value, > 0, unit per minute; ``None`` disables the rate alarm.

    Raises
    ------
    ValueError
        When a set point is not finite, the set points are out of order, the deadband is
        negative or the rate limit is not positive.
    """

    high_1: float | None = None
    high_2: float | None = None
    low_1: float | None = None
    low_2: float | None = None
    deadband: float = 0.0
    rate_limit: float | None = None

    def __post_init__(self) -> None:
        for name in ("high_1", "high_2", "low_1", "low_2", "rate_limit"):
            v = getattr(self, name)
            if v is not None and not math.isfinite(v):
                raise ValueError(f"{name} must be finite, got {v}")
        if not (math.isfinite(self.deadband) and self.deadband >= 0):
            raise ValueError(f"deadband must be ≥ 0, got {self.deadband}")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ValueError(f"rate_limit must be > 0, got {self.rate_limit}")
        order = [v for v in (self.low_2, self.low_1, self.high_1, self.high_2) if v is not None]
        if any(a >= b for a, b in pairwise(order)):
            raise ValueError(
                f"set points must increase low_2 < low_1 < high_1 < high_2, got low_2={self.low_2}, "
                f"low_1={self.low_1}, high_1={self.high_1}, high_2={self.high_2}"
            )

    @classmethod
    def from_properties(cls, props: Mapping[str, Any]) -> Thresholds:
        """Thresholds from a sensor feature's properties (empty, text or NaN cells are missing).

        Parameters
        ----------
        props
            Mapping with the optional keys ``high_1``, ``high_2``, ``low_1``, ``low_2``,
            ``deadband`` (empty = 0) and ``rate_limit`` (per minute).

        Returns
        -------
        Thresholds
            Validated as in the class; raises ``ValueError`` the same way.
        """
        return cls(
            high_1=finite(props.get("high_1")),
            high_2=finite(props.get("high_2")),
            low_1=finite(props.get("low_1")),
            low_2=finite(props.get("low_2")),
            deadband=finite(props.get("deadband")) or 0.0,
            rate_limit=finite(props.get("rate_limit")),
        )

    def set_point(self, level: str) -> float | None:
        """The set point of ``level`` (``high_1`` … ``low_2``), ``None`` for ``normal`` or when unset."""
        if level in ("high_1", "high_2", "low_1", "low_2"):
            value: float | None = getattr(self, level)
            return value
        return None


@dataclass
class SensorMemory:
    """What the rules remember of one sensor between batches.

    Attributes
    ----------
    level
        Current level: ``normal``, ``high_1``, ``high_2``, ``low_1`` or ``low_2``.
    last_ts
        Time of the newest accepted reading (aware UTC), ``None`` before the first one.
    last_value
        Value of that reading, in the sensor's unit.
    rate_alarm
        Whether the rate-of-change alarm is active.
    """

    level: str = "normal"
    last_ts: datetime | None = None
    last_value: float | None = None
    rate_alarm: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``last_ts`` as ISO 8601), the inverse of :meth:`from_dict`."""
        return {
            "level": self.level,
            "last_ts": self.last_ts.isoformat() if self.last_ts is not None else None,
            "last_value": self.last_value,
            "rate_alarm": self.rate_alarm,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SensorMemory:
        """Memory from :meth:`as_dict` output (missing or unknown values fall back to the defaults)."""
        if not data:
            return cls()
        level = data.get("level")
        ts = data.get("last_ts")
        if isinstance(ts, str):
            ts = datetime.fromisoformat(ts)
        return cls(
            level=level if level in LEVELS else "normal",
            last_ts=ts if isinstance(ts, datetime) else None,
            last_value=finite(data.get("last_value")),
            rate_alarm=bool(data.get("rate_alarm", False)),
        )


@dataclass(frozen=True)
class Transition:
    """One alarm raised or cleared by a reading.

    Attributes
    ----------
    ts
        Time of the reading that caused it.
    kind
        ``high_1``, ``high_2``, ``low_1``, ``low_2`` or ``rate``.
    change
        ``raise`` or ``clear``.
    value
        The reading's value (sensor unit); for ``rate``, the rate in unit per minute.
    threshold
        The set point of the level (sensor unit); for ``rate``, ``rate_limit`` (unit per minute).
    """

    ts: datetime
    kind: str
    change: str
    value: float
    threshold: float


def _holds(th: Thresholds, level: str, value: float) -> str:
    """The level a sensor at ``level`` is in after reading ``value`` (hysteresis applied)."""
    db = th.deadband
    h1, h2, l1, l2 = th.high_1, th.high_2, th.low_1, th.low_2
    if h2 is not None and (value >= h2 or (level == "high_2" and value >= h2 - db)):
        return "high_2"
    if l2 is not None and (value <= l2 or (level == "low_2" and value <= l2 + db)):
        return "low_2"
    if h1 is not None and (value >= h1 or (level in ("high_1", "high_2") and value >= h1 - db)):
        return "high_1"
    if l1 is not None and (value <= l1 or (level in ("low_1", "low_2") and value <= l1 + db)):
        return "low_1"
    return "normal"


def evaluate(
    th: Thresholds, memory: SensorMemory, readings: Sequence[tuple[datetime, float]]
) -> tuple[SensorMemory, list[Transition]]:
    """Apply a batch of readings to a sensor's memory.

    Parameters
    ----------
    th
        The sensor's set points (sensor unit) and rate limit (unit per minute).
    memory
        State after the previous batch; not modified.
    readings
        ``(ts, value)`` pairs in time order, ``ts`` aware datetimes. Readings at or before the
        newest accepted one are ignored; NaN/infinite values are skipped (see the module notes).

    Returns
    -------
    tuple[SensorMemory, list[Transition]]
        The new memory and the transitions in the order they happened (at one reading, clears
        before raises, level before rate).
    """
    level = memory.level if memory.level in LEVELS else "normal"
    last_ts, last_value, rate_alarm = memory.last_ts, memory.last_value, memory.rate_alarm
    out: list[Transition] = []
    for ts, raw in readings:
        value = finite(raw)
        if value is None or (last_ts is not None and ts <= last_ts):
            continue
        new_level = _holds(th, level, value)
        if new_level != level:
            if level != "normal":
                old_point = th.set_point(level)
                out.append(Transition(ts, level, "clear", value, math.nan if old_point is None else old_point))
            new_point = th.set_point(new_level)
            if new_point is not None:
                out.append(Transition(ts, new_level, "raise", value, new_point))
            level = new_level
        if th.rate_limit is not None and last_ts is not None and last_value is not None:
            dt_min = (ts - last_ts).total_seconds() / 60.0
            if dt_min > 0:
                rate = abs(value - last_value) / dt_min
                if not rate_alarm and rate > th.rate_limit:
                    rate_alarm = True
                    out.append(Transition(ts, "rate", "raise", rate, th.rate_limit))
                elif rate_alarm and rate < RATE_CLEAR_FRACTION * th.rate_limit:
                    rate_alarm = False
                    out.append(Transition(ts, "rate", "clear", rate, th.rate_limit))
        last_ts, last_value = ts, value
    if th.rate_limit is None and rate_alarm:
        # The limit was removed from the sensor: a rate alarm left active could never clear.
        rate_alarm = False
        if last_ts is not None:
            out.append(Transition(last_ts, "rate", "clear", math.nan, math.nan))
    # A level whose set point was removed is left at the next reading (its set point is None, so
    # ``_holds`` cannot return it); the clear then carries NaN as threshold.
    new_memory = replace(memory, level=level, last_ts=last_ts, last_value=last_value, rate_alarm=rate_alarm)
    return new_memory, out


def liveness(memory: SensorMemory, now: datetime, stale_after_s: float | None = None) -> Liveness:
    """Whether a sensor is reporting.

    Parameters
    ----------
    memory
        The sensor's memory.
    now
        Current time, aware.
    stale_after_s
        Seconds without a reading after which the sensor is offline (离线判定时间);
        ``None`` or not positive = :data:`DEFAULT_STALE_AFTER_S` (300 s).

    Returns
    -------
    {"ok", "offline", "silent"}
        ``silent`` (未上报) when no reading was ever accepted, ``offline`` (离线) when
        ``now - last_ts > stale_after_s`` (exactly ``stale_after_s`` is still ok), else ``ok``.
    """
    if memory.last_ts is None:
        return "silent"
    limit = stale_after_s if stale_after_s is not None and stale_after_s > 0 else DEFAULT_STALE_AFTER_S
    return "offline" if (now - memory.last_ts).total_seconds() > limit else "ok"


def stale(memory: SensorMemory, now: datetime, stale_after_s: float | None = None) -> bool:
    """``True`` when the sensor is offline (see :func:`liveness`; a silent sensor is not stale)."""
    return liveness(memory, now, stale_after_s) == "offline"


def sensor_state(memory: SensorMemory, now: datetime, stale_after_s: float | None = None) -> str:
    """Live state for the map: ``offline`` / ``silent`` when not reporting, else the level.

    Returns
    -------
    str
        A ``sensor_state`` code: ``normal``, ``high_1``, ``high_2``, ``low_1``, ``low_2``,
        ``offline`` or ``silent``.
    """
    live = liveness(memory, now, stale_after_s)
    return memory.level if live == "ok" else live
