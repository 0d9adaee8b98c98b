"""Time series of live data: sensor readings, vehicle positions, their aggregates and live state.

These are not catalogue layers: they are append-mostly tables keyed by (device id, time),
written in batches by the ingest services and read by charts, tracks and the live map.

The module is longer than 500 lines because it holds one class over two engines whose fast paths
differ entirely (PostgreSQL partitions and array inserts, SQLite temporary tables); split, each
half would restate the table layout, the dedup rule and the aggregate buckets the other relies on.

PostGIS
    ``safemap_readings`` and ``safemap_positions`` are partitioned by month on ``ts``
    (``PARTITION BY RANGE``); a month's partition (``safemap_readings_y2026m12``) is created
    on demand before a batch that needs it is inserted. The primary key (id, ts) serves a
    device's time window; a BRIN index on ``ts`` serves retention and time-wide scans. A batch
    goes in as one ``INSERT … SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING RETURNING``;
    data-modifying CTEs fold the rows actually inserted into the 1-minute and 1-hour
    aggregates in the same statement.
GeoPackage (SQLite)
    plain ``WITHOUT ROWID`` tables with the primary key (id, ts); times as integer
    microseconds since 1970 UTC. A batch goes into a temporary table (``executemany``),
    rows already stored are removed from it, the rest is inserted and aggregated with
    ``INSERT … SELECT``, all inside the writer lock (:meth:`Backend.write`).

Aggregates (``safemap_readings_1min``, ``safemap_readings_1h``: sensor_id, bucket, n, sum, min,
max) are maintained from newly inserted rows only, so a duplicate never counts twice and a
late reading updates the bucket it belongs to.

State tables (``safemap_sensor_state``, ``safemap_vehicle_state``) hold each device's latest
value and alarm state; every batch written to them takes the next ``seq`` from
``safemap_live_seq``, so :meth:`TimeSeries.changes_since` can hand the event stream exactly
the rows changed after the sequence number it last saw.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from safemap.layers.store import FeatureStore

Reading = tuple[int, dt.datetime, float]
"""sensor_id, ts (aware), value."""
Position = tuple[int, dt.datetime, float, float, float | None, float | None]
"""vehicle_id, ts (aware), lon, lat, speed_kmh, heading_deg."""

STEPS = ("raw", "1min", "1h")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
_MINUTE_US = 60_000_000
_HOUR_US = 3_600_000_000
_LOCK_KEY = 0x5AFE_1313  # pg_advisory_xact_lock key for DDL of the time-series tables
_SQLITE_CHUNK = 5000


def _utc(ts: dt.datetime) -> dt.datetime:
    if ts.tzinfo is None:
        raise ValueError("naive datetime: time-series timestamps must be timezone-aware")
    return ts.astimezone(dt.UTC)


def to_micros(ts: dt.datetime) -> int:
    """Microseconds since 1970-01-01 UTC of an aware datetime."""
    return (_utc(ts) - _EPOCH) // _US


def from_micros(us: int) -> dt.datetime:
    """Aware UTC datetime of microseconds since 1970."""
    return _EPOCH + dt.timedelta(microseconds=us)


class Micros(TypeDecorator[dt.datetime]):
    """SQLite time column: aware datetimes stored as integer microseconds since 1970 UTC."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> int | None:
        """Aware datetime → microseconds."""
        return None if value is None else to_micros(value)

    def process_result_value(self, value: int | None, dialect: Any) -> dt.datetime | None:
        """Microseconds → aware UTC datetime."""
        return None if value is None else from_micros(int(value))


