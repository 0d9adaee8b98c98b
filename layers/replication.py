"""Reporting upward: PostgreSQL logical replication from counties to the prefecture and on to the region.

Built on PostgreSQL's own ``CREATE PUBLICATION`` / ``CREATE SUBSCRIPTION`` (PostgreSQL 15:
row filters on publications) — no home-made sync. Three roles:

* a **county** publishes every feature table (layers and their child tables) as
  ``safemap_<county code>``, each table filtered to its own rows
  (``WHERE (county_code = '654225')``); its tables also refuse rows of another county
  (``CHECK``), so a county can only ever send its own rows and two counties can never
  write the same row;
* a **hub** (the prefecture, or the region) subscribes to its counties' publications. Its
  copy of each table is keyed by (``county_code``, ``id``), so ids that repeat between
  counties never collide; a trigger refuses every write that does not come from replication
  (the apply worker runs with ``session_replication_role = replica``, where ordinary
  triggers do not fire), so the hub stays a faithful copy; it publishes its rows on to the
  region as ``safemap_<hub code>`` (rows applied by a subscription are published again);
* a heartbeat row per county (:data:`HEARTBEAT_TABLE`: time, schema version) travels with the
  data, so the hub sees how far behind each county is even when nobody edits.

Schema changes travel through the migrations in order: upgrade the hub first (open it with
the new program, then :func:`prepare_hub` again for new tables), then the counties
(:func:`prepare_county` again, then :func:`subscribe` again, which refreshes the
subscription). A county ahead of its hub is shown as such in the status (its changes wait
in its replication slot until the hub is upgraded; nothing is lost).

Needs ``wal_level = logical`` on publishers and a role with ``REPLICATION`` for subscribers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from safemap.layers.counties import normalise_code
from safemap.layers.errors import LayerError
from safemap.layers.tables import Schema

HEARTBEAT_TABLE = "safemap_replication_heartbeat"
"""One row per county: when it last wrote its heartbeat and at which schema version."""

_HUB_GUARD = "safemap_hub_read_only"


class ReplicationError(LayerError):
    """Replication cannot be set up as asked (the message is one Chinese line)."""

    status = 409


def publication_name(code: str) -> str:
    """The publication of a county (or hub) with 行政区划代码 ``code``."""
    return f"safemap_{normalise_code(code)}"


def subscription_name(code: str) -> str:
    """The hub's subscription to the county ``code``."""
    return f"safemap_from_{normalise_code(code)}"


def replicated_tables(schema: Schema) -> list[str]:
    """The tables that travel upward: every layer and child table of county data.

    Not sent: the reference tables seeded from ``data/`` (separation rules, material weights …:
    every server has its own copy, and the hub's analyses use the hub's), accounts and sessions
    (each server's own), the audit log (stays where the write was made), sensor readings and
    vehicle tracks (stay in the county; their current state travels as layers).
    """
    county_layers = [layer for layer in schema.catalogue if layer.seed is None]
    names = [layer.name for layer in county_layers]
    names += [schema.children[(layer.name, c.name)].name for layer in county_layers for c in layer.children]
    return sorted(names)


def _q(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ReplicationError(f"表名不合法：{name}")
    return f'"{name}"'


def _autocommit(engine: Engine) -> Connection:
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def require_logical(conn: Connection) -> None:
    """Refuse when the server cannot publish (``wal_level`` is not ``logical``)."""
    level = conn.execute(text("SHOW wal_level")).scalar()
    if level != "logical":
        raise ReplicationError(
            f"此数据库 wal_level = {level}，不能发布逻辑复制；请在 postgresql.conf 设置 wal_level = logical 并重启"
        )


def _ensure_heartbeat(conn: Connection) -> None:
    conn.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {HEARTBEAT_TABLE} (county_code varchar(6) PRIMARY KEY, "
            "beat_at timestamptz NOT NULL, schema_version integer NOT NULL, seq bigint NOT NULL DEFAULT 0)"
        )
    )


def _constraint_exists(conn: Connection, table: str, name: str) -> bool:
    return bool(
        conn.execute(
            text("SELECT 1 FROM pg_constraint WHERE conname = :n AND conrelid = to_regclass(:t)"),
            {"n": name, "t": f"public.{table}"},
        ).first()
    )


