"""The audit log and the generation counter, written inside the caller's transaction.

Every write is audited: one row per changed feature with who, when, the action and the
feature before and after (GeoJSON-like, geometry as a mapping). The generation counter
in ``safemap_meta`` changes with every write, so caches and live map updates know when
to refresh. :class:`~layers.transaction.Transaction` calls these functions; nothing
else writes these tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Integer, Text, cast, insert, select, update
from sqlalchemy.engine import Connection

from safemap.layers.model import Actor, AuditEntry, utc_now
from safemap.layers.tables import Schema


def record_audit(
    conn: Connection,
    schema: Schema,
    actor: Actor,
    action: str,
    layer_name: str,
    entries: Sequence[AuditEntry],
    note: str | None,
) -> None:
    """Write one audit row per entry (feature id, before, after) inside ``conn``'s transaction."""
    now = utc_now()
    rows = [
        {
            "at": now,
            "actor": actor.name,
            "role": actor.role,
            "action": action,
            "layer": layer_name,
            "feature_id": fid,
            "before": jsonable(before),
            "after": jsonable(after),
            "note": note,
        }
        for fid, before, after in entries
    ]
    conn.execute(insert(schema.audit), rows)


def bump_generation(conn: Connection, schema: Schema) -> None:
    """Mark the data as changed (map caches, live updates) inside a write transaction."""
    meta = schema.meta
    updated = conn.execute(
        update(meta).where(meta.c.key == "generation").values(value=cast(cast(meta.c.value, Integer) + 1, Text))
    )
    if updated.rowcount == 0:
        conn.execute(insert(meta).values(key="generation", value="1"))


def generation(conn: Connection, schema: Schema) -> int:
    """The current generation (0 before the first write)."""
    meta = schema.meta
    row = conn.execute(select(meta.c.value).where(meta.c.key == "generation")).first()
    return int(row[0]) if row else 0


def audit_entries(
    conn: Connection,
    schema: Schema,
    *,
    layer: str | None,
    feature_id: int | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """Audit rows, newest first, optionally of one layer and/or one feature."""
    a = schema.audit
    stmt = select(a).order_by(a.c.id.desc()).limit(limit).offset(offset)
    if layer is not None:
        stmt = stmt.where(a.c.layer == layer)
    if feature_id is not None:
        stmt = stmt.where(a.c.feature_id == feature_id)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def last_writer(conn: Connection, schema: Schema, layer_name: str, feature_id: int, tz: dt.tzinfo) -> str:
    """Who last wrote a feature and when, as "（最后由 … 于 … 修改）"; ``""`` if unknown."""
    a = schema.audit
    row = conn.execute(
        select(a.c.actor, a.c.at)
        .where(a.c.layer == layer_name, a.c.feature_id == feature_id)
        .order_by(a.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return ""
    when = row[1].astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    return f"（最后由 {row[0]} 于 {when} 修改）"


def jsonable(feature: Mapping[str, Any] | None) -> Any:
    """A feature as plain JSON values (geometries as GeoJSON mappings, times as ISO text)."""
    if feature is None:
        return None
    return orjson.loads(orjson.dumps(feature, default=_default))


def _default(value: Any) -> Any:
    if isinstance(value, BaseGeometry):
        return shapely.geometry.mapping(value)
    raise TypeError(type(value).__name__)
