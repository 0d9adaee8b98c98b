"""Schema version 5 (issue 17): double prevention arrives in a store made before it, keeping every row."""

from __future__ import annotations

import sqlalchemy as sa

from safemap.layers.migrations import SCHEMA_VERSION, current_version
from safemap.layers.model import Actor
from safemap.layers.store import open_store

ADMIN = Actor("admin", "admin")
POINT = {"type": "Point", "coordinates": [83.0, 46.2]}
NEW_TABLES = ("risk_zones", "risk_points", "hidden_dangers", "hidden_danger_events", "danger_photos", "accidents")


def test_version_4_postgis_store_is_upgraded_to_double_prevention(pg_url: str) -> None:
    """A PostGIS store put back to version 4 by hand (columns, tables and the alarm kinds of then) is upgraded."""
    store = open_store(pg_url)
    ent = store.create(
        "enterprises",
        {"geometry": POINT, "properties": {"name": "某化工", "industry": "hazchem_use", "risk_level": "orange"}},
        ADMIN,
    )
    with store.backend.write() as conn:
        conn.exec_driver_sql("ALTER TABLE enterprises DROP COLUMN risk_level_fixed")
        conn.exec_driver_sql("ALTER TABLE safemap_users DROP COLUMN enterprise_id")
        conn.exec_driver_sql("ALTER TABLE alarms DROP COLUMN danger_id")
        conn.exec_driver_sql("ALTER TABLE alarms DROP CONSTRAINT ck_alarms_kind")
        conn.exec_driver_sql(
            "ALTER TABLE alarms ADD CONSTRAINT ck_alarms_kind CHECK (kind IN ('high_1', 'high_2', 'low_1', "
            "'low_2', 'rate', 'offline', 'geofence', 'off_route', 'dwell'))"
        )
        conn.exec_driver_sql(
            "DROP TABLE hidden_danger_events, danger_photos, hidden_dangers, inspections, risk_points, risk_zones, "
            "accidents, indicator_years, risk_factor_values, risk_level_bands, accident_severity_rules, "
            "plan_indicators, checklist_items, safemap_photos CASCADE"
        )
        conn.exec_driver_sql("UPDATE safemap_meta SET value = '4' WHERE key = 'schema_version'")
    store.close()
    upgraded = open_store(pg_url)
    try:
        assert upgraded.previous_version == 4
        with upgraded.backend.read() as conn:
            # Upgraded through every later step too (version 6 and on: issue 18).
            assert current_version(conn, upgraded.schema) == SCHEMA_VERSION >= 5
            names = set(sa.inspect(conn).get_table_names())
            assert set(NEW_TABLES) <= names and "safemap_photos" in names
            assert "risk_level_fixed" in upgraded.backend.column_names(conn, "enterprises")
            assert "enterprise_id" in upgraded.backend.column_names(conn, "safemap_users")
        # The enterprise written before is kept; the scoring tables were seeded; the new alarm kind is allowed.
        kept = upgraded.get("enterprises", ent["id"])["properties"]
        assert kept["name"] == "某化工" and kept["risk_level"] == "orange" and kept["risk_level_fixed"] is None
        assert len(upgraded.query("risk_level_bands", limit=None).rows) == 8
        assert len(upgraded.query("accident_severity_rules", limit=None).rows) == 4
        alarm = upgraded.create(
            "alarms",
            {
                "geometry": POINT,
                "properties": {"name": "逾期", "kind": "danger_overdue", "state": "active", "message": "逾期"},
            },
            ADMIN,
        )
        assert alarm["properties"]["kind"] == "danger_overdue"
    finally:
        upgraded.close()
