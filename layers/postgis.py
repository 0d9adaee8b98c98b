"""PostGIS backend: the production store for many users, selected by ``SAFEMAP_DATABASE_URL``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
import shapely
from geoalchemy2 import Geometry
from geoalchemy2.shape import from_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Date, DateTime, Table, create_engine, func, insert, inspect, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import LargeBinary

from safemap.layers.catalogue import Layer
from safemap.layers.errors import Forbidden, StoreBusy, StoreUnavailable
from safemap.layers.tables import ColumnTypes, Schema

SRID = 4326
DEFAULT_LOCK_TIMEOUT = 5.0
"""Seconds a write waits for a row lock before :class:`~layers.errors.StoreBusy` (``lock_timeout``)."""

#: SQLSTATEs of a lock wait given up: lock_not_available (lock_timeout), deadlock_detected.
_BUSY_STATES = ("55P03", "40P01")

#: SQLSTATEs of a server going away or refusing writes: admin_shutdown, crash_shutdown,
#: cannot_connect_now (starting up, or a standby being promoted), read_only_sql_transaction (a
#: demoted primary still answering). Class 08 (connection exceptions) counts too.
_UNAVAILABLE_STATES = ("57P01", "57P02", "57P03", "25006")

#: SQLSTATE insufficient_privilege: raised by a hub's read-only trigger (and by a role without the right).
_REFUSED_STATE = "42501"

UNAVAILABLE_RETRY_S = 2
"""Seconds a client waits before retrying when the server is gone (a failover takes a few seconds)."""


def _is_unavailable(exc: DBAPIError, *, writing: bool) -> bool:
    """Whether ``exc`` means the server went away or refuses writes, not that the statement was wrong.

    ``read_only_sql_transaction`` counts only in a write transaction: in a read-only one it is
    a statement that should not have written.
    """
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is None:
        # psycopg raises OperationalError without a SQLSTATE when it cannot connect at all (refused,
        # timed out, no host accepting writes) or the connection broke mid-statement.
        return isinstance(exc.orig, psycopg.OperationalError)
    if sqlstate == "25006":
        return writing
    return str(sqlstate).startswith("08") or sqlstate in _UNAVAILABLE_STATES


class PostGISBackend:
    """A PostgreSQL database with PostGIS, reached through psycopg 3."""

    name = "postgis"

    def __init__(self, url: str, *, pool_size: int = 10, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.lock_timeout = lock_timeout
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        self.url = url
        self.engine: Engine = create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True, future=True)
        self.types = ColumnTypes(
            geometry=lambda layer: Geometry(geometry_type=layer.storage_geometry, srid=SRID, spatial_index=True),
            datetime=DateTime(timezone=True),
            date=Date(),
            json=JSONB(),
        )

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (rows are locked with SELECT … FOR UPDATE where read).

        A lock wait longer than ``lock_timeout`` seconds (``SET LOCAL lock_timeout``) or a
        deadlock raises :class:`~layers.errors.StoreBusy`; nothing of the transaction is kept.
        """
        try:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{max(1, round(self.lock_timeout * 1000))}ms'")
                yield conn
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) in _BUSY_STATES:
                raise StoreBusy(retry_after=max(1, round(self.lock_timeout))) from exc
            if getattr(exc.orig, "sqlstate", None) == _REFUSED_STATE:
                # A prefecture's or region's copy refuses local edits (layers.replication): say so, 403.
                diag = getattr(exc.orig, "diag", None)
                raise Forbidden(getattr(diag, "message_primary", None) or "此数据库不允许修改") from exc
            self._raise_if_unavailable(exc, writing=True)
            raise

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction with a consistent snapshot.

        A server gone away raises :class:`~layers.errors.StoreUnavailable`, as in :meth:`write`.
        """
        try:
            with (
                self.engine.connect().execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                ) as conn,
                conn.begin(),
            ):
                yield conn
        except DBAPIError as exc:
            self._raise_if_unavailable(exc, writing=False)
            raise

    def _raise_if_unavailable(self, exc: DBAPIError, *, writing: bool) -> None:
        """Raise :class:`StoreUnavailable` (after emptying the pool) if ``exc`` means the server is gone.

        A connection refused or lost, a server shutting down or starting up, or one that no
        longer accepts writes (a demoted primary) all look alike to a client: the pooled
        connections lead to a server that is not the primary any more. Emptying the pool makes
        the next request connect afresh through the URL's hosts; with
        ``target_session_attrs=read-write`` libpq picks the one that accepts writes — the
        promoted standby after a failover. The failed transaction was not committed (a write
        counts only once COMMIT returned), so the client retries it.
        """
        if not _is_unavailable(exc, writing=writing):
            return
        self.engine.dispose()
        raise StoreUnavailable(retry_after=UNAVAILABLE_RETRY_S) from exc

    def geom_value(self, geom: BaseGeometry) -> Any:
        """Bind value for the geometry column (EWKB with SRID 4326)."""
        return from_shape(geom, srid=SRID)

    def geom_select(self, column: ColumnElement) -> ColumnElement:
        """Expression selecting the geometry as WKB bytes."""
        return type_coerce(func.ST_AsBinary(column), LargeBinary).label("geom_bytes")

    @staticmethod
    def decode(blobs: Sequence[bytes | None]) -> np.ndarray:
        """Decode WKB bytes to shapely geometries."""
        return shapely.from_wkb(np.array([bytes(b) if b is not None else None for b in blobs], dtype=object))

    def bbox_clause(self, table: Table, bbox: tuple[float, float, float, float]) -> ColumnElement:
        """Features intersecting ``bbox`` (lon/lat); ST_Intersects uses the GIST index."""
        env = func.ST_MakeEnvelope(bbox[0], bbox[1], bbox[2], bbox[3], SRID)
        return func.ST_Intersects(table.c.geom, env)

    def extent(self, conn: Connection, table: Table) -> tuple[float, float, float, float] | None:
        """Bounding box of a layer (``ST_Extent``)."""
        box = func.ST_Extent(table.c.geom)
        row = conn.execute(select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))).one()
        return None if row[0] is None else (row[0], row[1], row[2], row[3])

    def lock(self, stmt: Any) -> Any:
        """Lock the selected rows until the transaction ends.

        ``FOR NO KEY UPDATE``: writers of the same row wait for each other, but rows being
        inserted elsewhere that refer to it (an import's foreign keys take ``FOR KEY SHARE``)
        do not block an edit of it.
        """
        return stmt.with_for_update(key_share=True)

    def insert_rows(self, conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
        """Insert rows in batches (multi-row VALUES); return the new ids in row order."""
        ids: list[int] = []
        for start in range(0, len(rows), 2000):
            chunk = rows[start : start + 2000]
            stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            ids.extend(conn.execute(stmt, chunk).scalars().all())
        return ids

    def prepare(self, conn: Connection) -> None:
        """Make sure PostGIS is enabled in the database."""
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")

    def after_create(self, conn: Connection, schema: Schema, layers: tuple[Layer, ...] = ()) -> None:
        """Nothing to register: GeoAlchemy2 created the GIST indexes with the tables."""

    def register_layer(self, conn: Connection, layer: Layer) -> None:
        """Nothing to register for a new layer table in PostGIS."""

    def after_open(self, conn: Connection, layers: Sequence[Layer]) -> None:
        """Nothing to keep current: PostGIS has no file-level metadata for clients."""

    def table_names(self, conn: Connection) -> set[str]:
        """Names of the tables in the current schema."""
        return set(inspect(conn).get_table_names())

    def column_names(self, conn: Connection, table: str) -> set[str]:
        """Names of the columns of ``table``."""
        return {c["name"] for c in inspect(conn).get_columns(table)}

    def dispose(self) -> None:
        """Close all pooled connections."""
        self.engine.dispose()

    def describe(self) -> str:
        """Human-readable location of the store, without credentials."""
        return f"PostGIS {self.engine.url.render_as_string(hide_password=True)}"
