"""SQLAlchemy tables derived from the catalogue, for PostGIS and GeoPackage alike.

The two stores share every table definition; only the geometry column type and a
few column types differ, and those come from the backend (:mod:`layers.postgis`,
:mod:`layers.geopackage`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.schema import SchemaItem
from sqlalchemy.types import TypeEngine

from safemap.layers.catalogue import Field, Layer
from safemap.layers.counties import DEFAULT_COUNTY_CODE
from safemap.layers.definitions import LAYERS

META_TABLE = "safemap_meta"
AUDIT_TABLE = "safemap_audit"
TOKENS_TABLE = "safemap_tokens"
USERS_TABLE = "safemap_users"
SESSIONS_TABLE = "safemap_sessions"
PHOTOS_TABLE = "safemap_photos"


@dataclass
class ColumnTypes:
    """Per-backend column types; the rest of the schema is shared."""

    geometry: Callable[[Layer], TypeEngine]
    datetime: TypeEngine
    date: TypeEngine
    json: TypeEngine


@dataclass
class Schema:
    """All tables of a store: one per layer, one per child table, and the system tables."""

    metadata: MetaData
    catalogue: tuple[Layer, ...]
    layers: dict[str, Table]
    children: dict[tuple[str, str], Table]
    meta: Table
    audit: Table
    tokens: Table
    users: Table
    sessions: Table
    photos: Table
    county_code: str = DEFAULT_COUNTY_CODE


def _column_type(f: Field, types: ColumnTypes) -> TypeEngine[Any]:
    if f.type in ("str", "enum"):
        return Text() if f.max_length is None or f.max_length > 255 else String(f.max_length)
    by_type: dict[str, TypeEngine[Any]] = {
        "int": Integer(),
        "float": Float(53),
        "bool": Boolean(create_constraint=False),
        "date": types.date,
        "datetime": types.datetime,
    }
    return by_type[f.type]


def county_column(county_code: str) -> Column[Any]:
    """The ``county_code`` column of a replicated table: never empty, the store's county by default.

    The database fills it (``server_default``) so every insert path — the store, bulk imports,
    the live tables' raw SQL — writes the store's own county without naming it.
    """
    return Column("county_code", String(6), nullable=False, server_default=county_code)


def _columns(table: str, fields: tuple[Field, ...], types: ColumnTypes, county_code: str) -> list[SchemaItem]:
    out: list[SchemaItem] = []
    for f in fields:
        if f.name in ("id", "version", "updated_at"):
            continue
        if f.name == "county_code":
            out += [county_column(county_code), Index(f"ix_{table}_county_code", "county_code")]
            continue
        args: list[SchemaItem] = []
        if f.references:
            args.append(ForeignKey(f"{f.references}.id", ondelete="RESTRICT"))
        out.append(Column(f.name, _column_type(f, types), *args, nullable=not f.required))
        if f.enum is not None:
            codes = ", ".join(f"'{c}'" for c in f.enum.codes)
            out.append(CheckConstraint(f"{f.name} IN ({codes})", name=f"ck_{table}_{f.name}"))
        if f.enum is not None or f.references:
            out.append(Index(f"ix_{table}_{f.name}", f.name))
    return out


def build_schema(
    types: ColumnTypes, layers: tuple[Layer, ...] = LAYERS, *, county_code: str = DEFAULT_COUNTY_CODE
) -> Schema:
    """Build every table of the store from the catalogue; ``county_code`` is the default of every row's county."""
    md = MetaData()
    layer_tables: dict[str, Table] = {}
    child_tables: dict[tuple[str, str], Table] = {}
    for layer in layers:
        geometry = [Column("geom", types.geometry(layer), nullable=False)] if layer.is_spatial else []
        layer_tables[layer.name] = Table(
            layer.name,
            md,
            Column("id", Integer, primary_key=True, autoincrement=True),
            *geometry,
            *_columns(layer.name, layer.fields, types, county_code),
            Column("updated_at", types.datetime, nullable=False),
            Column("version", Integer, nullable=False, server_default="1"),
            Index(f"ix_{layer.name}_name", "name"),
            # Ids are never reused after a delete (GeoPackage: AUTOINCREMENT; PostGIS: a sequence),
            # so an old reference can never silently point at a new feature.
            sqlite_autoincrement=True,
        )
    for layer in layers:
        for child in layer.children:
            name = child.table_name(layer.name)
            child_tables[(layer.name, child.name)] = Table(
                name,
                md,
                Column("id", Integer, primary_key=True, autoincrement=True),
                Column(
                    "parent_id",
                    Integer,
                    ForeignKey(f"{layer.name}.id", ondelete="CASCADE"),
                    nullable=False,
                ),
                Column("seq", Integer, nullable=False),
                *_columns(name, child.fields, types, county_code),
                county_column(county_code),
                Index(f"ix_{name}_parent", "parent_id"),
            )
    meta = Table(META_TABLE, md, Column("key", String(64), primary_key=True), Column("value", Text))
    audit = Table(
        AUDIT_TABLE,
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("at", types.datetime, nullable=False),
        Column("actor", String(100), nullable=False),
        Column("role", String(20), nullable=False),
        Column("action", String(20), nullable=False),
        Column("layer", String(64), nullable=False),
        Column("feature_id", Integer),
        Column("before", types.json),
        Column("after", types.json),
        Column("note", Text),
        Index("ix_safemap_audit_feature", "layer", "feature_id"),
        Index("ix_safemap_audit_at", "at"),
    )
    tokens = Table(
        TOKENS_TABLE,
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(100), nullable=False),
        Column("role", String(20), nullable=False),
        Column("token_hash", String(64), nullable=False, unique=True),
        Column("created_at", types.datetime, nullable=False),
        Column("expires_at", types.datetime),
        Column("revoked_at", types.datetime),
    )
    # People who sign in (passwords as argon2 hashes) and their server-side sessions (secret hashes only).
    users = Table(
        USERS_TABLE,
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(100), nullable=False, unique=True),
        Column("display_name", String(100), nullable=False),
        Column("role", String(20), nullable=False),
        Column("password_hash", Text, nullable=False),
        Column("created_at", types.datetime, nullable=False),
        Column("updated_at", types.datetime, nullable=False),
        Column("disabled_at", types.datetime),
        # An enterprise user's own enterprise: every record they see or write is of it (row-level).
        Column("enterprise_id", Integer),
        # Counties (行政区划代码, comma-separated) whose rows the person sees; empty: every county of the deployment.
        Column("counties", Text),
    )
    sessions = Table(
        SESSIONS_TABLE,
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("token_hash", String(64), nullable=False, unique=True),
        Column("user_id", Integer, ForeignKey(f"{USERS_TABLE}.id", ondelete="CASCADE"), nullable=False),
        Column("csrf_token", String(64), nullable=False),
        Column("created_at", types.datetime, nullable=False),
        Column("expires_at", types.datetime, nullable=False),
        Column("revoked_at", types.datetime),
        Column("ip", String(64)),
        Index("ix_safemap_sessions_user", "user_id"),
    )
    # Photo bytes of hidden dangers, stored with the store (their metadata is the danger_photos layer).
    photos = Table(
        PHOTOS_TABLE,
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("sha256", String(64), nullable=False),
        Column("content_type", String(50), nullable=False),
        Column("size_bytes", Integer, nullable=False),
        Column("data", LargeBinary, nullable=False),
        Column("created_at", types.datetime, nullable=False),
    )
    return Schema(md, layers, layer_tables, child_tables, meta, audit, tokens, users, sessions, photos, county_code)


JSON_DEFAULT = JSON()
DATETIME_DEFAULT = DateTime(timezone=True)
DATE_DEFAULT = Date()
