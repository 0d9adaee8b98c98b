"""Schema versioning: upgrade in place, never drop; refuse what cannot be handled."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from safemap.layers.catalogue import Field
from safemap.layers.definitions import LAYERS
from safemap.layers.errors import SchemaError
from safemap.layers.migrations import SCHEMA_VERSION, current_version, ensure_schema
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore, open_store

ADMIN = Actor("admin", "admin")
POINT = {"type": "Point", "coordinates": [83.0, 46.2]}


def _target(store: FeatureStore) -> str:
    return store.backend.url if store.kind == "postgis" else str(store.backend.path)


def test_new_store_records_current_version(store: FeatureStore) -> None:
    with store.backend.read() as conn:
        assert current_version(conn, store.schema) == SCHEMA_VERSION


def test_reopen_keeps_data(store: FeatureStore) -> None:
    store.create(
        "enterprises",
        {"geometry": POINT, "properties": {"name": "甲", "industry": "other", "risk_level": "blue"}},
        ADMIN,
    )
    target = _target(store)
    store.close()
    again = open_store(target)
    assert again.previous_version == SCHEMA_VERSION
    assert again.counts()["enterprises"] == 1
    again.close()


def test_upgrade_step_runs_in_place_and_keeps_rows(store: FeatureStore) -> None:
    store.create(
        "enterprises",
        {"geometry": POINT, "properties": {"name": "乙", "industry": "other", "risk_level": "blue"}},
        ADMIN,
    )

    def add_remark(op, conn, schema) -> None:  # type: ignore[no-untyped-def]
        op.add_column("enterprises", sa.Column("remark", sa.Text()))
        conn.execute(sa.text("UPDATE enterprises SET remark = '已迁移'"))

    before = ensure_schema(
        store.backend, store.schema, migrations={SCHEMA_VERSION + 1: add_remark}, target=SCHEMA_VERSION + 1
    )
    assert before == SCHEMA_VERSION
    with store.backend.read() as conn:
        assert current_version(conn, store.schema) == SCHEMA_VERSION + 1
        assert conn.execute(sa.text("SELECT name, remark FROM enterprises")).all() == [("乙", "已迁移")]


def test_failed_step_rolls_back(store: FeatureStore) -> None:
    def broken(op, conn, schema) -> None:  # type: ignore[no-untyped-def]
        op.add_column("enterprises", sa.Column("remark", sa.Text()))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        ensure_schema(store.backend, store.schema, migrations={SCHEMA_VERSION + 1: broken}, target=SCHEMA_VERSION + 1)
    with store.backend.read() as conn:
        assert current_version(conn, store.schema) == SCHEMA_VERSION
        assert "remark" not in store.backend.column_names(conn, "enterprises")


def test_newer_database_is_refused(store: FeatureStore) -> None:
    with store.backend.write() as conn:
        conn.execute(sa.text("UPDATE safemap_meta SET value = '99' WHERE key = 'schema_version'"))
    with pytest.raises(SchemaError, match="99"):
        ensure_schema(store.backend, store.schema)


def test_catalogue_field_without_migration_is_reported(store: FeatureStore) -> None:
    target = _target(store)
    store.close()
    extended = tuple(
        replace(layer, fields=(*layer.fields, Field("fire_code", "str", "消防编号")))
        if layer.name == "enterprises"
        else layer
        for layer in LAYERS
    )
    with pytest.raises(SchemaError, match=r"enterprises\.fire_code"):
        open_store(target, layers=extended)


def test_foreign_database_is_not_touched(gpkg_path) -> None:  # type: ignore[no-untyped-def]
    engine = sa.create_engine(f"sqlite:///{gpkg_path}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE roads (id INTEGER PRIMARY KEY, note TEXT)"))
        conn.execute(sa.text("INSERT INTO roads VALUES (1, 'keep me')"))
    engine.dispose()
    with pytest.raises(SchemaError, match="roads"):
        open_store(gpkg_path)
    engine = sa.create_engine(f"sqlite:///{gpkg_path}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT note FROM roads")).scalar_one() == "keep me"
    engine.dispose()
