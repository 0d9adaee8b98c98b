"""Every row carries its county's 行政区划代码 (issue 19): codes as people type them, the v7 migration, ownership."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from safemap.layers.counties import (
    CountyCodeInvalid,
    county_name,
    county_shapes,
    normalise_code,
    parse_codes,
    visible,
)
from safemap.layers.errors import SchemaError
from safemap.layers.model import Actor
from safemap.layers.store import open_store
from tests.conftest import YUMIN_EXTENT

EDITOR = Actor("测试", "admin")


def plant(name: str = "裕民县加油站") -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [82.98, 46.2]},
        "properties": {"name": name, "industry": "fuel_station", "risk_level": "yellow"},
    }


@pytest.mark.parametrize("typed", ["654225", " 654225 ", "６５４２２５", "654 225"])
def test_codes_typed_with_full_width_digits_and_spaces_are_read(typed: str) -> None:
    assert normalise_code(typed) == "654225"


@pytest.mark.parametrize("typed", ["65422", "6542250", "abcdef", "054225", ""])
def test_a_code_that_is_not_six_digits_is_refused_in_chinese(typed: str) -> None:
    with pytest.raises(CountyCodeInvalid, match="行政区划代码应为 6 位数字"):
        normalise_code(typed)


def test_lists_of_codes_accept_the_separators_people_use() -> None:
    assert parse_codes("654225、654221，654224 654225") == ("654221", "654224", "654225")
    assert parse_codes("") is None and parse_codes(None) is None


def test_names_come_from_the_real_prefecture_file() -> None:
    """data/yumin/tacheng_counties_wgs84.geojson (DataV.GeoAtlas 2019): seven counties of 塔城地区."""
    assert county_name("654225") == "裕民县"
    assert county_name("654221") == "额敏县"
    assert county_name("654200") == "塔城地区"
    assert county_name("999999") == "999999"
    assert len(county_shapes()) == 7


def test_what_a_person_sees_is_the_deployments_counties_and_their_own() -> None:
    assert visible(None, None) is None
    assert visible(("654221", "654225"), None) == ("654221", "654225")
    assert visible(None, ("654225",)) == ("654225",)
    assert visible(("654221", "654225"), ("654225", "654224")) == ("654225",)
    # Limited to counties outside the deployment: nothing, never everything.
    assert visible(("654221",), ("654225",)) == ()


def test_new_rows_and_their_child_rows_carry_the_stores_county(tmp_path: Path) -> None:
    store = open_store(tmp_path / "emin.gpkg", extent=YUMIN_EXTENT, county_code="654221")
    try:
        created = store.create("enterprises", plant(), EDITOR)
        assert created["properties"]["county_code"] == "654221"
        depot = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [82.98, 46.2]},
            "properties": {
                "name": "储备库",
                "level": "county",
                "inventory": [{"item": "帐篷", "unit": "顶", "quantity": 10}],
            },
        }
        made = store.create("material_depots", depot, EDITOR)
        # A client cannot move a row to another county: the field is the store's own.
        updated = store.update(
            "enterprises",
            created["id"],
            {"properties": {"county_code": "654225", "name": "改名"}},
            EDITOR,
            expected_version=1,
        )
        assert updated["properties"]["county_code"] == "654221"
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "emin.gpkg") as con:
        assert con.execute("SELECT county_code FROM material_depots__inventory").fetchall() == [("654221",)]
        assert con.execute("SELECT value FROM safemap_meta WHERE key = 'county_code'").fetchone() == ("654221",)
    assert made["id"] == 1


def test_a_store_is_not_opened_as_another_countys(tmp_path: Path) -> None:
    open_store(tmp_path / "s.gpkg", county_code="654225").close()
    with pytest.raises(SchemaError, match="此数据库属于行政区划代码 654225（裕民县）"):
        open_store(tmp_path / "s.gpkg", county_code="654221")


def test_migration_7_gives_existing_rows_the_stores_county(tmp_path: Path) -> None:
    """A version-6 store (no county_code) keeps its rows; they become 裕民县's."""
    path = tmp_path / "old.gpkg"
    store = open_store(path, extent=YUMIN_EXTENT)
    store.create("enterprises", plant("老企业"), EDITOR)
    store.close()
    with sqlite3.connect(path) as con:
        for table in ("enterprises", "material_depots__inventory"):
            for (index,) in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql LIKE '%county_code%'",
                (table,),
            ).fetchall():
                con.execute(f'DROP INDEX "{index}"')
            con.execute(f'ALTER TABLE "{table}" DROP COLUMN county_code')
        con.execute("ALTER TABLE safemap_users DROP COLUMN counties")
        con.execute("DELETE FROM safemap_meta WHERE key = 'county_code'")
        con.execute("UPDATE safemap_meta SET value = '6' WHERE key = 'schema_version'")
    store = open_store(path, extent=YUMIN_EXTENT)
    try:
        assert store.previous_version == 6
        rows = store.query("enterprises").rows
        assert [(r["name"], r["county_code"]) for r in rows] == [("老企业", "654225")]
    finally:
        store.close()
