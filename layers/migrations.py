"""Schema versioning: a store is created at the current version or upgraded in place.

The version lives in ``safemap_meta.schema_version``. Each entry of
:data:`MIGRATIONS` brings the schema from ``n - 1`` to ``n`` inside one transaction
using Alembic's operations (``op.add_column`` …), so an existing database keeps
its data and is never dropped. Whole new tables (a new layer in the catalogue)
are created automatically; any other difference between catalogue and database
(a new column, a changed type) needs a migration, and opening the store says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.engine import Connection

from safemap.layers.backend import Backend
from safemap.layers.errors import SchemaError
from safemap.layers.tables import META_TABLE, Schema

SCHEMA_VERSION = 1

Step = Callable[[Operations, Connection, Schema], None]

#: version -> step from version - 1. Version 1 is the initial schema.
MIGRATIONS: dict[int, Step] = {}


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
) -> int:
    """Create or upgrade the store's schema to ``target``; return the version found before.

    Returns 0 for a new store. Names of the tables created now are appended to
    ``created`` (so reference tables can be seeded once). Raises :class:`SchemaError`
    when the store is newer than this program or does not match the catalogue after
    upgrading.
    """
    created = created if created is not None else []
    with backend.write() as conn:
        backend.prepare(conn)
        existing = backend.table_names(conn)
        if META_TABLE not in existing:
            clash = sorted(set(schema.layers) & existing)
            if clash:
                raise SchemaError(f"数据库中已有同名表 {', '.join(clash)}，但不是 SafeMap 数据库（无版本信息）")
            schema.metadata.create_all(conn)
            backend.after_create(conn, schema, tuple(schema.catalogue))
            _set_version(conn, schema, target)
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
