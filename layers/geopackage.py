"""GeoPackage backend: one SQLite file that GDAL, QGIS and pyogrio open as a GeoPackage 1.3.

The tables come from :mod:`layers.tables` like PostGIS's; this module adds what makes
the file a GeoPackage: the geometry blob encoding (GPKG §2.1.3), the ``gpkg_*``
registration tables, an R*-tree spatial index per layer with the standard triggers,
Chinese column names in ``gpkg_data_columns`` and SafeMap's default QGIS styles in
``layer_styles``. The SQL functions the R-tree triggers call (``ST_MinX`` …) are
registered on every connection, as GDAL does.

What reads what (checked with Debian's GDAL 3.6.2 and GDAL's source):

* ``user_version`` is 10300 (GeoPackage 1.3): GDAL 3.6 warns "may only be partially
  supported" on every open of a 1.4 file (10400), and nothing here needs 1.4.
* Field aliases: GDAL ≥ 3.7 takes a field's alternative name from
  ``gpkg_data_columns.name`` (when it differs from the column name) and its comment from
  ``description``; ``title`` is read by no GDAL. GDAL 3.6 reads none of them, so QGIS 3.22
  gets the Chinese aliases from the default style in ``layer_styles`` (QML ``<aliases>``),
  which it loads when a layer is opened.
* ``gpkg_extensions`` rows whose ``column_name`` is NULL are not caught by the table's
  UNIQUE constraint (NULLs differ in SQLite): rows are added only when missing.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import sqlite3
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    JSON,
    Date,
    String,
    Table,
    and_,
    create_engine,
    event,
    func,
    insert,
    text,
    type_coerce,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import LargeBinary, UserDefinedType

from safemap.layers import gpkg_meta
from safemap.layers.catalogue import Layer
from safemap.layers.errors import StoreBusy
from safemap.layers.tables import ColumnTypes, Schema

SRS_ID = 4326
#: GeoPackage 1.3 (``PRAGMA user_version``): the newest GDAL 3.6 opens without a warning.
USER_VERSION = 10300
DEFAULT_LOCK_TIMEOUT = 5.0
"""Seconds a write waits for another write to finish before :class:`~layers.errors.StoreBusy`."""
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)


@compiles(String, "sqlite")
def _text_n(element: String, compiler: Any, **kw: Any) -> str:
    # GeoPackage allows TEXT or TEXT(n) only, not VARCHAR(n).
    return f"TEXT({element.length})" if element.length else "TEXT"


@compiles(JSON, "sqlite")
def _json_text(element: JSON, compiler: Any, **kw: Any) -> str:
    return "TEXT"


def encode(geom: BaseGeometry | None) -> bytes | None:
    """Encode a geometry as a GeoPackage blob (little-endian, envelope unless a point)."""
    if geom is None:
        return None
    empty = geom.is_empty
    if geom.geom_type == "Point" or empty:
        envelope_code, envelope = 0, b""
    else:
        minx, miny, maxx, maxy = geom.bounds
        envelope_code, envelope = 1, struct.pack("<4d", minx, maxx, miny, maxy)
    flags = 0b1 | (envelope_code << 1) | (int(empty) << 4)
    header = b"GP" + bytes((0, flags)) + struct.pack("<i", SRS_ID)
    return header + envelope + shapely.to_wkb(geom, byte_order=1, output_dimension=2)


def _wkb_offset(blob: bytes) -> int:
    return 8 + _ENVELOPE_BYTES[(blob[3] >> 1) & 0b111]


def decode_many(blobs: Sequence[bytes | None]) -> np.ndarray:
    """Decode GeoPackage blobs to an array of shapely geometries (None stays None)."""
    wkbs = [None if b is None else memoryview(b)[_wkb_offset(b) :].tobytes() for b in blobs]
    return shapely.from_wkb(np.array(wkbs, dtype=object))


def _bounds(blob: bytes | None) -> tuple[float, float, float, float] | None:
    if blob is None or blob[3] & 0b10000:
        return None
    code = (blob[3] >> 1) & 0b111
    little = bool(blob[3] & 1)
    if code:
        minx, maxx, miny, maxy = struct.unpack("<4d" if little else ">4d", blob[8:40])
        return minx, miny, maxx, maxy
    if len(blob) == 29 and blob[8] == 1 and blob[9:13] == b"\x01\x00\x00\x00":
        # A 2-D little-endian WKB point (what this store writes): read x, y directly.
        x, y = struct.unpack("<2d", blob[13:29])
        return x, y, x, y
    geom = shapely.from_wkb(blob[_wkb_offset(blob) :])
    if geom.is_empty:
        return None
    b = geom.bounds
    return b[0], b[1], b[2], b[3]


def _st(index: int) -> Any:
    def fn(blob: bytes | None) -> float | None:
        b = _bounds(blob)
        return None if b is None else b[index]

    return fn


def register_functions(con: sqlite3.Connection) -> None:
    """Register the SQL functions the GeoPackage R-tree triggers call."""
    con.create_function("ST_IsEmpty", 1, lambda b: None if b is None else int(_bounds(b) is None), deterministic=True)
    con.create_function("ST_MinX", 1, _st(0), deterministic=True)
    con.create_function("ST_MinY", 1, _st(1), deterministic=True)
    con.create_function("ST_MaxX", 1, _st(2), deterministic=True)
    con.create_function("ST_MaxY", 1, _st(3), deterministic=True)
    con.create_function("SafeMap_IntersectsBox", 5, _intersects_box, deterministic=True)


def _intersects_box(blob: bytes | None, x0: float, y0: float, x1: float, y1: float) -> int:
    if blob is None:
        return 0
    if not (blob[3] >> 1) & 0b111:  # no envelope: a point, already matched by the R-tree
        return 1
    geom = decode_many([blob])[0]
    return int(shapely.intersects(geom, shapely.box(x0, y0, x1, y1)))


class GpkgGeometry(UserDefinedType):
    """Geometry column declared with its GeoPackage type name; values are shapely geometries."""

    cache_ok = True

    def __init__(self, type_name: str = "GEOMETRY") -> None:
        self.type_name = type_name

    def get_col_spec(self, **kw: Any) -> str:
        """Declared column type: the GeoPackage geometry type name."""
        return self.type_name

    def bind_processor(self, dialect: Any) -> Any:
        """Encode shapely geometries as GeoPackage blobs."""
        return encode

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        """Decode GeoPackage blobs to shapely geometries."""

        def process(value: bytes | None) -> BaseGeometry | None:
            return None if value is None else decode_many([value])[0]

        return process


class GpkgDateTime(UserDefinedType):
    """GeoPackage DATETIME: ISO 8601 text in UTC with milliseconds and a trailing Z."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        """Declared column type."""
        return "DATETIME"

    def bind_processor(self, dialect: Any) -> Any:
        """Aware datetimes to ISO 8601 UTC text with milliseconds."""

        def process(value: dt.datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime reached the store")
            utc = value.astimezone(dt.UTC)
            return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"

        return process

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        """ISO 8601 text to aware UTC datetimes."""
        return _parse_datetime


@functools.lru_cache(maxsize=8192)
def _parse_datetime(value: str | None) -> dt.datetime | None:
    # Cached: rows written together share their timestamp, and datetimes are immutable.
    if value is None:
        return None
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC)


def _create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist (it holds token hashes and all edits).

    SQLite takes an empty file for a new database and gives its ``-wal`` and ``-shm`` files
    the database file's mode, so they are 0600 too.
    """
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