def _tables(postgis: bool) -> tuple[MetaData, dict[str, Table]]:
    """The time-series tables as SQLAlchemy Core objects (for queries; DDL of the raw tables is ours)."""
    md = MetaData()
    ts_type: Any = DateTime(timezone=True) if postgis else Micros()
    json_type: Any = postgresql.JSONB() if postgis else JSON()
    t = {
        "readings": Table(
            "safemap_readings",
            md,
            Column("sensor_id", Integer, primary_key=True),
            Column("ts", ts_type, primary_key=True),
            Column("value", Float, nullable=False),
        ),
        "positions": Table(
            "safemap_positions",
            md,
            Column("vehicle_id", Integer, primary_key=True),
            Column("ts", ts_type, primary_key=True),
            Column("lon", Float, nullable=False),
            Column("lat", Float, nullable=False),
            Column("speed_kmh", Float),
            Column("heading_deg", Float),
        ),
        "sensor_state": Table(
            "safemap_sensor_state",
            md,
            Column("sensor_id", Integer, primary_key=True),
            Column("ts", ts_type),
            Column("value", Float),
            Column("state", String(20)),
            Column("detail", json_type),
            Column("seq", BigInteger, nullable=False, index=True),
        ),
        "vehicle_state": Table(
            "safemap_vehicle_state",
            md,
            Column("vehicle_id", Integer, primary_key=True),
            Column("ts", ts_type),
            Column("lon", Float),
            Column("lat", Float),
            Column("speed_kmh", Float),
            Column("heading_deg", Float),
            Column("state", String(20)),
            Column("detail", json_type),
            Column("seq", BigInteger, nullable=False, index=True),
        ),
        "seq": Table(
            "safemap_live_seq",
            md,
            Column("id", Integer, primary_key=True, autoincrement=False),
            Column("seq", BigInteger, nullable=False),
        ),
    }
    for step in ("1min", "1h"):
        t[step] = Table(
            f"safemap_readings_{step}",
            md,
            Column("sensor_id", Integer, primary_key=True),
            Column("bucket", ts_type, primary_key=True),
            Column("n", Integer, nullable=False),
            Column("sum", Float, nullable=False),
            Column("min", Float, nullable=False),
            Column("max", Float, nullable=False),
        )
    return md, t


# ---------------------------------------------------------------------------- PostGIS SQL

_PG_RAW_DDL = (
    "CREATE TABLE IF NOT EXISTS safemap_readings (sensor_id integer NOT NULL, ts timestamptz NOT NULL, "
    "value double precision NOT NULL, PRIMARY KEY (sensor_id, ts)) PARTITION BY RANGE (ts)",
    "CREATE INDEX IF NOT EXISTS safemap_readings_ts_brin ON safemap_readings USING brin (ts)",
    "CREATE TABLE IF NOT EXISTS safemap_positions (vehicle_id integer NOT NULL, ts timestamptz NOT NULL, "
    "lon double precision NOT NULL, lat double precision NOT NULL, speed_kmh double precision, "
    "heading_deg double precision, geom geometry(Point, 4326), PRIMARY KEY (vehicle_id, ts)) "
    "PARTITION BY RANGE (ts)",
    "CREATE INDEX IF NOT EXISTS safemap_positions_ts_brin ON safemap_positions USING brin (ts)",
)


def _pg_agg(step: str, unit: str) -> str:
    return (
        f"INSERT INTO safemap_readings_{step} AS a (sensor_id, bucket, n, sum, min, max) "
        f"SELECT sensor_id, date_trunc('{unit}', ts, 'UTC'), count(*), sum(value), min(value), max(value) "
        "FROM ins GROUP BY 1, 2 ON CONFLICT (sensor_id, bucket) DO UPDATE SET n = a.n + EXCLUDED.n, "
        "sum = a.sum + EXCLUDED.sum, min = LEAST(a.min, EXCLUDED.min), max = GREATEST(a.max, EXCLUDED.max)"
    )


_PG_INSERT_READINGS = text(
    "WITH src AS (SELECT * FROM unnest(CAST(:sid AS integer[]), CAST(:ts AS timestamptz[]), "
    "CAST(:val AS double precision[])) AS s(sensor_id, ts, value)), "
    "ins AS (INSERT INTO safemap_readings (sensor_id, ts, value) SELECT sensor_id, ts, value FROM src "
    "ON CONFLICT DO NOTHING RETURNING sensor_id, ts, value), "
    f"m AS ({_pg_agg('1min', 'minute')}), h AS ({_pg_agg('1h', 'hour')}) "
    "SELECT sensor_id, ts FROM ins"
)

