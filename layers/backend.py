"""What a storage backend provides to the feature store: the :class:`Backend` protocol.

:class:`~layers.postgis.PostGISBackend` and :class:`~layers.geopackage.GeoPackageBackend`
implement it (checked by mypy: :mod:`layers.store` types its backend as
:class:`Backend`). The store itself speaks SQLAlchemy Core; a backend supplies what
differs between the two databases: transactions and their locking, the column types,
geometry encoding, the spatial-index filter and schema creation.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Table
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from safemap.layers.catalogue import Layer
from safemap.layers.model import BBox
from safemap.layers.tables import ColumnTypes, Schema


class Backend(Protocol):
    """A database the feature store can live in."""

    name: str
    """``postgis`` or ``geopackage`` (the store's :attr:`~layers.store.FeatureStore.kind`)."""
    types: ColumnTypes
    """Column types of this database (geometry, datetime, date, JSON)."""
    engine: Engine
    """The SQLAlchemy engine (tests hook its events)."""

    # ------------------------------------------------------------------ transactions
    def write(self) -> AbstractContextManager[Connection]:
        """A write transaction; rows read through :meth:`lock` stay locked until it ends.

        PostGIS locks rows (``SELECT … FOR UPDATE``); GeoPackage takes the database
        write lock up front (``BEGIN IMMEDIATE``), so writers are serialised.
        """
        ...

    def read(self) -> AbstractContextManager[Connection]:
        """A read-only transaction with a consistent snapshot."""
        ...

    def lock(self, stmt: Any) -> Any:
        """``stmt`` (a SELECT) made to lock the rows it reads until the transaction ends."""
        ...

    # ------------------------------------------------------------------ geometry
    def geom_value(self, geom: BaseGeometry) -> Any:
        """Bind value for the geometry column."""
        ...

    def geom_select(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """Expression selecting the geometry column as bytes (decoded by :meth:`decode`)."""
        ...

    def decode(self, blobs: Sequence[bytes | None]) -> np.ndarray:
        """Decode the selected geometry bytes to an array of shapely geometries."""
        ...

    def bbox_clause(self, table: Table, bbox: BBox) -> ColumnElement[Any]:
        """Condition: the feature's geometry intersects ``bbox`` (lon/lat), using the spatial index."""
        ...

    def extent(self, conn: Connection, table: Table) -> BBox | None:
        """Bounding box of a layer's geometries, ``None`` when it has none."""
        ...

    # ------------------------------------------------------------------ rows
    def insert_rows(self, conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
        """Insert rows; return the new ids in row order."""
        ...

    # ------------------------------------------------------------------ schema
    def prepare(self, conn: Connection) -> None:
        """Make the database ready for SafeMap's tables (extension, core tables)."""
        ...

    def after_create(self, conn: Connection, schema: Schema, layers: tuple[Layer, ...]) -> None:
        """Register newly created tables where the format asks for it."""
        ...

    def register_layer(self, conn: Connection, layer: Layer) -> None:
        """Register a layer table created after the store (a new catalogue entry)."""
        ...

    def after_open(self, conn: Connection, layers: Sequence[Layer]) -> None:
        """Keep format-specific metadata of an existing store current (every open; idempotent)."""
        ...

    def table_names(self, conn: Connection) -> set[str]:
        """Names of the tables that exist."""
        ...

    def column_names(self, conn: Connection, table: str) -> set[str]:
        """Names of the columns of ``table``."""
        ...

    # ------------------------------------------------------------------ lifetime
    def dispose(self) -> None:
        """Close all connections."""
        ...

    def describe(self) -> str:
        """Human-readable location of the store, without credentials."""
        ...
