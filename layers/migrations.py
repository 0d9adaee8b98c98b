"""Schema versioning: a store is created at the current version or upgraded in place.

The version lives in ``safemap_meta.schema_version``. Each entry of
:data:`MIGRATIONS` brings the schema from ``n - 1`` to ``n`` inside one transaction
using Alembic's operations (``op.add_column`` …), so an existing database keeps
its data and is never dropped. Whole new tables (a new layer in the catalogue)
are created automatically; any other difference between catalogue and database
(a new column, a changed type) needs a migration, and opening the store says so.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, String, Text, func, insert, inspect, select, update
from sqlalchemy.engine import Connection

from safemap.layers import paths
from safemap.layers.backend import Backend
from safemap.layers.counties import county_name, normalise_code
from safemap.layers.errors import SchemaError
from safemap.layers.model import utc_now
from safemap.layers.tables import META_TABLE, USERS_TABLE, Schema

SCHEMA_VERSION = 7

Step = Callable[[Operations, Connection, Schema], None]


def _add_columns(op: Operations, conn: Connection, schema: Schema, table: str, names: tuple[str, ...]) -> None:
    """Add catalogue columns ``names`` to ``table`` (typed as the catalogue types them), skipping present ones.

    Foreign keys are not added by ``ALTER TABLE`` (SQLite cannot; the referenced table may be
    created only after the steps): the store checks references itself on every write.
    """
    have = {c["name"] for c in inspect(conn).get_columns(table)}
    model = schema.metadata.tables[table]
    for name in names:
        if name in have:
            continue
        op.add_column(table, Column(name, model.c[name].type, nullable=True))
        if any(name in ix.columns for ix in model.indexes):
            op.create_index(f"ix_{table}_{name}", table, [name])


def add_missing_seed_rows(conn: Connection, schema: Schema, layer_name: str) -> list[str]:
    """Insert the rows of a reference table's seed CSV whose ``name`` the table lacks; return their names.

    Rows already present (by name) are left as they are, so an admin's corrections survive.
    """
    from safemap.layers.ingest import read_features

    layer = next(layer for layer in schema.catalogue if layer.name == layer_name)
    assert layer.seed is not None
    found = read_features(layer, paths.DATA_DIR / layer.seed, extent=None)
    if found.problems:
        raise SchemaError(f"{layer.seed} 有误，无法补充 {layer.label}：{found.problems[0].message}")
    table = schema.layers[layer_name]
    have = {row[0] for row in conn.execute(select(table.c.name))}
    now = utc_now()
    added = []
    for clean in found.cleans:
        props = clean.properties
        if props.get("name") in have:
            continue
        values = {k: v for k, v in props.items() if k in table.c and k not in ("id", "updated_at", "version")}
        conn.execute(insert(table).values(**values, updated_at=now, version=1))
        added.append(str(props["name"]))
    return added


def _v2_units_flash_points(op: Operations, conn: Connection, schema: Schema) -> None:
    """Version 2 (issue 11): GB 18218 units, flash and boiling points, new Table 1 rows.

    ``hazard_sources.unit_id`` (the ``hazard_units`` table itself is created automatically),
    ``flash_point_c`` / ``boiling_point_c`` of substances, and the seed rows added to
    ``gb18218_substances`` (二氧化氮, 一氧化碳, 溴甲烷, 磷化氢, 异氰酸甲酯).
    """
    _add_columns(op, conn, schema, "hazard_sources", ("unit_id",))
    _add_columns(op, conn, schema, "hazard_sources__substances", ("flash_point_c", "boiling_point_c"))
    add_missing_seed_rows(conn, schema, "gb18218_substances")


def replace_enum_check(conn: Connection, schema: Schema, table: str, field: str) -> None:
    """Make the CHECK constraint of the enum column ``table.field`` allow exactly the catalogue's codes.

    PostGIS drops and re-adds ``ck_<table>_<field>``. SQLite cannot alter a constraint; the
    table's ``CREATE TABLE`` text in ``sqlite_master`` is rewritten instead, which the SQLite
    manual allows for changes that leave the stored rows valid ("Making Other Kinds Of Table
    Schema Changes", https://www.sqlite.org/lang_altertable.html §7: ``PRAGMA writable_schema``
    and a bumped ``schema_version``). Call it only to *widen* a list (rows stay valid).
    """
    layer = next(layer for layer in schema.catalogue if layer.name == table)
    enum = layer.field(field).enum
    assert enum is not None
    name = f"ck_{table}_{field}"
    check = f"{field} IN ({', '.join(repr(c) for c in enum.codes)})"
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS {name}')
        conn.exec_driver_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT {name} CHECK ({check})')
        return
    import re

    sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar()
    if sql is None:
        raise SchemaError(f"数据库中没有表 {table}")
    pattern = re.compile(rf"CONSTRAINT {name} CHECK \({field} IN \([^)]*\)\)")
    if not pattern.search(sql):
        raise SchemaError(f"表 {table} 中找不到约束 {name}，无法升级")
    new_sql = pattern.sub(f"CONSTRAINT {name} CHECK ({check})", sql)
    if new_sql == sql:
        return
    version = int(conn.exec_driver_sql("PRAGMA schema_version").scalar_one())
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        conn.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (new_sql, table))
        conn.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    finally:
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")


def _v3_incident_lifecycle(op: Operations, conn: Connection, schema: Schema) -> None:
    """Version 3 (issue 12): the incident's 接警 record and the status 核实.

    New ``incidents`` columns (linked enterprise and hazard source, substance, quantity,
    reporter, phone, location as typed, closing time) and the status code ``verified`` added
    to the status CHECK constraint; stored statuses keep their codes (``reported`` is now
    shown as 接警, ``closed`` as 结束). ``incident_zones`` and ``incident_events`` are new
    tables, created automatically.
    """
    _add_columns(
        op,
        conn,
        schema,
        "incidents",
        (
            "enterprise_id",
            "hazard_source_id",
            "substance",
            "quantity_t",
            "reporter",
            "phone",
            "location_text",
            "closed_at",
        ),
    )
    replace_enum_check(conn, schema, "incidents", "status")


#: The 调度单号 of dispatches confirmed before version 4: hex, unreadable on the radio.
_HEX_PLAN = re.compile(r"[0-9a-f]{8,40}")


def _v4_plan_numbers(op: Operations, conn: Connection, schema: Schema) -> None:
    """Version 4 (issue 14): 调度单号 people can read, also for dispatches confirmed before.

    Dispatches used to be numbered by a random hex string (``3f9c2a71…``). Each such plan is
    renumbered as new plans are (:func:`safemap.layers.dispatching.plan_number`): its earliest
    出动时间 in the store's zone (``conn.info["safemap_tz"]``, set by :func:`ensure_schema`) and
    three digits taken from the old number, so the same database always gets the same numbers.
    The dispatch names (``<单号>-<n>``) and the incident timelines that quote the number follow;
    the audit log keeps what was written then.
    """
    tz = conn.info.get("safemap_tz", dt.UTC)
    names = inspect(conn).get_table_names()
    if "dispatches" not in names:
        return
    t = schema.layers["dispatches"]
    rows = conn.execute(select(t.c.plan_id, t.c.confirmed_at)).all()
    used = {r.plan_id for r in rows}
    first: dict[str, dt.datetime | None] = {}
    for r in rows:
        if r.plan_id and _HEX_PLAN.fullmatch(r.plan_id):
            when = r.confirmed_at
            if isinstance(when, str):
                when = dt.datetime.fromisoformat(when)
            if isinstance(when, dt.datetime) and when.tzinfo is None:
                when = when.replace(tzinfo=dt.UTC)
            known = first.get(r.plan_id)
            first[r.plan_id] = when if known is None or (when is not None and when < known) else known
    events = schema.layers.get("incident_events") if "incident_events" in names else None
    for old, when in sorted(first.items(), key=lambda kv: (kv[1] is None, kv[1] or dt.datetime.min, kv[0])):
        stamp = (when or utc_now()).astimezone(tz)
        suffix = int(old[:8], 16) % 900
        new = f"{stamp:%Y%m%d-%H%M%S}-{suffix + 100}"
        while new in used:
            suffix = (suffix + 1) % 900
            new = f"{stamp:%Y%m%d-%H%M%S}-{suffix + 100}"
        used.add(new)
        conn.execute(update(t).where(t.c.plan_id == old).values(plan_id=new, name=func.replace(t.c.name, old, new)))
        if events is not None:
            conn.execute(
                update(events)
                .where(events.c.text.contains(old) | events.c.ref.contains(old))
                .values(text=func.replace(events.c.text, old, new), ref=func.replace(events.c.ref, old, new))
            )


def _v5_double_prevention(op: Operations, conn: Connection, schema: Schema) -> None:
    """Version 5 (issue 17): double prevention.

    ``enterprises.risk_level_fixed`` (a level set by the office is kept; otherwise it follows
    the enterprise's risk points), ``safemap_users.enterprise_id`` (the one enterprise an
    enterprise user may see and edit), and overdue findings as alarms (``alarms.danger_id``,
    alarm kind ``danger_overdue`` added to the CHECK constraint). The new layers, the photo store and the standards
    tables are created (and seeded) automatically.
    """
    _add_columns(op, conn, schema, "enterprises", ("risk_level_fixed",))
    if "alarms" in inspect(conn).get_table_names():
        _add_columns(op, conn, schema, "alarms", ("danger_id",))
        replace_enum_check(conn, schema, "alarms", "kind")
    have = {c["name"] for c in inspect(conn).get_columns(USERS_TABLE)}
    if "enterprise_id" not in have:
        op.add_column(USERS_TABLE, Column("enterprise_id", Integer, nullable=True))


def _v6_park_and_mines(op: Operations, conn: Connection, schema: Schema) -> None:
    """Version 6 (issue 18): the industrial park and the mines.

    ``hazard_sources.vessel_type`` (the escalation thresholds a domino analysis applies to the
    source as a target), ``dam_height_m`` and ``tailings_volume_m3`` (tailings ponds, for the
    breach analysis); boundary level ``industrial_park`` (the area a park-wide assessment
    covers). The new layers (experts, material allocation plans) are created automatically.
    """
    _add_columns(op, conn, schema, "hazard_sources", ("vessel_type", "dam_height_m", "tailings_volume_m3"))
    if conn.dialect.name == "postgresql":
        # SQLite cannot add a constraint to a table; there the store's validation guards the codes on write.
        replace_enum_check(conn, schema, "hazard_sources", "vessel_type")
    if "admin_boundaries" in inspect(conn).get_table_names():
        replace_enum_check(conn, schema, "admin_boundaries", "level")  # 工业园区 outlines


def _v7_counties(op: Operations, conn: Connection, schema: Schema) -> None:
    """Version 7 (issue 19): every row carries its county's 行政区划代码; accounts may be limited to counties.

    ``county_code`` is added to every layer and child table, filled with the store's county
    (:attr:`Schema.county_code`, the ``SAFEMAP_COUNTY_CODE`` the store is opened with) for the
    rows already there and by default for new ones; ``users.counties`` holds the counties an
    account sees. Ids are kept: across counties a row is (``county_code``, ``id``).
    """
    code = normalise_code(schema.county_code)
    names = set(inspect(conn).get_table_names())
    for table in [*schema.layers.values(), *schema.children.values()]:
        if table.name not in names:
            continue
        if "county_code" in {c["name"] for c in inspect(conn).get_columns(table.name)}:
            continue
        op.add_column(table.name, Column("county_code", String(6), nullable=False, server_default=code))
        if any("county_code" in ix.columns for ix in table.indexes):
            op.create_index(f"ix_{table.name}_county_code", table.name, ["county_code"])
    if USERS_TABLE in names and "counties" not in {c["name"] for c in inspect(conn).get_columns(USERS_TABLE)}:
        op.add_column(USERS_TABLE, Column("counties", Text, nullable=True))


def claim_county(conn: Connection, schema: Schema) -> None:
    """Record the store's county on first opening; refuse to open it as another county's store.

    A county's rows replicate upward under its code: a store opened with the wrong
    ``SAFEMAP_COUNTY_CODE`` would write new rows as another county's, so it is refused.
    """
    row = conn.execute(select(schema.meta.c.value).where(schema.meta.c.key == "county_code")).first()
    if row is None:
        conn.execute(schema.meta.insert().values(key="county_code", value=schema.county_code))
    elif row[0] != schema.county_code:
        raise SchemaError(
            f"此数据库属于行政区划代码 {row[0]}（{county_name(row[0])}），"
            f"不能按 {schema.county_code}（{county_name(schema.county_code)}）打开；请检查 SAFEMAP_COUNTY_CODE"
        )


#: version -> step from version - 1. Version 1 is the initial schema.
MIGRATIONS: dict[int, Step] = {
    2: _v2_units_flash_points,
    3: _v3_incident_lifecycle,
    4: _v4_plan_numbers,
    5: _v5_double_prevention,
    6: _v6_park_and_mines,
    7: _v7_counties,
}


def current_version(conn: Connection, schema: Schema) -> int | None:
    """The schema version recorded in the store, or ``None`` for a store without one."""
    row = conn.execute(select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")).first()
    return int(row[0]) if row else None


def _set_version(conn: Connection, schema: Schema, version: int) -> None:
    conn.execute(schema.meta.delete().where(schema.meta.c.key == "schema_version"))
    conn.execute(schema.meta.insert().values(key="schema_version", value=str(version)))


def ensure_schema(
    backend: Backend,
    schema: Schema,
    *,
    migrations: Mapping[int, Step] = MIGRATIONS,
    target: int = SCHEMA_VERSION,
    created: list[str] | None = None,
    tz: dt.tzinfo = dt.UTC,
) -> int:
    """Create or upgrade the store's schema to ``target``; return the version found before.

    Returns 0 for a new store. ``tz`` is the store's zone (steps read it as
    ``conn.info["safemap_tz"]``: local times written into data). Names of the tables created now are appended to
    ``created`` (so reference tables can be seeded once). Raises :class:`SchemaError`
    when the store is newer than this program or does not match the catalogue after
    upgrading.
    """
    created = created if created is not None else []
    with backend.write() as conn:
        conn.info["safemap_tz"] = tz
        backend.prepare(conn)
        existing = backend.table_names(conn)
        if META_TABLE not in existing:
            clash = sorted(set(schema.layers) & existing)
            if clash:
                raise SchemaError(f"数据库中已有同名表 {', '.join(clash)}，但不是 SafeMap 数据库（无版本信息）")
            schema.metadata.create_all(conn)
            backend.after_create(conn, schema, tuple(schema.catalogue))
            _set_version(conn, schema, target)
            claim_county(conn, schema)
            created.extend(t.name for t in schema.metadata.sorted_tables)
            return 0
        found = current_version(conn, schema) or 0
        if found > target:
            raise SchemaError(f"数据库结构版本 {found} 比本程序（{target}）新；请升级 SafeMap 后再打开")
        for version in range(found + 1, target + 1):
            if version not in migrations:
                raise SchemaError(f"缺少从版本 {version - 1} 升级到 {version} 的迁移步骤")
            migrations[version](Operations(MigrationContext.configure(conn)), conn, schema)
            _set_version(conn, schema, version)
        created.extend(_create_new_tables(conn, backend, schema, existing))
        _verify(conn, backend, schema)
        claim_county(conn, schema)
        # GeoPackage: file identity, extension rows, column names and QGIS styles kept current
        # on every open (idempotent), so stores made by older versions read cleanly in QGIS/GDAL.
        backend.after_open(conn, tuple(schema.catalogue))
        return found


def _create_new_tables(conn: Connection, backend: Backend, schema: Schema, existing: set[str]) -> list[str]:
    missing = [t for t in schema.metadata.sorted_tables if t.name not in existing]
    if not missing:
        return []
    schema.metadata.create_all(conn, tables=missing)
    for layer in schema.catalogue:
        if layer.name not in existing:
            backend.register_layer(conn, layer)
    return [t.name for t in missing]


def _verify(conn: Connection, backend: Backend, schema: Schema) -> None:
    problems = []
    for table in schema.metadata.sorted_tables:
        have = backend.column_names(conn, table.name)
        lacking = [c.name for c in table.columns if c.name not in have]
        problems += [f"{table.name}.{c}" for c in lacking]
    if problems:
        raise SchemaError(
            "数据库结构与图层目录不一致，缺少列：" + ", ".join(problems) + "；请在 layers/migrations.py 中增加迁移步骤"
        )
