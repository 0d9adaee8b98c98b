"""Schema versioning: upgrade in place, never drop; refuse what cannot be handled."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

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


# ---------------------------------------------------------------------------- version 2 (issue 11)

NEW_TABLE1_ROWS = {"二氧化氮", "一氧化碳", "溴甲烷", "磷化氢", "异氰酸甲酯"}


def _version1_catalogue(seed_csv: Path) -> tuple:
    """The catalogue as schema version 1 had it: no hazard_units, no unit_id, no flash/boiling points."""
    from safemap.layers.catalogue import ChildTable

    out = []
    for layer in LAYERS:
        if layer.name == "hazard_units":
            continue
        if layer.name == "hazard_sources":
            sub = layer.children[0]
            old_sub = ChildTable(
                sub.name,
                sub.label,
                tuple(f for f in sub.fields if f.name not in ("flash_point_c", "boiling_point_c")),
                sub.summary,
            )
            layer = replace(layer, fields=tuple(f for f in layer.fields if f.name != "unit_id"), children=(old_sub,))
        if layer.name == "gb18218_substances":
            layer = replace(layer, seed=str(seed_csv))  # an absolute path: data/ / "/abs" is "/abs"
        out.append(layer)
    return tuple(out)


def test_version_1_store_is_upgraded_to_units_and_flash_points(
    gpkg_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools

    import pandas as pd

    from safemap.layers import store as store_module
    from safemap.layers.paths import DATA_DIR

    # The seed as version 1 shipped it: without the five Table 3 gases added in version 2.
    seed = pd.read_csv(DATA_DIR / "standards" / "gb18218_substances.csv", dtype=str)
    old_seed = tmp_path / "gb18218_substances_v1.csv"
    seed[~seed["name"].isin(NEW_TABLE1_ROWS)].to_csv(old_seed, index=False)
    v1 = _version1_catalogue(old_seed)
    with monkeypatch.context() as m:
        m.setattr(store_module, "ensure_schema", functools.partial(ensure_schema, migrations={}, target=1))
        old = open_store(gpkg_path, layers=v1)
    assert old.previous_version == 0
    with old.backend.read() as conn:
        assert current_version(conn, old.schema) == 1
    ent = old.create(
        "enterprises",
        {"geometry": POINT, "properties": {"name": "某站", "industry": "lpg_station", "risk_level": "red"}},
        ADMIN,
    )
    old.create(
        "hazard_sources",
        {
            "geometry": POINT,
            "properties": {
                "name": "1#罐",
                "enterprise_id": ent["id"],
                "kind": "lpg_tank",
                "substances": [{"name": "液化石油气", "quantity_t": 20}],
            },
        },
        ADMIN,
    )
    old_names = set(old.to_geodataframe("gb18218_substances")["name"])
    assert not old_names & NEW_TABLE1_ROWS
    old.close()

    upgraded = open_store(gpkg_path)
    try:
        assert upgraded.previous_version == 1
        with upgraded.backend.read() as conn:
            assert current_version(conn, upgraded.schema) == SCHEMA_VERSION >= 2
            assert {"flash_point_c", "boiling_point_c"} <= upgraded.backend.column_names(
                conn, "hazard_sources__substances"
            )
            assert "unit_id" in upgraded.backend.column_names(conn, "hazard_sources")
            indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("hazard_sources")}
            assert "ix_hazard_sources_unit_id" in indexes
        # The rows and children written at version 1 are kept; the new columns are empty.
        tank = upgraded.query("hazard_sources", children=True).rows[0]
        assert tank["name"] == "1#罐" and tank["unit_id"] is None
        assert tank["substances"][0]["quantity_t"] == 20 and tank["substances"][0]["flash_point_c"] is None
        # The missing seed rows arrived (by name), with their sources; the old rows are untouched.
        table = upgraded.to_geodataframe("gb18218_substances")
        assert set(table["name"]) == old_names | NEW_TABLE1_ROWS
        added = table[table["name"].isin(NEW_TABLE1_ROWS)]
        assert added["source"].str.contains("【未核实】").all()
        assert dict(zip(added["name"], added["beta"], strict=True))["二氧化氮"] == 10
        # The new layer works: a unit is created and the old tank joins it.
        unit = upgraded.create(
            "hazard_units",
            {
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[83.0, 46.2], [83.001, 46.2], [83.001, 46.201], [83.0, 46.2]]],
                },
                "properties": {"name": "罐区", "enterprise_id": ent["id"], "unit_kind": "storage"},
            },
            ADMIN,
        )
        moved = upgraded.update(
            "hazard_sources", tank["id"], {"properties": {"version": tank["version"], "unit_id": unit["id"]}}, ADMIN
        )
        assert moved["properties"]["unit_id"] == unit["id"]
        # Opening again runs nothing more.
        upgraded.close()
        again = open_store(gpkg_path)
        assert again.previous_version == SCHEMA_VERSION and len(again.to_geodataframe("gb18218_substances")) == len(
            table
        )
        again.close()
    finally:
        upgraded.close()


# ---------------------------------------------------------------------------- version 3 (issue 12)

V3_INCIDENT_COLUMNS = {
    "enterprise_id",
    "hazard_source_id",
    "substance",
    "quantity_t",
    "reporter",
    "phone",
    "location_text",
    "closed_at",
}


def _version2_catalogue() -> tuple:
    """The catalogue as schema version 2 had it: no incident_zones/events, the old incident fields and statuses."""
    from safemap.layers.catalogue import EnumType, Member

    old_status = EnumType(
        "incident_status",
        (
            Member("reported", "接报"),
            Member("responding", "处置中"),
            Member("controlled", "已控制"),
            Member("closed", "已结案"),
        ),
    )
    out = []
    for layer in LAYERS:
        if layer.name in ("incident_zones", "incident_events"):
            continue
        if layer.name == "incidents":
            fields = tuple(
                replace(f, enum=old_status) if f.name == "status" else f
                for f in layer.fields
                if f.name not in V3_INCIDENT_COLUMNS
            )
            layer = replace(layer, fields=fields)
        out.append(layer)
    return tuple(out)


def _old_incident(store: FeatureStore) -> int:
    feature = {
        "geometry": POINT,
        "properties": {"name": "旧事件", "kind": "leak", "status": "controlled", "reported_at": "2025-01-18T08:40:00"},
    }
    return int(store.create("incidents", feature, ADMIN)["id"])


def _check_v3(store: FeatureStore, old_id: int) -> None:
    from safemap.api.services import incidents

    with store.backend.read() as conn:
        assert current_version(conn, store.schema) == SCHEMA_VERSION >= 3  # upgraded through v3 to the newest
        assert store.backend.column_names(conn, "incidents") >= V3_INCIDENT_COLUMNS
        assert {"incident_zones", "incident_events"} <= store.backend.table_names(conn)
    old = store.get("incidents", old_id)["properties"]
    assert old["status"] == "controlled" and old["name"] == "旧事件" and old["substance"] is None
    # The widened CHECK takes 核实 (verified); an unknown code is still refused by the database.
    new = incidents.create(store, ADMIN, incidents.IncidentInput(kind="fire", location=(83.0, 46.2)))
    assert incidents.set_status(store, ADMIN, new["id"], "核实")["properties"]["status"] == "verified"
    with store.transaction() as tx, pytest.raises(sa.exc.IntegrityError):
        tx.execute(sa.update(tx.table("incidents")).values(status="bogus"))
    assert incidents.set_status(store, ADMIN, old_id, "结束")["properties"]["status"] == "closed"


def test_version_2_store_is_upgraded_to_the_incident_lifecycle(
    gpkg_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools

    from safemap.layers import store as store_module

    with monkeypatch.context() as m:
        m.setattr(store_module, "ensure_schema", functools.partial(ensure_schema, migrations={}, target=2))
        old = open_store(gpkg_path, layers=_version2_catalogue())
    with old.backend.read() as conn:
        assert current_version(conn, old.schema) == 2
    old_id = _old_incident(old)
    old.close()
    upgraded = open_store(gpkg_path)
    try:
        assert upgraded.previous_version == 2
        _check_v3(upgraded, old_id)
    finally:
        upgraded.close()


def test_version_2_postgis_store_is_upgraded_to_the_incident_lifecycle(pg_url: str) -> None:
    """A PostGIS store put back to version 2 by hand (columns dropped, the old CHECK) is upgraded in place."""
    store = open_store(pg_url)
    old_id = _old_incident(store)
    with store.backend.write() as conn:
        for name in V3_INCIDENT_COLUMNS:
            conn.exec_driver_sql(f"ALTER TABLE incidents DROP COLUMN {name}")
        conn.exec_driver_sql("ALTER TABLE incidents DROP CONSTRAINT ck_incidents_status")
        conn.exec_driver_sql(
            "ALTER TABLE incidents ADD CONSTRAINT ck_incidents_status "
            "CHECK (status IN ('reported', 'responding', 'controlled', 'closed'))"
        )
        conn.exec_driver_sql("DROP TABLE incident_events, incident_zones")
        conn.exec_driver_sql("UPDATE safemap_meta SET value = '2' WHERE key = 'schema_version'")
    store.close()
    upgraded = open_store(pg_url)
    try:
        assert upgraded.previous_version == 2
        _check_v3(upgraded, old_id)
    finally:
        upgraded.close()


def test_v4_renumbers_hex_dispatch_plans_as_people_read_them(store: FeatureStore) -> None:
    """Dispatches confirmed before version 4 had hex 调度单号; upgrading gives them the new form.

    Plan ``3f9c2a71…`` confirmed 2026-11-30 16:05:09 UTC is 2026-12-01 00:05:09 in Yumin (UTC+8):
    ``20261201-000509-`` and three digits from the old number (0x3f9c2a71 = 1067199089; % 900 + 100 = 789).
    """
    import datetime as dt
    from zoneinfo import ZoneInfo

    old = "3f9c2a71d0e84b6a"
    line = {"type": "LineString", "coordinates": [[83.0, 46.2], [83.01, 46.21]]}
    incident = store.create(
        "incidents",
        {
            "geometry": POINT,
            "properties": {
                "name": "测试事件",
                "kind": "fire",
                "status": "reported",
                "reported_at": "2026-11-30T16:00:00Z",
            },
        },
        ADMIN,
    )
    for k, when in enumerate(("2026-11-30T16:05:09Z", "2026-11-30T16:05:30Z")):
        store.create(
            "dispatches",
            {
                "geometry": line,
                "properties": {
                    "name": f"{old}-{k + 1}",
                    "plan_id": old,
                    "incident_id": incident["id"],
                    "incident_lon": 83.0,
                    "incident_lat": 46.2,
                    "resource_layer": "rescue_teams",
                    "status": "confirmed",
                    "confirmed_at": when,
                },
            },
            ADMIN,
        )
    store.create(
        "dispatches",
        {
            "geometry": line,
            "properties": {
                "name": "20261130-080000-123-1",
                "plan_id": "20261130-080000-123",
                "incident_lon": 83.0,
                "incident_lat": 46.2,
                "resource_layer": "rescue_teams",
                "status": "released",
                "confirmed_at": "2026-11-30T00:00:00Z",
            },
        },
        ADMIN,
    )
    store.create(
        "incident_events",
        {
            "geometry": None,
            "properties": {
                "name": "调度",
                "incident_id": incident["id"],
                "at": "2026-11-30T16:05:09Z",
                "kind": "dispatch",
                "actor": "调度员甲",
                "text": f"调度单号 {old}：一号车",
                "ref": f"dispatches:{old}",
            },
        },
        ADMIN,
    )
    with store.backend.write() as conn:
        conn.execute(store.schema.meta.update().where(store.schema.meta.c.key == "schema_version").values(value="3"))
    assert ensure_schema(store.backend, store.schema, tz=ZoneInfo("Asia/Shanghai")) == 3
    new = "20261201-000509-789"
    assert int("3f9c2a71", 16) % 900 + 100 == 789
    plans = {(r["name"], r["plan_id"]) for r in store.query("dispatches", limit=None).rows}
    assert plans == {
        (f"{new}-1", new),
        (f"{new}-2", new),
        ("20261130-080000-123-1", "20261130-080000-123"),  # already readable: untouched
    }
    event = store.query("incident_events", limit=None).rows[0]
    assert event["text"] == f"调度单号 {new}：一号车" and event["ref"] == f"dispatches:{new}"
    assert dt.datetime(2026, 11, 30, 16, 5, 9, tzinfo=dt.UTC).astimezone(ZoneInfo("Asia/Shanghai")).day == 1
