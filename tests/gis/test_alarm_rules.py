"""Alarm levels with hysteresis, rate of change and liveness (hand-worked series)."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from safemap.gis.alarm_rules import (
    SensorMemory,
    Thresholds,
    Transition,
    evaluate,
    liveness,
    sensor_state,
    stale,
)

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
GAS = Thresholds(high_1=25, high_2=50, deadband=2)  # flammable gas, %LEL
TANK = Thresholds(low_1=2.0, low_2=1.0, high_1=8.0, deadband=0.2)  # tank level, m


def series(values, step_s=60, start=T0):
    return [(start + timedelta(seconds=i * step_s), v) for i, v in enumerate(values)]


def walk(th, values, memory=None):
    """Feed one reading at a time; the level after each and the transitions of each."""
    memory = memory or SensorMemory()
    levels, steps = [], []
    for ts, v in series(values):
        memory, tr = evaluate(th, memory, [(ts, v)])
        levels.append(memory.level)
        steps.append([(t.change, t.kind) for t in tr])
    return memory, levels, steps


def test_gas_detector_two_levels_with_deadband():
    values = [10, 24, 26, 24.5, 22.9, 26, 55, 49, 47, 24, 22.5, 51, 23, 22.9]
    _, levels, steps = walk(GAS, values)
    assert levels == [
        "normal",
        "normal",
        "high_1",  # 26 ≥ 25
        "high_1",  # 24.5 ≥ 25 − 2 = 23: held
        "normal",  # 22.9 < 23: cleared
        "high_1",
        "high_2",  # 55 ≥ 50
        "high_2",  # 49 ≥ 50 − 2 = 48: held
        "high_1",  # 47 < 48 but ≥ 23: downgrade
        "high_1",  # 24 ≥ 23
        "normal",  # 22.5 < 23
        "high_2",  # straight from normal to ≥ 50
        "high_1",  # 23 < 48: leaves high_2; 23 ≥ 25 − 2 holds high_1 (high_2 counts as above high_1)
        "normal",  # 22.9 < 23
    ]
    assert steps == [
        [],
        [],
        [("raise", "high_1")],
        [],
        [("clear", "high_1")],
        [("raise", "high_1")],
        [("clear", "high_1"), ("raise", "high_2")],  # escalation
        [],
        [("clear", "high_2"), ("raise", "high_1")],  # downgrade
        [],
        [("clear", "high_1")],
        [("raise", "high_2")],  # only high_2, not high_1 as well
        [("clear", "high_2"), ("raise", "high_1")],
        [("clear", "high_1")],
    ]


def test_falling_from_high_2_keeps_high_1_by_its_own_hysteresis():
    # 24 is below high_1 but within its deadband: leaving high_2 lands in high_1, not normal.
    _, levels, steps = walk(GAS, [55, 24, 22])
    assert levels == ["high_2", "high_1", "normal"]
    assert steps == [[("raise", "high_2")], [("clear", "high_2"), ("raise", "high_1")], [("clear", "high_1")]]


def test_wobbling_around_a_set_point_raises_one_alarm():
    memory, tr = evaluate(GAS, SensorMemory(), series([24.8, 25.1, 24.9, 25.3, 23.5, 25.0, 24.0, 23.1]))
    assert [(t.change, t.kind) for t in tr] == [("raise", "high_1")]
    assert memory.level == "high_1"


def test_transition_carries_reading_time_value_and_set_point():
    readings = series([10, 26, 55, 22])
    _, tr = evaluate(GAS, SensorMemory(), readings)
    assert tr[0] == Transition(readings[1][0], "high_1", "raise", 26.0, 25.0)
    assert tr[1] == Transition(readings[2][0], "high_1", "clear", 55.0, 25.0)
    assert tr[2] == Transition(readings[2][0], "high_2", "raise", 55.0, 50.0)
    assert tr[3] == Transition(readings[3][0], "high_2", "clear", 22.0, 50.0)


def test_one_batch_equals_reading_by_reading():
    values = [10, 24, 26, 24.5, 22.9, 26, 55, 49, 47, 24, 22.5, 51, 23]
    m1, tr = evaluate(GAS, SensorMemory(), series(values))
    m2, _, steps = walk(GAS, values)
    assert m1 == m2
    assert [(t.change, t.kind) for t in tr] == [s for step in steps for s in step]


def test_tank_low_levels():
    # low_1 = 2.0 m, low_2 = 1.0 m, deadband 0.2 m: leave low_2 above 1.2, low_1 above 2.2.
    _, levels, steps = walk(TANK, [5.0, 2.1, 2.0, 2.15, 1.0, 1.15, 1.25, 2.19, 2.3, 0.5, 3.0])
    assert levels == [
        "normal",
        "normal",
        "low_1",  # 2.0 ≤ 2.0
        "low_1",  # 2.15 ≤ 2.2: held
        "low_2",  # 1.0 ≤ 1.0
        "low_2",  # 1.15 ≤ 1.2: held
        "low_1",  # 1.25 > 1.2 but ≤ 2.2: back to low_1
        "low_1",
        "normal",  # 2.3 > 2.2
        "low_2",  # straight to low_2
        "normal",
    ]
    assert steps[4] == [("clear", "low_1"), ("raise", "low_2")]
    assert steps[6] == [("clear", "low_2"), ("raise", "low_1")]
    assert steps[9] == [("raise", "low_2")]
    assert steps[10] == [("clear", "low_2")]


def test_from_low_to_high_in_one_reading():
    _, _, steps = walk(TANK, [1.5, 9.0])
    assert steps == [[("raise", "low_1")], [("clear", "low_1"), ("raise", "high_1")]]


def test_rate_of_change_with_uneven_timestamps():
    th = Thresholds(rate_limit=10)  # 10 units per minute
    stamps = [0, 30, 50, 110, 230, 290]  # seconds
    values = [0, 12, 15, 20, 28, 29]
    # rates /min: +12 in 30 s = 24 (raise); +3 in 20 s = 9 (between 5 and 10: still active);
    # +5 in 60 s = 5 (not below 5: still active); +8 in 120 s = 4 (< 5: clear); +1 in 60 s = 1.
    readings = [(T0 + timedelta(seconds=s), v) for s, v in zip(stamps, values, strict=True)]
    memory, tr = evaluate(th, SensorMemory(), readings)
    assert [(t.change, t.kind, t.ts) for t in tr] == [
        ("raise", "rate", readings[1][0]),
        ("clear", "rate", readings[4][0]),
    ]
    assert tr[0].value == pytest.approx(24.0) and tr[0].threshold == 10
    assert tr[1].value == pytest.approx(4.0)
    assert not memory.rate_alarm


def test_rate_re_arms_only_after_clearing_and_uses_the_remembered_reading():
    th = Thresholds(rate_limit=10)
    m, tr = evaluate(th, SensorMemory(), [(T0, 0.0), (T0 + timedelta(seconds=60), 20.0)])  # 20/min
    assert [t.change for t in tr] == ["raise"] and m.rate_alarm
    # next batch: compared with the remembered reading (20 at +60 s); 40 at +120 s = 20/min: no second raise
    m, tr = evaluate(th, m, [(T0 + timedelta(seconds=120), 40.0)])
    assert tr == [] and m.rate_alarm
    m, tr = evaluate(th, m, [(T0 + timedelta(seconds=180), 41.0), (T0 + timedelta(seconds=240), 60.0)])
    assert [(t.change, t.value) for t in tr] == [("clear", pytest.approx(1.0)), ("raise", pytest.approx(19.0))]


def test_falling_fast_counts_too():
    _, tr = evaluate(Thresholds(rate_limit=10), SensorMemory(), series([50, 30], step_s=60))
    assert [(t.change, t.kind, t.value) for t in tr] == [("raise", "rate", pytest.approx(20.0))]


def test_nan_and_inf_are_skipped():
    readings = series([10, math.nan, 26, math.inf, -math.inf, 24])
    memory, tr = evaluate(GAS, SensorMemory(), readings)
    assert [(t.change, t.kind) for t in tr] == [("raise", "high_1")]
    assert memory.last_ts == readings[-1][0] and memory.last_value == 24
    # a NaN as the newest reading does not move last_ts
    m2, tr2 = evaluate(GAS, memory, [(readings[-1][0] + timedelta(minutes=1), math.nan)])
    assert tr2 == [] and m2 == memory


def test_late_and_repeated_readings_are_ignored():
    memory, _ = evaluate(GAS, SensorMemory(), series([10, 26]))  # high_1 at T0+60 s
    late = [(T0 + timedelta(seconds=30), 5.0), (T0 + timedelta(seconds=60), 5.0)]
    m2, tr = evaluate(GAS, memory, late)
    assert tr == [] and m2 == memory
    # within a batch too: the reading at an earlier time than the previous one is dropped
    m3, tr = evaluate(GAS, memory, [(T0 + timedelta(seconds=120), 30.0), (T0 + timedelta(seconds=90), 5.0)])
    assert tr == [] and m3.level == "high_1" and m3.last_value == 30.0


def test_memory_is_not_mutated_and_round_trips():
    memory = SensorMemory()
    new, _ = evaluate(GAS, memory, series([30]))
    assert memory == SensorMemory() and new.level == "high_1"
    assert SensorMemory.from_dict(new.as_dict()) == new
    assert SensorMemory.from_dict(None) == SensorMemory()


def test_thresholds_validation_and_from_properties():
    th = Thresholds.from_properties(
        {"high_1": "25", "high_2": 50.0, "low_1": None, "deadband": "", "rate_limit": "nan"}
    )
    assert th == Thresholds(high_1=25, high_2=50)
    with pytest.raises(ValueError):
        Thresholds(high_1=50, high_2=25)
    with pytest.raises(ValueError):
        Thresholds(low_1=1, low_2=2)
    with pytest.raises(ValueError):
        Thresholds(low_1=30, high_1=25)
    with pytest.raises(ValueError):
        Thresholds(high_1=25, deadband=-1)
    with pytest.raises(ValueError):
        Thresholds(rate_limit=0)


def test_no_thresholds_stays_normal():
    memory, tr = evaluate(Thresholds(), SensorMemory(), series([1e9, -1e9]))
    assert tr == [] and memory.level == "normal"


def test_removed_set_point_clears_its_level():
    memory, _ = evaluate(GAS, SensorMemory(), series([30]))
    memory, tr = evaluate(Thresholds(high_2=50), memory, [(T0 + timedelta(minutes=5), 30.0)])
    assert memory.level == "normal" and [(t.change, t.kind) for t in tr] == [("clear", "high_1")]
    assert math.isnan(tr[0].threshold)


def test_liveness_ok_offline_silent():
    assert liveness(SensorMemory(), T0, 300) == "silent"
    assert not stale(SensorMemory(), T0, 300)
    memory, _ = evaluate(GAS, SensorMemory(), [(T0, 30.0)])
    assert liveness(memory, T0 + timedelta(seconds=300), 300) == "ok"  # exactly the limit: still ok
    assert liveness(memory, T0 + timedelta(seconds=301), 300) == "offline"
    assert stale(memory, T0 + timedelta(seconds=301), 300)
    assert liveness(memory, T0 + timedelta(seconds=301), None) == "offline"  # default 300 s
    assert liveness(memory, T0 + timedelta(seconds=301), 600) == "ok"
    assert sensor_state(memory, T0 + timedelta(seconds=10), 300) == "high_1"
    assert sensor_state(memory, T0 + timedelta(hours=1), 300) == "offline"
    assert sensor_state(SensorMemory(), T0, 300) == "silent"