class GeoPackageBackend:
    """The embedded store: a GeoPackage file opened through SQLAlchemy's sqlite driver."""

    name = "geopackage"

    def __init__(self, path: str | Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _create_private(self.path)
        self.engine: Engine = create_engine(f"sqlite:///{self.path}", future=True)
        self.types = ColumnTypes(
            geometry=lambda layer: GpkgGeometry(layer.storage_geometry),
            datetime=GpkgDateTime(),
            date=Date(),
            json=JSON(),
        )
        event.listen(self.engine, "connect", self._on_connect)
        event.listen(self.engine, "begin", self._on_begin)

    def _on_connect(self, dbapi_con: sqlite3.Connection, _record: Any) -> None:
        dbapi_con.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN itself
        register_functions(dbapi_con)
        cur = dbapi_con.cursor()
        # How long a writer waits for the write lock before giving up with StoreBusy (503).
        cur.execute(f"PRAGMA busy_timeout = {max(0, round(self.lock_timeout * 1000))}")
        if cur.execute("PRAGMA application_id").fetchone()[0] == 0:
            # Set the GeoPackage identity while still in rollback-journal mode: in WAL mode
            # the header would sit in the -wal file, where GDAL does not look for it.
            cur.execute("PRAGMA application_id = 1196444487")  # 'GPKG'
            cur.execute(f"PRAGMA user_version = {USER_VERSION}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA cache_size = -65536")  # 64 MiB: whole demo layers stay in memory
        cur.execute("PRAGMA mmap_size = 268435456")
        cur.close()

    @staticmethod
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock up front: a deferred transaction that reads and then
        # writes fails with SQLITE_BUSY_SNAPSHOT in WAL mode instead of waiting.
        mode = "IMMEDIATE" if conn.get_execution_options().get("write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (serialised among writers; readers continue).

        Raises :class:`~layers.errors.StoreBusy` when the write lock stays taken for
        longer than ``lock_timeout`` seconds.
        """
        try:
            with self.engine.connect().execution_options(write=True) as conn, conn.begin():
                yield conn
        except OperationalError as exc:
            busy = self.busy_error(exc)
            if busy is None:
                raise
            raise busy from exc

    def busy_error(self, exc: OperationalError) -> StoreBusy | None:
        """:class:`StoreBusy` for SQLite's "database is locked" (``SQLITE_BUSY``/``LOCKED``), else ``None``."""
        code = getattr(exc.orig, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return StoreBusy(retry_after=max(1, round(self.lock_timeout)))
        return None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction with a consistent snapshot."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def geom_value(self, geom: BaseGeometry) -> Any:
        """Bind value for the geometry column."""
        return geom

    def geom_select(self, column: ColumnElement) -> ColumnElement:
        """Expression selecting the raw geometry bytes (decoded in bulk by :meth:`decode`)."""
        return type_coerce(column, LargeBinary).label("geom_bytes")

    decode = staticmethod(decode_many)

    def bbox_clause(self, table: Table, bbox: tuple[float, float, float, float]) -> ColumnElement:
        """Features whose geometry intersects ``bbox``: R-tree envelope test, then the exact one."""
        rtree = f"rtree_{table.name}_geom"
        candidates = table.c.id.in_(
            text(
                f'SELECT id FROM "{rtree}" WHERE minx <= :bx1 AND maxx >= :bx0 AND miny <= :by1 AND maxy >= :by0'
            ).bindparams(bx0=bbox[0], by0=bbox[1], bx1=bbox[2], by1=bbox[3])
        )
        exact = func.SafeMap_IntersectsBox(table.c.geom, *bbox) == 1
        return and_(candidates, exact)

    def extent(self, conn: Connection, table: Table) -> tuple[float, float, float, float] | None:
        """Bounding box of a layer, read from its R-tree."""
        row = conn.exec_driver_sql(
            f'SELECT min(minx), min(miny), max(maxx), max(maxy) FROM "rtree_{table.name}_geom"'
        ).one()
        return None if row[0] is None else (row[0], row[1], row[2], row[3])

    def lock(self, stmt: Any) -> Any:
        """Row locking is implicit: a write transaction holds the database lock."""
        return stmt

    def insert_rows(self, conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
        """Insert rows with ids assigned here; return the ids in row order.

        The write transaction holds SQLite's write lock, so the next ids are known and
        one ``executemany`` replaces a RETURNING round trip per row.
        """
        seq = conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (table.name,)).scalar()
        top = conn.exec_driver_sql(f'SELECT max(id) FROM "{table.name}"').scalar()
        start = max(seq or 0, top or 0) + 1
        ids = list(range(start, start + len(rows)))
        conn.execute(insert(table), [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
        return ids

    def prepare(self, conn: Connection) -> None:
        """Create the GeoPackage core tables (the file identity is set on connect)."""
        for ddl in _CORE_DDL:
            conn.exec_driver_sql(ddl)
        conn.exec_driver_sql(
            "INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES "
            "('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', NULL),"
            "('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', NULL),"
            f"('WGS 84 geodetic', 4326, 'EPSG', 4326, '{WGS84_WKT}', 'longitude/latitude in degrees')"
        )

    def after_create(self, conn: Connection, schema: Schema, layers: tuple[Layer, ...]) -> None:
        """Register feature and attribute tables, R-trees and column titles."""
        for layer in layers:
            self.register_layer(conn, layer)
            for child in layer.children:
                conn.execute(
                    text(
                        "INSERT OR REPLACE INTO gpkg_contents (table_name, data_type, identifier, "
                        "description) VALUES (:t, 'attributes', :i, :d)"
                    ),
                    {
                        "t": child.table_name(layer.name),
                        "i": f"{layer.label}-{child.label}",
                        "d": f"{layer.label}的{child.label}（parent_id 对应 {layer.name}.id）",
                    },
                )
                gpkg_meta.write_titles(conn, child.table_name(layer.name), child.fields)
        gpkg_meta.write_styles(conn, layers)

    def register_layer(self, conn: Connection, layer: Layer) -> None:
        """Make ``layer``'s table a GeoPackage feature table with an R-tree index."""
        t = layer.name
        if not layer.is_spatial:
            conn.execute(
                text(
                    "INSERT OR REPLACE INTO gpkg_contents (table_name, data_type, identifier, description) "
                    "VALUES (:t, 'attributes', :i, :d)"
                ),
                {"t": t, "i": layer.label, "d": layer.description or layer.label},
            )
            gpkg_meta.write_titles(conn, t, layer.fields)
            return
        conn.execute(
            text(
                "INSERT OR REPLACE INTO gpkg_contents (table_name, data_type, identifier, "
                "description, srs_id) VALUES (:t, 'features', :i, :d, 4326)"
            ),
            {"t": t, "i": layer.label, "d": layer.description or layer.label},
        )
        conn.execute(
            text("INSERT OR REPLACE INTO gpkg_geometry_columns VALUES (:t, 'geom', :g, 4326, 0, 0)"),
            {"t": t, "g": layer.storage_geometry},
        )
        gpkg_meta.add_extension(
            conn, t, "geom", "gpkg_rtree_index", "http://www.geopackage.org/spec/#extension_rtree", "write-only"
        )
        for ddl in _rtree_ddl(t):
            conn.exec_driver_sql(ddl)
        conn.exec_driver_sql(
            f'INSERT OR REPLACE INTO "rtree_{t}_geom" SELECT id, ST_MinX(geom), ST_MaxX(geom), '
            f'ST_MinY(geom), ST_MaxY(geom) FROM "{t}" WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom)'
        )
        gpkg_meta.write_titles(conn, t, layer.fields)

    def after_open(self, conn: Connection, layers: Sequence[Layer]) -> None:
        """Keep the QGIS-facing tables of an existing store current (:func:`layers.gpkg_meta.refresh`)."""
        gpkg_meta.refresh(conn, layers, self.table_names(conn), USER_VERSION)

    def table_names(self, conn: Connection) -> set[str]:
        """Names of the tables that exist in the file."""
        rows = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {r[0] for r in rows}

    def column_names(self, conn: Connection, table: str) -> set[str]:
        """Names of the columns of ``table``."""
        return {r[1] for r in conn.exec_driver_sql(f'PRAGMA table_info("{table}")')}

    def dispose(self) -> None:
        """Checkpoint the write-ahead log into the file and close all connections."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        self.engine.dispose()

    def describe(self) -> str:
        """Human-readable location of the store (for logs and /healthz)."""
        return f"GeoPackage {self.path.name}"


_CORE_DDL = (
    "CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL "
    "PRIMARY KEY, organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, "
    "definition TEXT NOT NULL, description TEXT)",
    "CREATE TABLE IF NOT EXISTS gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT "
    "NOT NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '', last_change DATETIME NOT NULL "
    "DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, "
    "max_y DOUBLE, srs_id INTEGER, CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES "
    "gpkg_spatial_ref_sys(srs_id))",
    "CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT "
    "NULL, geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT "
    "NOT NULL, CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name), CONSTRAINT "
    "uk_gc_table_name UNIQUE (table_name), CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES "
    "gpkg_contents(table_name), CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES "
    "gpkg_spatial_ref_sys (srs_id))",
    "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, extension_name "
    "TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE "
    "(table_name, column_name, extension_name))",
    "CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, column_name TEXT NOT "
    "NULL, name TEXT, title TEXT, description TEXT, mime_type TEXT, constraint_name TEXT, "
    "CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name), CONSTRAINT gdc_tn UNIQUE "
    "(table_name, name))",
)


def _rtree_ddl(t: str) -> list[str]:
    r = f'"rtree_{t}_geom"'
    ins = (
        f"INSERT OR REPLACE INTO {r} VALUES (NEW.id, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), "
        "ST_MinY(NEW.geom), ST_MaxY(NEW.geom));"
    )
    new_ok = "(NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))"
    old_ok = "(OLD.geom NOTNULL AND NOT ST_IsEmpty(OLD.geom))"
    new_no = "(NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))"
    old_no = "(OLD.geom ISNULL OR ST_IsEmpty(OLD.geom))"
    trig = f'"rtree_{t}_geom'
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {r} USING rtree(id, minx, maxx, miny, maxy)",
        f'CREATE TRIGGER IF NOT EXISTS {trig}_insert" AFTER INSERT ON "{t}" WHEN {new_ok} BEGIN {ins} END',
        f'CREATE TRIGGER IF NOT EXISTS {trig}_update6" AFTER UPDATE OF geom ON "{t}" WHEN '
        f"OLD.id = NEW.id AND {new_ok} AND {old_ok} BEGIN UPDATE {r} SET minx = ST_MinX(NEW.geom), "
        "maxx = ST_MaxX(NEW.geom), miny = ST_MinY(NEW.geom), maxy = ST_MaxY(NEW.geom) "
        "WHERE id = NEW.id; END",
        f'CREATE TRIGGER IF NOT EXISTS {trig}_update7" AFTER UPDATE OF geom ON "{t}" WHEN '
        f"OLD.id = NEW.id AND {new_ok} AND {old_no} BEGIN {ins} END",
        f'CREATE TRIGGER IF NOT EXISTS {trig}_update2" AFTER UPDATE OF geom ON "{t}" WHEN '
        f"OLD.id = NEW.id AND {new_no} BEGIN DELETE FROM {r} WHERE id = OLD.id; END",
        f'CREATE TRIGGER IF NOT EXISTS {trig}_update5" AFTER UPDATE ON "{t}" WHEN '
        f"OLD.id != NEW.id AND {new_ok} BEGIN DELETE FROM {r} WHERE id = OLD.id; {ins} END",
        f'CREATE TRIGGER IF NOT EXISTS {trig}_update4" AFTER UPDATE ON "{t}" WHEN '
        f"OLD.id != NEW.id AND {new_no} BEGIN DELETE FROM {r} WHERE id IN (OLD.id, NEW.id); END",
        f'CREATE TRIGGER IF NOT EXISTS {trig}_delete" AFTER DELETE ON "{t}" WHEN OLD.geom NOT NULL '
        f"BEGIN DELETE FROM {r} WHERE id = OLD.id; END",
    ]