_PG_INSERT_POSITIONS = text(
    "INSERT INTO safemap_positions (vehicle_id, ts, lon, lat, speed_kmh, heading_deg, geom) "
    "SELECT vehicle_id, ts, lon, lat, speed_kmh, heading_deg, ST_SetSRID(ST_MakePoint(lon, lat), 4326) "
    "FROM unnest(CAST(:vid AS integer[]), CAST(:ts AS timestamptz[]), CAST(:lon AS double precision[]), "
    "CAST(:lat AS double precision[]), CAST(:speed AS double precision[]), CAST(:heading AS double precision[])) "
    "AS s(vehicle_id, ts, lon, lat, speed_kmh, heading_deg) "
    "ON CONFLICT DO NOTHING RETURNING vehicle_id, ts"
)

# ---------------------------------------------------------------------------- SQLite SQL

_SQLITE_DDL = (
    "CREATE TABLE IF NOT EXISTS safemap_readings (sensor_id INTEGER NOT NULL, ts INTEGER NOT NULL, "
    "value REAL NOT NULL, PRIMARY KEY (sensor_id, ts)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS safemap_positions (vehicle_id INTEGER NOT NULL, ts INTEGER NOT NULL, "
    "lon REAL NOT NULL, lat REAL NOT NULL, speed_kmh REAL, heading_deg REAL, "
    "PRIMARY KEY (vehicle_id, ts)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS safemap_readings_ts ON safemap_readings (ts)",
    "CREATE INDEX IF NOT EXISTS safemap_positions_ts ON safemap_positions (ts)",
)
_SQLITE_AGG_DDL = (
    "CREATE TABLE IF NOT EXISTS safemap_readings_{step} (sensor_id INTEGER NOT NULL, bucket INTEGER NOT NULL, "
    "n INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, "
    "PRIMARY KEY (sensor_id, bucket)) WITHOUT ROWID"
)
#: The temp table each SQLite insert goes through (by the table it fills).
_SQLITE_BATCH = {
    "readings": "CREATE TEMP TABLE IF NOT EXISTS safemap_batch_readings (sensor_id INTEGER NOT NULL, "
    "ts INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (sensor_id, ts)) WITHOUT ROWID",
    "positions": "CREATE TEMP TABLE IF NOT EXISTS safemap_batch_positions (vehicle_id INTEGER NOT NULL, "
    "ts INTEGER NOT NULL, lon REAL NOT NULL, lat REAL NOT NULL, speed_kmh REAL, heading_deg REAL, "
    "PRIMARY KEY (vehicle_id, ts)) WITHOUT ROWID",
}


def _sqlite_agg(step: str, width: int) -> str:
    return (
        f"INSERT INTO safemap_readings_{step} AS a (sensor_id, bucket, n, sum, min, max) "
        f"SELECT sensor_id, ts - (ts % {width}), count(*), sum(value), min(value), max(value) "
        "FROM temp.safemap_batch_readings WHERE true GROUP BY 1, 2 "
        "ON CONFLICT (sensor_id, bucket) DO UPDATE SET n = a.n + excluded.n, sum = a.sum + excluded.sum, "
        "min = min(a.min, excluded.min), max = max(a.max, excluded.max)"
    )


def _months(stamps: Iterable[dt.datetime]) -> set[tuple[int, int]]:
    return {(t.year, t.month) for t in stamps}


