"""Schema version 6 (issue 18): the park and the mines arrive in a store made before them, keeping every row."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from safemap.layers.errors import ValidationFailed
from safemap.layers.migrations import SCHEMA_VERSION, current_version
from safemap.layers.model import Actor
from safemap.layers.store import open_store

ADMIN = Actor("admin", "admin")
POINT = {"type": "Point", "coordinates": [83.0, 46.2]}
POND = {"type": "Polygon", "coordinates": [[[82.56, 45.63], [82.57, 45.63], [82.57, 45.64], [82.56, 45.63]]]}


def _pond(store: object, enterprise_id: int) -> dict:
    return store.create(  # type: ignore[attr-defined]
        "hazard_sources",
        {
            "geometry": POND,
            "properties": {"name": "某尾矿库", "enterprise_id": enterprise_id, "kind": "tailings_pond"},
        },
        ADMIN,
    )


def test_version_5_postgis_store_is_upgraded_to_the_park_and_mines(pg_url: str) -> None:
    """A PostGIS store put back to version 5 by hand (columns, tables and boundary levels of then) is upgraded."""
    store = open_store(pg_url)
    ent = store.create(
        "enterprises",
        {"geometry": POINT, "properties": {"name": "某铜矿", "industry": "non_coal_mine", "risk_level": "red"}},
        ADMIN,
    )
    pond = _pond(store, ent["id"])
    with store.backend.write() as conn:
        for column in ("vessel_type", "dam_height_m", "tailings_volume_m3"):
            conn.exec_driver_sql(f"ALTER TABLE hazard_sources DROP COLUMN {column}")
        conn.exec_driver_sql("ALTER TABLE admin_boundaries DROP CONSTRAINT ck_admin_boundaries_level")
        conn.exec_driver_sql(
            "ALTER TABLE admin_boundaries ADD CONSTRAINT ck_admin_boundaries_level "
            "CHECK (level IN ('county', 'reserve_extent'))"
        )
        conn.exec_driver_sql("DROP TABLE experts CASCADE")
        conn.exec_driver_sql("UPDATE safemap_meta SET value = '5' WHERE key = 'schema_version'")
    store.close()
    upgraded = open_store(pg_url)
    try:
        assert upgraded.previous_version == 5
        with upgraded.backend.read() as conn:
            assert current_version(conn, upgraded.schema) == SCHEMA_VERSION >= 6
            assert "experts" in set(sa.inspect(conn).get_table_names())
            assert {"vessel_type", "dam_height_m", "tailings_volume_m3"} <= set(
                upgraded.backend.column_names(conn, "hazard_sources")
            )
        kept = upgraded.get("hazard_sources", pond["id"])["properties"]
        assert kept["name"] == "某尾矿库" and kept["dam_height_m"] is None
        changed = upgraded.update(
            "hazard_sources",
            pond["id"],
            {"properties": {"dam_height_m": 28, "tailings_volume_m3": 3.2e6, "vessel_type": "atmospheric"}},
            ADMIN,
            expected_version=kept["version"],
        )
        assert changed["properties"]["dam_height_m"] == 28.0
        # The new CHECK holds in the database itself, not only in the store's validation.
        with pytest.raises(sa.exc.IntegrityError), upgraded.backend.write() as conn:
            conn.exec_driver_sql(f"UPDATE hazard_sources SET vessel_type = 'wooden' WHERE id = {pond['id']}")
        park = upgraded.create(
            "admin_boundaries",
            {
                "geometry": POND,
                "properties": {"name": "某工业园区", "level": "industrial_park"},
            },
            ADMIN,
        )
        assert park["properties"]["level"] == "industrial_park"
    finally:
        upgraded.close()


def test_a_new_vessel_type_code_is_refused_by_its_chinese_label(tmp_path: Path) -> None:
    store = open_store(tmp_path / "v6.gpkg")
    try:
        ent = store.create(
            "enterprises",
            {"geometry": POINT, "properties": {"name": "某铜矿", "industry": "non_coal_mine", "risk_level": "red"}},
            ADMIN,
        )
        pond = _pond(store, ent["id"])
        with pytest.raises(ValidationFailed) as err:
            store.update(
                "hazard_sources",
                pond["id"],
                {"properties": {"vessel_type": "wooden"}},
                ADMIN,
                expected_version=pond["properties"]["version"],
            )
        assert "设备类型（多米诺）" in str(err.value.problems) or "设备类型" in err.value.message
    finally:
        store.close()
