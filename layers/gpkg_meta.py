"""The GeoPackage's own metadata that GDAL and QGIS read: extensions, column titles, styles.

* ``gpkg_extensions``: one row per (table, column, extension) — SQLite's UNIQUE does not
  catch repeated rows whose ``column_name`` is NULL, so rows are added only when missing and
  repeated ones left by older versions are removed.
* ``gpkg_data_columns``: each column's Chinese label (with unit) in ``name`` — GDAL ≥ 3.7
  reads it as the field's alternative name (OSGeo/gdal#7579) — and ``title``, its help text in
  ``description``. GDAL 3.6 reads no alias from a GeoPackage; QGIS 3.22 on it takes the
  aliases from the default style (:mod:`layers.gpkg_styles`).
* :func:`refresh` brings a store made by an older SafeMap up to date on every open.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.engine import Connection

from safemap.layers.catalogue import Field, Layer
from safemap.layers.gpkg_styles import write_styles

__all__ = ["add_extension", "dedupe_extensions", "refresh", "write_styles", "write_titles"]


def add_extension(conn: Connection, table: str, column: str | None, name: str, definition: str, scope: str) -> None:
    """Register extension ``name`` on ``table.column`` unless it is (NULL-safe: ``IS``, not ``=``)."""
    conn.execute(
        text(
            "INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope) "
            "SELECT :t, :c, :n, :d, :s WHERE NOT EXISTS (SELECT 1 FROM gpkg_extensions WHERE "
            "table_name IS :t AND column_name IS :c AND extension_name = :n)"
        ),
        {"t": table, "c": column, "n": name, "d": definition, "s": scope},
    )


def dedupe_extensions(conn: Connection) -> int:
    """Delete repeated ``gpkg_extensions`` rows (same table, column, extension); return how many."""
    result = conn.exec_driver_sql(
        "DELETE FROM gpkg_extensions WHERE rowid NOT IN (SELECT min(rowid) FROM gpkg_extensions "
        "GROUP BY table_name, column_name, extension_name)"
    )
    return int(result.rowcount or 0)


def write_titles(conn: Connection, table: str, fields: Sequence[Field]) -> None:
    """Chinese labels of ``table``'s columns: ``name`` (GDAL ≥ 3.7's alias) and ``title``, with descriptions."""
    add_extension(
        conn,
        "gpkg_data_columns",
        None,
        "gpkg_schema",
        "http://www.geopackage.org/spec/#extension_schema",
        "read-write",
    )
    for f in fields:
        conn.execute(
            text(
                "INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, "
                "title, description) VALUES (:t, :c, :n, :title, :d)"
            ),
            {"t": table, "c": f.name, "n": f.display_label, "title": f.display_label, "d": f.description or None},
        )


def refresh(conn: Connection, layers: Sequence[Layer], existing: set[str], user_version: int) -> None:
    """Bring an existing store's QGIS-facing tables up to date (idempotent; every open).

    File identity ``user_version``, no duplicate ``gpkg_extensions`` rows, Chinese column
    names, and SafeMap's default style per table in ``layer_styles``.
    """
    if conn.exec_driver_sql("PRAGMA user_version").scalar() != user_version:
        conn.exec_driver_sql(f"PRAGMA user_version = {user_version}")
    dedupe_extensions(conn)
    for layer in layers:
        if layer.name in existing:
            write_titles(conn, layer.name, layer.fields)
        for child in layer.children:
            if child.table_name(layer.name) in existing:
                write_titles(conn, child.table_name(layer.name), child.fields)
    write_styles(conn, [layer for layer in layers if layer.name in existing])