def _month_bounds(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(year, month, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=dt.UTC)
    return start, end


def _dedup(rows: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows with aware UTC timestamps, the first of each (id, ts) kept, in input order."""
    seen: set[tuple[int, dt.datetime]] = set()
    out: list[tuple[Any, ...]] = []
    for row in rows:
        key = (int(row[0]), _utc(row[1]))
        if key in seen:
            continue
        seen.add(key)
        out.append((key[0], key[1], *row[2:]))
    return out


_INSTANCES: weakref.WeakKeyDictionary[Any, TimeSeries] = weakref.WeakKeyDictionary()
_INSTANCES_LOCK = threading.Lock()


class TimeSeries:
    """Readings, positions, aggregates and live state of one feature store (PostGIS or GeoPackage)."""

    def __init__(self, store: FeatureStore) -> None:
        self.store = store
        self.backend = store.backend
        self.postgis = self.backend.name == "postgis"
        self.metadata, self.t = _tables(self.postgis)
        self._partitions: set[str] = set()
        self._ready = False
        self._lock = threading.Lock()

    @classmethod
    def for_store(cls, store: FeatureStore) -> TimeSeries:
        """The one instance of ``store`` (created and :meth:`ensure`-d on first use)."""
        with _INSTANCES_LOCK:
            ts = _INSTANCES.get(store)
            if ts is None:
                ts = cls(store)
                _INSTANCES[store] = ts
        ts.ensure()
        return ts

    # ------------------------------------------------------------------ schema
    def ensure(self) -> None:
        """Create the tables and indexes if missing (idempotent; cheap after the first call)."""
        with self._lock:
            if self._ready:
                return
            with self.backend.write() as conn:
                if self.postgis:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
                    for ddl in _PG_RAW_DDL:
                        conn.exec_driver_sql(ddl)
                else:
                    for ddl in _SQLITE_DDL:
                        conn.exec_driver_sql(ddl)
                    for step in ("1min", "1h"):
                        conn.exec_driver_sql(_SQLITE_AGG_DDL.format(step=step))
                raw = {"safemap_readings", "safemap_positions"}
                if not self.postgis:
                    raw |= {"safemap_readings_1min", "safemap_readings_1h"}
                self.metadata.create_all(conn, tables=[t for t in self.t.values() if t.name not in raw])
                seq = self.t["seq"]
                if conn.execute(select(seq.c.seq).where(seq.c.id == 1)).first() is None:
                    conn.execute(seq.insert().values(id=1, seq=0))
                if self.postgis:
                    self._partitions = self._existing_partitions(conn)
            self._ready = True

    @staticmethod
    def _existing_partitions(conn: Connection) -> set[str]:
        rows = conn.execute(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent "
                "WHERE p.relname IN ('safemap_readings', 'safemap_positions')"
            )
        )
        return {r[0] for r in rows}

    def partitions(self, table: str = "safemap_readings") -> list[str]:
        """PostGIS: names of the month partitions of ``table`` (from ``pg_inherits``), oldest first."""
        if not self.postgis:
            return []
        self.ensure()
        with self.backend.read() as conn:
            rows = conn.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :t ORDER BY c.relname"
                ),
                {"t": table},
            )
            return [r[0] for r in rows]

    def _ensure_partitions(self, table: str, stamps: Iterable[dt.datetime]) -> None:
        """PostGIS: create the month partitions of ``table`` the timestamps fall in (own transaction)."""
        needed = {f"{table}_y{y:04d}m{m:02d}": (y, m) for y, m in _months(stamps)}
        missing = {name: ym for name, ym in needed.items() if name not in self._partitions}
        if not missing:
            return
        with self.backend.write() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            for name, (y, m) in sorted(missing.items()):
                start, end = _month_bounds(y, m)
                conn.exec_driver_sql(
                    f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} "
                    f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
                )
        self._partitions.update(missing)

    # ------------------------------------------------------------------ inserts
    def insert_readings(self, rows: Sequence[Reading]) -> list[Reading]:
        """Store readings; return those actually new (not already stored, first of duplicates), in input order.

        Times are normalised to UTC (a naive datetime raises ``ValueError``).
        """
        self.ensure()
        batch = [(r[0], r[1], float(r[2])) for r in _dedup(rows)]
        if not batch:
            return []
        if self.postgis:
            new = self._pg_insert(
                "safemap_readings",
                _PG_INSERT_READINGS,
                lambda b: {"sid": [r[0] for r in b], "ts": [r[1] for r in b], "val": [r[2] for r in b]},
                batch,
            )
        else:
            new = self._sqlite_insert(
                "readings",
                "sensor_id",
                batch,
                (
                    "INSERT INTO safemap_readings SELECT sensor_id, ts, value FROM temp.safemap_batch_readings",
                    _sqlite_agg("1min", _MINUTE_US),
                    _sqlite_agg("1h", _HOUR_US),
                ),
            )
        return [r for r in batch if (r[0], r[1]) in new]

    def insert_positions(self, rows: Sequence[Position]) -> list[Position]:
        """Store positions; return those actually new (dedup on (vehicle_id, ts)), in input order."""
        self.ensure()
        batch: list[Position] = [
            (
                r[0],
                r[1],
                float(r[2]),
                float(r[3]),
                None if r[4] is None else float(r[4]),
                None if r[5] is None else float(r[5]),
            )
            for r in _dedup(rows)
        ]
        if not batch:
            return []
        if self.postgis:
            new = self._pg_insert(
                "safemap_positions",
                _PG_INSERT_POSITIONS,
                lambda b: {
                    "vid": [r[0] for r in b],
                    "ts": [r[1] for r in b],
                    "lon": [r[2] for r in b],
                    "lat": [r[3] for r in b],
                    "speed": [r[4] for r in b],
                    "heading": [r[5] for r in b],
                },
                batch,
            )
        else:
            new = self._sqlite_insert(
                "positions",
                "vehicle_id",
                batch,
                ("INSERT INTO safemap_positions SELECT * FROM temp.safemap_batch_positions",),
            )
        return [r for r in batch if (r[0], r[1]) in new]

    def _pg_insert(self, table: str, stmt: Any, params: Any, batch: Sequence[tuple[Any, ...]]) -> set[Any]:
        for attempt in (0, 1):
            self._ensure_partitions(table, (r[1] for r in batch))
            try:
                with self.backend.write() as conn:
                    got = conn.execute(stmt, params(batch)).all()
                return {(int(r[0]), r[1].astimezone(dt.UTC)) for r in got}
            except DBAPIError as exc:
                # 23514: no partition for a row (someone pruned it since we cached it): recreate once.
                if attempt or getattr(exc.orig, "sqlstate", None) != "23514":
                    raise
                with self.backend.read() as conn:
                    self._partitions = self._existing_partitions(conn)
        raise AssertionError("unreachable")

    def _sqlite_insert(
        self, table: str, key: str, batch: Sequence[tuple[Any, ...]], then: Sequence[str]
    ) -> set[tuple[int, dt.datetime]]:
        """Store a batch in SQLite through its temp table; return the (id, ts) of the rows actually new.

        Parameters
        ----------
        table
            ``readings`` or ``positions``: the rows go to ``safemap_{table}`` through
            ``temp.safemap_batch_{table}`` (created by :data:`_SQLITE_BATCH`).
        key
            The id column, ``sensor_id`` or ``vehicle_id``.
        batch
            Rows (id, aware UTC ts, the other columns in table order), deduplicated; not empty.
        then
            The statements that move the new rows from the temp table into the store (run only
            when there are new rows).

        Returns
        -------
        set of tuple of (int, datetime)
            The (id, ts) of the rows not stored before.
        """
        temp = f"temp.safemap_batch_{table}"
        with self.backend.write() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            cur = raw.cursor()
            try:
                cur.execute(_SQLITE_BATCH[table])
                cur.execute(f"DELETE FROM {temp}")
                rows = [(r[0], to_micros(r[1]), *r[2:]) for r in batch]
                cur.executemany(f"INSERT INTO {temp} VALUES ({', '.join('?' * len(rows[0]))})", rows)
                cur.execute(
                    f"DELETE FROM {temp} AS b WHERE EXISTS (SELECT 1 FROM safemap_{table} s "
                    f"WHERE s.{key} = b.{key} AND s.ts = b.ts)"
                )
                new = {(int(i), from_micros(t)) for i, t in cur.execute(f"SELECT {key}, ts FROM {temp}")}
                if new:
                    for stmt in then:
                        cur.execute(stmt)
                cur.execute(f"DELETE FROM {temp}")
            finally:
                cur.close()
        return new

    # ------------------------------------------------------------------ reads
    def readings(self, sensor_id: int, start: dt.datetime, end: dt.datetime, step: str = "raw") -> list[dict[str, Any]]:
        """A sensor's readings in ``[start, end]``, in time order.

        ``step`` ``raw``: ``[{"ts", "value"}]``; ``1min`` / ``1h``: the buckets whose start lies in
        the window (the first one truncated down), ``[{"ts" (bucket start), "avg", "min", "max", "n"}]``.
        """
        if step not in STEPS:
            raise ValueError(f"step must be one of {', '.join(STEPS)}")
        self.ensure()
        start, end = _utc(start), _utc(end)
        with self.backend.read() as conn:
            if step == "raw":
                r = self.t["readings"]
                raw = conn.execute(
                    select(r.c.ts, r.c.value)
                    .where(r.c.sensor_id == sensor_id, r.c.ts >= start, r.c.ts <= end)
                    .order_by(r.c.ts)
                ).all()
                return [{"ts": _aware(ts), "value": v} for ts, v in raw]
            a = self.t[step]
            first = start.replace(second=0, microsecond=0)
            if step == "1h":
                first = first.replace(minute=0)
            rows = conn.execute(
                select(a.c.bucket, a.c.n, a.c.sum, a.c.min, a.c.max)
                .where(a.c.sensor_id == sensor_id, a.c.bucket >= first, a.c.bucket <= end)
                .order_by(a.c.bucket)
            ).all()
        return [{"ts": _aware(b), "avg": s / n, "min": lo, "max": hi, "n": n} for b, n, s, lo, hi in rows]

    def track(self, vehicle_id: int, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """A vehicle's positions in ``[start, end]``, in time order."""
        self.ensure()
        p = self.t["positions"]
        with self.backend.read() as conn:
            rows = conn.execute(
                select(p.c.ts, p.c.lon, p.c.lat, p.c.speed_kmh, p.c.heading_deg)
                .where(p.c.vehicle_id == vehicle_id, p.c.ts >= _utc(start), p.c.ts <= _utc(end))
                .order_by(p.c.ts)
            ).all()
        return [
            {"ts": _aware(ts), "lon": lon, "lat": lat, "speed_kmh": sp, "heading_deg": hd}
            for ts, lon, lat, sp, hd in rows
        ]

    # ------------------------------------------------------------------ live state
    def _next_seq(self, conn: Connection) -> int:
        s = self.t["seq"]
        conn.execute(update(s).where(s.c.id == 1).values(seq=s.c.seq + 1))
        return int(conn.execute(select(s.c.seq).where(s.c.id == 1)).scalar_one())

    def current_seq(self) -> int:
        """The live state's sequence number now (every state batch takes the next one)."""
        self.ensure()
        s = self.t["seq"]
        with self.backend.read() as conn:
            return int(conn.execute(select(s.c.seq).where(s.c.id == 1)).scalar_one())

    def _upsert_state(self, table: Table, key: str, rows: Sequence[dict[str, Any]]) -> int | None:
        if not rows:
            return None
        self.ensure()
        cols = [c.name for c in table.columns if c.name != "seq"]
        with self.backend.write() as conn:
            seq = self._next_seq(conn)
            latest: dict[int, dict[str, Any]] = {}
            for row in rows:
                item: dict[str, Any] = {c: row.get(c) for c in cols}
                device = int(row[key])
                item[key] = device
                if row.get("ts") is not None:
                    item["ts"] = _utc(row["ts"])
                item["seq"] = seq
                latest[device] = item  # the last row of a device in the batch wins
            insert = (postgresql if self.postgis else sqlite).insert(table)
            stmt = insert.on_conflict_do_update(
                index_elements=[key],
                set_={c: insert.excluded[c] for c in [*cols, "seq"] if c != key},
            )
            conn.execute(stmt, list(latest.values()))
        return seq

    def set_sensor_state(self, rows: Sequence[dict[str, Any]]) -> int | None:
        """Upsert sensors' live state ``{sensor_id, ts, value, state, detail}``; the batch's seq (next one)."""
        return self._upsert_state(self.t["sensor_state"], "sensor_id", rows)

    def set_vehicle_state(self, rows: Sequence[dict[str, Any]]) -> int | None:
        """Upsert vehicles' live state ``{vehicle_id, ts, lon, lat, speed_kmh, heading_deg, state, detail}``."""
        return self._upsert_state(self.t["vehicle_state"], "vehicle_id", rows)

    def _states(self, conn: Connection, table: Table, key: str, after: int | None) -> list[dict[str, Any]]:
        stmt = select(table).order_by(table.c[key])
        if after is not None:
            stmt = stmt.where(table.c.seq > after)
        out = []
        for row in conn.execute(stmt).mappings():
            item = dict(row)
            if item.get("ts") is not None:
                item["ts"] = _aware(item["ts"])
            out.append(item)
        return out

    def sensor_states(self) -> dict[int, dict[str, Any]]:
        """Every sensor's live state by sensor id."""
        self.ensure()
        with self.backend.read() as conn:
            return {r["sensor_id"]: r for r in self._states(conn, self.t["sensor_state"], "sensor_id", None)}

    def vehicle_states(self) -> dict[int, dict[str, Any]]:
        """Every vehicle's live state by vehicle id."""
        self.ensure()
        with self.backend.read() as conn:
            return {r["vehicle_id"]: r for r in self._states(conn, self.t["vehicle_state"], "vehicle_id", None)}

    def changes_since(self, seq: int) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
        """(current seq, sensor states, vehicle states) written after ``seq``, read in one snapshot."""
        self.ensure()
        s = self.t["seq"]
        with self.backend.read() as conn:
            now = int(conn.execute(select(s.c.seq).where(s.c.id == 1)).scalar_one())
            if now <= seq:
                return now, [], []
            sensors = self._states(conn, self.t["sensor_state"], "sensor_id", seq)
            vehicles = self._states(conn, self.t["vehicle_state"], "vehicle_id", seq)
        return now, sensors, vehicles

    # ------------------------------------------------------------------ retention
    def prune(self, before: dt.datetime) -> dict[str, int]:
        """Remove readings, positions and aggregate buckets older than ``before``; rows removed per table.

        PostGIS drops whole month partitions that end at or before ``before`` (counted first)
        and deletes the older rows of the partition ``before`` falls in.
        """
        self.ensure()
        before = _utc(before)
        removed = {"readings": 0, "positions": 0, "readings_1min": 0, "readings_1h": 0, "partitions_dropped": 0}
        with self.backend.write() as conn:
            if self.postgis:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
                for name in sorted(self._existing_partitions(conn)):
                    table, _, ym = name.rpartition("_y")
                    year, month = int(ym[:4]), int(ym[5:7])
                    if _month_bounds(year, month)[1] > before:
                        continue
                    n = int(conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one())
                    conn.exec_driver_sql(f"DROP TABLE {name}")
                    removed["readings" if table == "safemap_readings" else "positions"] += n
                    removed["partitions_dropped"] += 1
                    self._partitions.discard(name)
            for key, col in (
                ("readings", "ts"),
                ("positions", "ts"),
                ("readings_1min", "bucket"),
                ("readings_1h", "bucket"),
            ):
                t = self.t[key.removeprefix("readings_") if key.startswith("readings_") else key]
                removed[key] += conn.execute(delete(t).where(t.c[col] < before)).rowcount or 0
        return removed

    def counts(self) -> dict[str, int]:
        """Rows per time-series table (for tests and health checks)."""
        self.ensure()
        with self.backend.read() as conn:
            return {
                key: int(conn.execute(select(func.count()).select_from(self.t[key])).scalar_one())
                for key in ("readings", "positions", "1min", "1h")
            }


def _aware(ts: dt.datetime) -> dt.datetime:
    return ts.astimezone(dt.UTC)


__all__ = ["Position", "Reading", "TimeSeries"]
