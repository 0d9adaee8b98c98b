"""Time series of live data on both stores: dedup, order, aggregates, partitions, state, retention."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pytest
from sqlalchemy import text

from safemap.layers.store import FeatureStore
from safemap.layers.timeseries import TimeSeries

T0 = dt.datetime(2026, 11, 30, 23, 50, tzinfo=dt.UTC)


def _ts(store: FeatureStore) -> TimeSeries:
    return TimeSeries.for_store(store)


def test_for_store_caches_one_instance(store: FeatureStore) -> None:
    assert TimeSeries.for_store(store) is TimeSeries.for_store(store)
    TimeSeries(store).ensure()  # idempotent on tables that exist


def test_duplicates_within_and_across_batches_are_dropped(store: FeatureStore) -> None:
    ts = _ts(store)
    a = (1, T0, 1.0)
    b = (1, T0 + dt.timedelta(seconds=30), 2.0)
    first = ts.insert_readings([a, b, a, (2, T0, 5.0)])
    assert first == [a, b, (2, T0, 5.0)]
    # the same instant in another zone is the same reading
    shanghai = T0.astimezone(dt.timezone(dt.timedelta(hours=8)))
    again = ts.insert_readings([(1, shanghai, 9.0), b, (1, T0 + dt.timedelta(minutes=1), 3.0)])
    assert again == [(1, T0 + dt.timedelta(minutes=1), 3.0)]
    assert [p["value"] for p in ts.readings(1, T0, T0 + dt.timedelta(hours=1))] == [1.0, 2.0, 3.0]
    assert ts.counts()["readings"] == 4
    with pytest.raises(ValueError, match="naive"):
        ts.insert_readings([(1, dt.datetime(2026, 1, 1), 1.0)])


def test_out_of_order_inserts_read_in_time_order(store: FeatureStore) -> None:
    ts = _ts(store)
    rng = np.random.default_rng(1)
    offsets = rng.permutation(200)
    for chunk in np.array_split(offsets, 5):
        ts.insert_readings([(7, T0 + dt.timedelta(seconds=int(s) * 15), float(s)) for s in chunk])
    got = ts.readings(7, T0, T0 + dt.timedelta(days=1))
    assert [p["value"] for p in got] == [float(s) for s in range(200)]
    assert all(p["ts"].tzinfo is not None for p in got)
    window = ts.readings(7, T0 + dt.timedelta(seconds=150), T0 + dt.timedelta(seconds=300))
    assert [p["value"] for p in window] == [float(s) for s in range(10, 21)]


def _expected(stamps: np.ndarray, values: np.ndarray, width_s: int) -> list[tuple[int, float, float, float, int]]:
    buckets = stamps - stamps % width_s
    out = []
    for b in np.unique(buckets):
        v = values[buckets == b]
        out.append((int(b), float(v.mean()), float(v.min()), float(v.max()), len(v)))
    return out


def test_aggregates_equal_numpy_and_late_reading_updates_its_bucket(store: FeatureStore) -> None:
    ts = _ts(store)
    rng = np.random.default_rng(7)
    base = int(T0.timestamp())
    stamps = base + np.unique(rng.integers(0, 3 * 3600, 900))
    values = np.round(rng.normal(20, 5, len(stamps)), 3)
    rows = [(3, dt.datetime.fromtimestamp(int(s), dt.UTC), float(v)) for s, v in zip(stamps, values, strict=True)]
    order = rng.permutation(len(rows))
    half = len(rows) // 2
    ts.insert_readings([rows[i] for i in order[:half]])
    # a second batch overlapping the first: the overlap must not count twice
    ts.insert_readings([rows[i] for i in order[half - 50 :]])
    ts.insert_readings([(4, T0, 100.0)])  # another sensor stays apart
    end = T0 + dt.timedelta(hours=4)
    for step, width in (("1min", 60), ("1h", 3600)):
        got = ts.readings(3, T0, end, step)
        want = _expected(stamps, values, width)
        assert [(int(p["ts"].timestamp()), p["n"]) for p in got] == [(w[0], w[4]) for w in want]
        np.testing.assert_allclose([p["avg"] for p in got], [w[1] for w in want], rtol=1e-9)
        np.testing.assert_allclose([p["min"] for p in got], [w[2] for w in want])
        np.testing.assert_allclose([p["max"] for p in got], [w[3] for w in want])
    # a late reading (arriving after its bucket was written) updates that old bucket only
    minute = ts.readings(3, T0, end, "1min")[0]
    late_ts = minute["ts"] + dt.timedelta(seconds=59, microseconds=5)
    ts.insert_readings([(3, late_ts, 1000.0)])
    again = ts.readings(3, T0, end, "1min")[0]
    assert again["n"] == minute["n"] + 1 and again["max"] == 1000.0
    assert again["avg"] == pytest.approx((minute["avg"] * minute["n"] + 1000.0) / (minute["n"] + 1))
    hour = ts.readings(3, T0, end, "1h")[0]
    assert hour["max"] == 1000.0
    assert ts.readings(3, T0, end, "1min")[1] == ts.readings(3, T0, end, "1min")[1]


def test_positions_dedup_and_track(store: FeatureStore) -> None:
    ts = _ts(store)
    rows = [(5, T0 + dt.timedelta(seconds=10 * k), 82.9 + k * 1e-3, 46.2, 40.0, None) for k in range(5)]
    assert ts.insert_positions(list(reversed(rows))) == list(reversed(rows))
    assert ts.insert_positions(rows[:2]) == []
    track = ts.track(5, T0, T0 + dt.timedelta(minutes=5))
    assert [p["lon"] for p in track] == [r[2] for r in rows]
    assert track[0]["heading_deg"] is None and track[0]["speed_kmh"] == 40.0


def test_state_tables_and_changes_since(store: FeatureStore) -> None:
    ts = _ts(store)
    seq0, s0, v0 = ts.changes_since(0)
    assert (seq0, s0, v0) == (0, [], [])
    ts.set_sensor_state(
        [
            {"sensor_id": 1, "ts": T0, "value": 1.0, "state": "normal", "detail": {"a": 1}},
            {"sensor_id": 2, "ts": T0, "value": 30.0, "state": "high_1", "detail": None},
        ]
    )
    seq1, sensors, vehicles = ts.changes_since(0)
    assert seq1 == 1 and [s["sensor_id"] for s in sensors] == [1, 2] and vehicles == []
    assert sensors[0]["detail"] == {"a": 1} and sensors[0]["ts"] == T0
    ts.set_vehicle_state([{"vehicle_id": 9, "ts": T0, "lon": 82.9, "lat": 46.2, "speed_kmh": 0.0, "state": "normal"}])
    ts.set_sensor_state([{"sensor_id": 2, "ts": T0 + dt.timedelta(minutes=1), "value": 60.0, "state": "high_2"}])
    seq3, sensors, vehicles = ts.changes_since(seq1)
    assert seq3 == 3
    assert [(s["sensor_id"], s["state"]) for s in sensors] == [(2, "high_2")]
    assert [v["vehicle_id"] for v in vehicles] == [9]
    assert ts.changes_since(seq3) == (3, [], [])
    assert set(ts.sensor_states()) == {1, 2} and ts.sensor_states()[2]["value"] == 60.0
    assert ts.vehicle_states()[9]["lon"] == 82.9


def test_prune_removes_old_rows_and_keeps_new(store: FeatureStore) -> None:
    ts = _ts(store)
    old = [(1, dt.datetime(2026, 9, 15, tzinfo=dt.UTC) + dt.timedelta(hours=k), float(k)) for k in range(10)]
    mid = [(1, dt.datetime(2026, 11, 10, tzinfo=dt.UTC) + dt.timedelta(hours=k), float(k)) for k in range(10)]
    new = [(1, dt.datetime(2026, 11, 20, tzinfo=dt.UTC) + dt.timedelta(hours=k), float(k)) for k in range(10)]
    ts.insert_readings(old + mid + new)
    ts.insert_positions([(2, r[1], 82.9, 46.2, None, None) for r in old + new])
    removed = ts.prune(dt.datetime(2026, 11, 15, tzinfo=dt.UTC))
    assert removed["readings"] == 20 and removed["positions"] == 10
    assert removed["readings_1h"] == 20 and removed["readings_1min"] == 20
    left = ts.readings(1, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    assert [p["ts"] for p in left] == [r[1] for r in new]
    assert len(ts.track(2, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2027, 1, 1, tzinfo=dt.UTC))) == 10
    if store.kind == "postgis":
        assert removed["partitions_dropped"] == 2  # September of readings and of positions
        assert "safemap_readings_y2026m09" not in ts.partitions()
        # a reading for a pruned month recreates its partition
        assert ts.insert_readings([old[0]]) == [old[0]]


def test_postgis_month_partitions_and_brin(pg_store: FeatureStore) -> None:
    ts = _ts(pg_store)
    ts.insert_readings(
        [(1, T0, 1.0), (1, T0 + dt.timedelta(minutes=20), 2.0), (1, dt.datetime(2027, 2, 3, tzinfo=dt.UTC), 3.0)]
    )
    ts.insert_positions([(1, T0, 82.9, 46.2, 10.0, 90.0)])
    assert ts.partitions() == ["safemap_readings_y2026m11", "safemap_readings_y2026m12", "safemap_readings_y2027m02"]
    assert ts.partitions("safemap_positions") == ["safemap_positions_y2026m11"]
    with pg_store.backend.read() as conn:
        parts = (
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'safemap_readings' ORDER BY 1"
                )
            )
            .scalars()
            .all()
        )
        assert parts == ts.partitions()
        rows = conn.execute(text("SELECT count(*) FROM safemap_readings_y2026m12")).scalar_one()
        assert rows == 1
        brin = (
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
                    "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_am am ON am.oid = c.relam "
                    "WHERE t.relname IN ('safemap_readings', 'safemap_positions') AND am.amname = 'brin' ORDER BY 1"
                )
            )
            .scalars()
            .all()
        )
        assert brin == ["safemap_positions_ts_brin", "safemap_readings_ts_brin"]
        geom = conn.execute(text("SELECT ST_AsText(geom) FROM safemap_positions")).scalar_one()
        assert geom == "POINT(82.9 46.2)"


@pytest.mark.parametrize("n_sensors", [200])
def test_throughput_and_window_query(store: FeatureStore, n_sensors: int) -> None:
    """Bulk ingest well above the targets' order of magnitude and a 24 h window read stay fast."""
    ts = _ts(store)
    minutes = 2 * 24 * 60 // 10  # two days at one reading per 10 min
    rows = [
        (s, T0 + dt.timedelta(minutes=10 * m), float(m % 97)) for m in range(minutes) for s in range(1, n_sensors + 1)
    ]
    batch = 5000 if store.kind == "postgis" else 1000
    start = time.perf_counter()
    for k in range(0, len(rows), batch):
        ts.insert_readings(rows[k : k + batch])
    rate = len(rows) / (time.perf_counter() - start)
    floor = 5000 if store.kind == "postgis" else 1000
    assert rate > floor, f"{rate:.0f} readings/s"
    start = time.perf_counter()
    got = ts.readings(17, T0 + dt.timedelta(hours=12), T0 + dt.timedelta(hours=36))
    assert time.perf_counter() - start < 0.1
    assert len(got) == 24 * 6 + 1
