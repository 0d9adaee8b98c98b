"""Bulk inserts into a GeoPackage that hold the write lock briefly: stage first, then copy.

SQLite lets one writer at a time in. An import that bound, encoded, read back and
audited 200,000 rows inside its write transaction held the lock for over a minute, and
every edit meanwhile waited and failed. :func:`insert_staged` does that slow work in
TEMP tables of its own connection — binding values, encoding geometries, reading the
features back as the audit log records them, serialising them to JSON — which takes no
lock on the store: SQLite's temp database is private to the connection, and its file is
deleted by the operating system even when the process is killed. Then one short
``BEGIN IMMEDIATE`` transaction copies the staged rows with ``INSERT … SELECT``
statements: the import stays all or nothing, and a ``kill -9`` at any point leaves all
of the rows or none.

Ids are guessed while staging (the next free ones then). When other writers took ids
meanwhile, the copy shifts the staged ids, and those in the audit log's JSON, by the
difference.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy import Column, MetaData, Table
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from safemap.layers import audit
from safemap.layers.catalogue import Layer
from safemap.layers.geopackage import GeoPackageBackend
from safemap.layers.model import Actor, AuditEntry
from safemap.layers.tables import Schema
from safemap.layers.transaction import Transaction
from safemap.layers.validation import CleanFeature

RTREE_STAGE = "safemap_stage_rtree"
COPY_ATTEMPTS = 5
"""Times the copy waits ``lock_timeout`` for the write lock before the import gives up (StoreBusy)."""


def insert_staged(
    backend: GeoPackageBackend,
    schema: Schema,
    layers: Mapping[str, Layer],
    tz: dt.tzinfo,
    layer: Layer,
    features: Sequence[CleanFeature],
    actor: Actor,
    *,
    action: str,
    note: str | None,
    audit_each: bool,
    now: dt.datetime,
) -> list[int]:
    """Insert validated features as :meth:`FeatureStore.insert_clean` does, holding the lock briefly.

    Same result, audit rows and generation bump as the one-transaction insert; the
    write lock is held only for the final copy (see the module docstring).
    """
    stage = _stage_schema(schema, layer)
    target = schema.layers[layer.name]
    conn = backend.engine.connect()
    try:
        # 1. Stage, outside the write lock: a deferred transaction that writes only the temp database.
        with conn.begin():
            for t in _stage_tables(stage, layer):
                conn.exec_driver_sql(f'DROP TABLE IF EXISTS temp."{t.name}"')
                t.create(conn)
            guess = _next_id(conn, target.name)
            staged = Transaction(conn, backend=backend, schema=stage, layers=layers, tz=tz)
            ids = staged.insert(layer, features, actor, now=now, ids=range(guess, guess + len(features)))
            entries: list[AuditEntry] = [(None, None, None)]
            if audit_each:
                afters = staged.fetch_many(layer, ids)
                entries = [(fid, None, afters[fid]) for fid in ids]
            audit.record_audit(conn, stage, actor, action, layer.name, entries, note)
            if layer.is_spatial:
                _stage_rtree(conn, stage.layers[layer.name])
        # 2. Copy, under the write lock: INSERT … SELECT only.
        conn.execution_options(write=True)
        for attempt in range(COPY_ATTEMPTS):
            try:
                with conn.begin():
                    return _copy(conn, backend, schema, stage, layers, tz, layer, features, guess)
            except OperationalError as exc:
                busy = backend.busy_error(exc)
                if busy is None:
                    raise
                if attempt == COPY_ATTEMPTS - 1:
                    raise busy from exc
        raise AssertionError("unreachable")
    finally:
        # Closing the SQLite connection deletes its temp database (the staged rows).
        conn.invalidate()
        conn.close()


def _copy(
    conn: Connection,
    backend: GeoPackageBackend,
    schema: Schema,
    stage: Schema,
    layers: Mapping[str, Layer],
    tz: dt.tzinfo,
    layer: Layer,
    features: Sequence[CleanFeature],
    guess: int,
) -> list[int]:
    tx = Transaction(conn, backend=backend, schema=schema, layers=layers, tz=tz)
    tx.check_references(layer, [f.properties for f in features])
    target = schema.layers[layer.name]
    shift = _next_id(conn, target.name) - guess
    trigger = _rtree_insert_trigger(conn, target.name) if layer.is_spatial else None
    if trigger is None:
        _insert_select(conn, target, stage.layers[layer.name], shift, shifted="id")
    else:
        # The R-tree trigger calls Python per row: index the staged envelopes instead,
        # with the trigger dropped and recreated inside this transaction.
        name, sql = trigger
        conn.exec_driver_sql(f"DROP TRIGGER main.{_q(name)}")
        _insert_select(conn, target, stage.layers[layer.name], shift, shifted="id")
        conn.exec_driver_sql(
            f"INSERT OR REPLACE INTO main.{_q(f'rtree_{target.name}_geom')} "
            f"SELECT id + {shift}, minx, maxx, miny, maxy FROM temp.{RTREE_STAGE} ORDER BY id"
        )
        conn.exec_driver_sql(sql)
    for child in layer.children:
        key = (layer.name, child.name)
        _insert_select(conn, schema.children[key], stage.children[key], shift, shifted="parent_id", skip="id")
    a = schema.audit
    cols = [c.name for c in a.columns if c.name != "id"]
    values = [_q(c) for c in cols]
    values[cols.index("feature_id")] = "feature_id + :shift"
    values[cols.index("after")] = (
        "CASE WHEN :shift = 0 OR after IS NULL THEN after ELSE "
        "json_set(after, '$.id', feature_id + :shift, '$.properties.id', feature_id + :shift) END"
    )
    conn.exec_driver_sql(
        f"INSERT INTO main.{_q(a.name)} ({', '.join(map(_q, cols))}) "
        f"SELECT {', '.join(values)} FROM temp.{_q(stage.audit.name)} ORDER BY id".replace(":shift", str(shift))
    )
    audit.bump_generation(conn, schema)
    return [guess + shift + i for i in range(len(features))]


def _insert_select(conn: Connection, target: Table, staged: Table, shift: int, *, shifted: str, skip: str = "") -> None:
    cols = [c.name for c in target.columns if c.name != skip]
    values = [f"{_q(c)} + {shift}" if c == shifted else _q(c) for c in cols]
    names, selected = ", ".join(map(_q, cols)), ", ".join(values)
    conn.exec_driver_sql(
        f"INSERT INTO main.{_q(target.name)} ({names}) SELECT {selected} FROM temp.{_q(staged.name)} ORDER BY id"
    )


def _stage_rtree(conn: Connection, staged: Table) -> None:
    """The R-tree entries of the staged rows, as the GeoPackage insert trigger would make them."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{RTREE_STAGE}")
    conn.exec_driver_sql(f"CREATE TEMP TABLE {RTREE_STAGE} (id INTEGER PRIMARY KEY, minx, maxx, miny, maxy)")
    conn.exec_driver_sql(
        f"INSERT INTO temp.{RTREE_STAGE} SELECT id, ST_MinX(geom), ST_MaxX(geom), ST_MinY(geom), ST_MaxY(geom) "
        f"FROM temp.{_q(staged.name)} WHERE geom NOTNULL AND NOT ST_IsEmpty(geom)"
    )