def prepare_county(engine: Engine, schema: Schema) -> list[str]:
    """Publish this county's rows: identity (county_code, id), the own-rows CHECK, the publication.

    Idempotent: run again after a migration to publish new tables. Returns the tables published.
    """
    code = normalise_code(schema.county_code)
    tables = replicated_tables(schema)
    with engine.begin() as conn:
        require_logical(conn)
        _ensure_heartbeat(conn)
        for table in tables:
            _own_rows_only(conn, table, code)
        conn.execute(
            text(
                f"INSERT INTO {HEARTBEAT_TABLE} (county_code, beat_at, schema_version) "
                "VALUES (:c, now(), :v) ON CONFLICT (county_code) DO NOTHING"
            ),
            {"c": code, "v": _schema_version(conn, schema)},
        )
        filtered = [f"{_q(t)} WHERE (county_code = '{code}')" for t in [*tables, HEARTBEAT_TABLE]]
        _publish(conn, publication_name(code), filtered)
    return tables


def _own_rows_only(conn: Connection, table: str, code: str) -> None:
    """(county_code, id) as the replica identity, and a CHECK that every row is this county's."""
    index = f"ux_{table}_county_id"[:63]
    conn.execute(text(f"CREATE UNIQUE INDEX IF NOT EXISTS {_q(index)} ON {_q(table)} (county_code, id)"))
    conn.execute(text(f"ALTER TABLE {_q(table)} REPLICA IDENTITY USING INDEX {_q(index)}"))
    check = f"ck_{table}_own_county"[:63]
    if not _constraint_exists(conn, table, check):
        conn.execute(text(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(check)} CHECK (county_code = '{code}')"))


def _publish(conn: Connection, name: str, entries: Sequence[str]) -> None:
    exists = conn.execute(text("SELECT 1 FROM pg_publication WHERE pubname = :n"), {"n": name}).first()
    verb = f"ALTER PUBLICATION {_q(name)} SET TABLE" if exists else f"CREATE PUBLICATION {_q(name)} FOR TABLE"
    conn.execute(text(f"{verb} {', '.join(entries)}"))


def _schema_version(conn: Connection, schema: Schema) -> int:
    row = conn.execute(text(f"SELECT value FROM {schema.meta.name} WHERE key = 'schema_version'")).first()
    return int(row[0]) if row else 0


def prepare_hub(engine: Engine, schema: Schema, *, publish_prefix: str | None = None) -> list[str]:
    """Make this database a hub: keys (county_code, id), no local writes, and its own publication.

    ``publish_prefix``: the leading digits of the counties it passes on to the region
    (塔城地区 ``6542``); ``None`` publishes every row it holds. Idempotent (run again after a
    migration). Returns the tables prepared.
    """
    code = normalise_code(schema.county_code)
    tables = replicated_tables(schema)
    with engine.begin() as conn:
        require_logical(conn)
        _ensure_heartbeat(conn)
        conn.execute(
            text(
                f"CREATE OR REPLACE FUNCTION {_HUB_GUARD}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION '上级汇聚库只读：数据由各区县录入后经复制上报' "
                "USING ERRCODE = 'insufficient_privilege'; END $$"
            )
        )
        for table in tables:
            _hub_keys(conn, table)
        for table in [*tables, HEARTBEAT_TABLE]:
            trigger = f"{table}_hub_read_only"[:63]
            conn.execute(text(f"DROP TRIGGER IF EXISTS {_q(trigger)} ON {_q(table)}"))
            conn.execute(
                text(
                    f"CREATE TRIGGER {_q(trigger)} BEFORE INSERT OR UPDATE OR DELETE ON {_q(table)} "
                    f"FOR EACH ROW EXECUTE FUNCTION {_HUB_GUARD}()"
                )
            )
        where = "" if publish_prefix is None else f" WHERE (county_code LIKE '{_digits(publish_prefix)}%')"
        _publish(conn, publication_name(code), [f"{_q(t)}{where}" for t in [*tables, HEARTBEAT_TABLE]])
    return tables


def _digits(prefix: str) -> str:
    if not re.fullmatch(r"\d{1,6}", prefix):
        raise ReplicationError(f"上报范围应为行政区划代码的前几位数字（如 6542），收到“{prefix}”")
    return prefix


def _hub_keys(conn: Connection, table: str) -> None:
    """Key the hub's table by (county_code, id); drop the county-local keys and references.

    Integrity is kept where rows are written (each county); the hub holds what they sent,
    possibly the child before its parent within one initial copy.
    """
    rows = conn.execute(
        text(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = to_regclass(:t) AND contype IN ('p', 'f')"
        ),
        {"t": f"public.{table}"},
    ).all()
    for name, kind, definition in rows:
        if kind == "p" and definition == "PRIMARY KEY (county_code, id)":
            continue
        conn.execute(text(f"ALTER TABLE {_q(table)} DROP CONSTRAINT {_q(name)} CASCADE"))
    if not any(kind == "p" and d == "PRIMARY KEY (county_code, id)" for _, kind, d in rows):
        conn.execute(text(f"ALTER TABLE {_q(table)} ADD PRIMARY KEY (county_code, id)"))


def subscribe(engine: Engine, county_code: str, dsn: str, *, publication: str | None = None) -> str:
    """Subscribe this hub to a county's (or lower hub's) publication; refresh it when it exists.

    ``dsn`` is the libpq connection string of the county's database as this server reaches it.
    The first subscription copies the county's rows (``copy_data``); afterwards changes stream.
    Returns the subscription's name.
    """
    code = normalise_code(county_code)
    name = subscription_name(code)
    pub = publication or publication_name(code)
    with _autocommit(engine) as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_subscription WHERE subname = :n"), {"n": name}).first()
        if exists:
            conn.execute(text(f"ALTER SUBSCRIPTION {_q(name)} CONNECTION :dsn".replace(":dsn", _literal(dsn))))
            conn.execute(text(f"ALTER SUBSCRIPTION {_q(name)} REFRESH PUBLICATION"))
        else:
            conn.execute(text(f"CREATE SUBSCRIPTION {_q(name)} CONNECTION {_literal(dsn)} PUBLICATION {_q(pub)}"))
    return name


def unsubscribe(engine: Engine, county_code: str) -> bool:
    """Drop the hub's subscription to ``county_code`` (its rows stay); ``False`` when there was none."""
    name = subscription_name(county_code)
    with _autocommit(engine) as conn:
        if not conn.execute(text("SELECT 1 FROM pg_subscription WHERE subname = :n"), {"n": name}).first():
            return False
        conn.execute(text(f"DROP SUBSCRIPTION {_q(name)}"))
    return True


def resync(engine: Engine, schema: Schema, county_code: str, dsn: str) -> str:
    """Copy a county afresh: drop its subscription, remove its rows here, subscribe again (copy_data).

    For a county whose replication slot is gone — its primary failed over (PostgreSQL 15 does not
    carry logical slots to a promoted standby) or it was restored from a backup. The county's rows
    are missing from this hub for the seconds of the copy; other counties are untouched.
    """
    code = normalise_code(county_code)
    name = subscription_name(code)
    with _autocommit(engine) as conn:
        if conn.execute(text("SELECT 1 FROM pg_subscription WHERE subname = :n"), {"n": name}).first():
            conn.execute(text(f"ALTER SUBSCRIPTION {_q(name)} DISABLE"))
            # The slot lives on the county's old primary, which may be gone: do not try to drop it there.
            conn.execute(text(f"ALTER SUBSCRIPTION {_q(name)} SET (slot_name = NONE)"))
            conn.execute(text(f"DROP SUBSCRIPTION {_q(name)}"))
    _drop_stale_slot(dsn, name)
    with engine.begin() as conn:
        # As replication does: the hub's read-only triggers do not fire in replica mode.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in [*replicated_tables(schema), HEARTBEAT_TABLE]:
            conn.execute(text(f"DELETE FROM {_q(table)} WHERE county_code = :c"), {"c": code})
    return subscribe(engine, code, dsn)


def _drop_stale_slot(dsn: str, slot: str) -> None:
    """Drop the county's old slot of this subscription when it still exists (it would keep WAL forever)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as county:
        county.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s AND NOT active",
            (slot,),
        )


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def beat(engine: Engine, schema: Schema) -> None:
    """Write this county's heartbeat (now, schema version); a no-op where nothing is published."""
    with engine.begin() as conn:
        if conn.execute(text("SELECT to_regclass(:t)"), {"t": HEARTBEAT_TABLE}).scalar() is None:
            return
        conn.execute(
            text(
                f"INSERT INTO {HEARTBEAT_TABLE} (county_code, beat_at, schema_version, seq) VALUES (:c, now(), :v, 1) "
                "ON CONFLICT (county_code) DO UPDATE SET beat_at = now(), schema_version = EXCLUDED.schema_version, "
                f"seq = {HEARTBEAT_TABLE}.seq + 1"
            ),
            {"c": normalise_code(schema.county_code), "v": _schema_version(conn, schema)},
        )


def role_of(conn: Connection) -> str:
    """``hub`` when this database subscribes to counties, ``county`` when it publishes, else ``none``."""
    if conn.execute(text("SELECT 1 FROM pg_proc WHERE proname = :f"), {"f": _HUB_GUARD}).first():
        return "hub"
    if conn.execute(text("SELECT 1 FROM pg_publication WHERE pubname LIKE 'safemap_%'")).first():
        return "county"
    return "none"


def hub_rows(conn: Connection) -> list[dict[str, Any]]:
    """Per subscription on a hub: state, last message times, and the county's heartbeat (UTC times)."""
    sql = text(
        f"""
        SELECT s.subname, s.subenabled, substring(s.subname from 'safemap_from_(\\d{{6}})') AS county_code,
               st.pid IS NOT NULL AS streaming, st.last_msg_send_time, st.last_msg_receipt_time,
               st.latest_end_time, st.received_lsn::text AS received_lsn,
               (SELECT count(*) FROM pg_subscription_rel r WHERE r.srsubid = s.oid AND r.srsubstate <> 'r')
                   AS tables_syncing,
               (SELECT count(*) FROM pg_subscription_rel r WHERE r.srsubid = s.oid) AS tables,
               h.beat_at, h.schema_version, h.seq, now() AS now
        FROM pg_subscription s
        LEFT JOIN pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL
        LEFT JOIN {HEARTBEAT_TABLE} h ON h.county_code = substring(s.subname from 'safemap_from_(\\d{{6}})')
        WHERE s.subname LIKE 'safemap_from_%'
        ORDER BY s.subname
        """
    )
    return [dict(r) for r in conn.execute(sql).mappings()]


def heartbeats(conn: Connection) -> list[dict[str, Any]]:
    """Every county heartbeat this database holds (a region sees its prefectures' counties too)."""
    if conn.execute(text("SELECT to_regclass(:t)"), {"t": HEARTBEAT_TABLE}).scalar() is None:
        return []
    sql = text(f"SELECT county_code, beat_at, schema_version, seq, now() AS now FROM {HEARTBEAT_TABLE} ORDER BY 1")
    return [dict(r) for r in conn.execute(sql).mappings()]


def publisher_rows(conn: Connection) -> list[dict[str, Any]]:
    """Per subscriber connected to this database: lag as the publisher measures it and WAL kept for it."""
    sql = text(
        """
        SELECT sl.slot_name, sl.active, r.application_name, r.state,
               EXTRACT(EPOCH FROM r.write_lag) AS write_lag_s, EXTRACT(EPOCH FROM r.flush_lag) AS flush_lag_s,
               EXTRACT(EPOCH FROM r.replay_lag) AS replay_lag_s,
               pg_wal_lsn_diff(pg_current_wal_lsn(), sl.confirmed_flush_lsn) AS behind_bytes,
               pg_wal_lsn_diff(pg_current_wal_lsn(), sl.restart_lsn) AS retained_bytes
        FROM pg_replication_slots sl
        LEFT JOIN pg_stat_replication r ON r.pid = sl.active_pid
        WHERE sl.slot_type = 'logical' AND sl.slot_name LIKE 'safemap_from_%'
        ORDER BY sl.slot_name
        """
    )
    return [dict(r) for r in conn.execute(sql).mappings()]