def _rtree_insert_trigger(conn: Connection, table: str) -> tuple[str, str] | None:
    """Name and SQL of the GeoPackage R-tree insert trigger of ``table`` (``None`` if it has none)."""
    name = f"rtree_{table}_geom_insert"
    sql = conn.exec_driver_sql(
        "SELECT sql FROM main.sqlite_master WHERE type = 'trigger' AND name = ? AND tbl_name = ?", (name, table)
    ).scalar()
    return None if sql is None else (name, str(sql))


def _next_id(conn: Connection, table: str) -> int:
    seq = conn.exec_driver_sql("SELECT seq FROM main.sqlite_sequence WHERE name = ?", (table,)).scalar()
    top = conn.exec_driver_sql(f"SELECT max(id) FROM main.{_q(table)}").scalar()
    return int(max(seq or 0, top or 0)) + 1


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _temp_copy(table: Table, md: MetaData) -> Table:
    """An empty TEMP table with ``table``'s columns, types and defaults (no constraints, no triggers)."""
    cols = [Column(c.name, c.type, primary_key=c.primary_key, server_default=c.server_default) for c in table.columns]
    return Table(f"safemap_stage_{table.name}", md, *cols, prefixes=["TEMPORARY"])


def _stage_schema(schema: Schema, layer: Layer) -> Schema:
    """``schema`` with ``layer``'s table, its child tables and the audit log replaced by TEMP copies."""
    md = MetaData()
    children = {(layer.name, c.name): _temp_copy(schema.children[(layer.name, c.name)], md) for c in layer.children}
    return dataclasses.replace(
        schema,
        metadata=md,
        layers={layer.name: _temp_copy(schema.layers[layer.name], md)},
        children=children,
        audit=_temp_copy(schema.audit, md),
    )


def _stage_tables(stage: Schema, layer: Layer) -> list[Table]:
    return [*stage.layers.values(), *stage.children.values(), stage.audit]


__all__ = ["COPY_ATTEMPTS", "insert_staged"]
