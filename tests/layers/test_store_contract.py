"""The store contract: every test runs against the GeoPackage and the PostGIS store alike."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import shapely

from safemap.layers.errors import (
    FeatureNotFound,
    UnknownLayer,
    ValidationFailed,
    VersionConflict,
    VersionRequired,
)
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore

PLANNER = Actor("王规划", "planner")


def enterprise(name: str = "裕民县宏达化工有限公司", lon: float = 83.0, lat: float = 46.2, **props: object) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"name": name, "industry": "hazchem_storage", "risk_level": "orange", **props},
    }


def tank(enterprise_id: int, substances: list[dict], name: str = "1号储罐") -> dict:
    return {
        "type": "Feature",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[83.0, 46.2], [83.0004, 46.2], [83.0004, 46.2003], [83.0, 46.2003], [83.0, 46.2]]],
        },
        "properties": {"name": name, "enterprise_id": enterprise_id, "kind": "storage_tank", "substances": substances},
    }


def test_create_and_read_round_trip_chinese(store: FeatureStore) -> None:
    created = store.create(
        "enterprises",
        enterprise(contact="阿依古丽·买买提", address="裕民县哈拉布拉镇工业街12号", employees=35, phone="0901-6521234"),
        PLANNER,
    )
    assert created["properties"]["version"] == 1
    assert created["properties"]["source"] == "人工录入（王规划）"
    got = store.get("enterprises", created["id"])
    props = got["properties"]
    assert props["name"] == "裕民县宏达化工有限公司"
    assert props["contact"] == "阿依古丽·买买提"
    assert props["address"] == "裕民县哈拉布拉镇工业街12号"
    assert props["employees"] == 35
    assert got["geometry"]["coordinates"] == (83.0, 46.2)
    assert props["updated_at"].tzinfo is not None


def test_enum_labels_are_stored_as_codes(store: FeatureStore) -> None:
    f = store.create("enterprises", enterprise(risk_level="红", industry="加油站"), PLANNER)
    assert f["properties"]["risk_level"] == "red"
    assert f["properties"]["industry"] == "fuel_station"


def test_update_bumps_version_and_keeps_other_fields(store: FeatureStore) -> None:
    f = store.create("enterprises", enterprise(employees=10), PLANNER)
    updated = store.update("enterprises", f["id"], {"properties": {"version": 1, "employees": 12}}, PLANNER)
    assert updated["properties"]["version"] == 2
    assert updated["properties"]["employees"] == 12
    assert updated["properties"]["name"] == f["properties"]["name"]
    moved = store.update(
        "enterprises",
        f["id"],
        {"geometry": {"type": "Point", "coordinates": [83.01, 46.21]}},
        PLANNER,
        expected_version=2,
    )
    assert moved["geometry"]["coordinates"] == (83.01, 46.21)
    assert moved["properties"]["version"] == 3


def test_stale_update_is_refused(store: FeatureStore) -> None:
    f = store.create("enterprises", enterprise(), PLANNER)
    store.update("enterprises", f["id"], {"properties": {"version": 1, "employees": 20}}, Actor("李调度", "planner"))
    with pytest.raises(VersionConflict) as exc:
        store.update("enterprises", f["id"], {"properties": {"version": 1, "employees": 99}}, PLANNER)
    assert exc.value.status == 409
    assert "李调度" in exc.value.message
    assert store.get("enterprises", f["id"])["properties"]["employees"] == 20


def test_update_without_version_is_refused(store: FeatureStore) -> None:
    f = store.create("enterprises", enterprise(), PLANNER)
    with pytest.raises(VersionRequired):
        store.update("enterprises", f["id"], {"properties": {"employees": 3}}, PLANNER)


def test_concurrent_updates_one_wins(store: FeatureStore) -> None:
    f = store.create("enterprises", enterprise(), PLANNER)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def edit(n: int) -> None:
        barrier.wait()
        try:
            store.update("enterprises", f["id"], {"properties": {"version": 1, "employees": n}}, PLANNER)
            outcomes.append("ok")
        except VersionConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "ok"]
    assert store.get("enterprises", f["id"])["properties"]["version"] == 2


def test_required_field_cannot_be_cleared(store: FeatureStore) -> None:
    f = store.create("enterprises", enterprise(), PLANNER)
    with pytest.raises(ValidationFailed) as exc:
        store.update("enterprises", f["id"], {"properties": {"version": 1, "name": ""}}, PLANNER)
    assert exc.value.problems[0].field == "properties.name"


def test_delete_needs_current_version(store: FeatureStore) -> None:
    f = store.create("enterprises", enterprise(), PLANNER)
    with pytest.raises(VersionRequired):
        store.delete("enterprises", f["id"], PLANNER, expected_version=None)
    with pytest.raises(VersionConflict):
        store.delete("enterprises", f["id"], PLANNER, expected_version=7)
    store.delete("enterprises", f["id"], PLANNER, expected_version=1)
    with pytest.raises(FeatureNotFound):
        store.get("enterprises", f["id"])
    with pytest.raises(FeatureNotFound):
        store.delete("enterprises", f["id"], PLANNER, expected_version=1)


def test_child_rows_round_trip_and_replace(store: FeatureStore) -> None:
    e = store.create("enterprises", enterprise(), PLANNER)
    t = store.create(
        "hazard_sources",
        tank(
            e["id"],
            [
                {"name": "液氨", "cas": "7664-41-7", "hazard_class": "J3", "quantity_t": 12.5},
                {"name": "甲醇", "cas": "67-56-1", "quantity_t": 80},
            ],
        ),
        PLANNER,
    )
    subs = store.get("hazard_sources", t["id"])["properties"]["substances"]
    assert [(s["name"], s["quantity_t"]) for s in subs] == [("液氨", 12.5), ("甲醇", 80.0)]
    store.update(
        "hazard_sources",
        t["id"],
        {"properties": {"version": 1, "substances": [{"name": "液氯", "quantity_t": 4}]}},
        PLANNER,
    )
    subs = store.get("hazard_sources", t["id"])["properties"]["substances"]
    assert subs == [  # every catalogue field of the child row, unset ones None (flash/boiling point: issue 11)
        {
            "name": "液氯",
            "cas": None,
            "hazard_class": None,
            "quantity_t": 4.0,
            "flash_point_c": None,
            "boiling_point_c": None,
        }
    ]
    # a PATCH without the child list keeps it
    store.update("hazard_sources", t["id"], {"properties": {"version": 2, "name": "2号储罐"}}, PLANNER)
    assert len(store.get("hazard_sources", t["id"])["properties"]["substances"]) == 1


def test_bad_child_row_names_the_row(store: FeatureStore) -> None:
    e = store.create("enterprises", enterprise(), PLANNER)
    with pytest.raises(ValidationFailed) as exc:
        store.create(
            "hazard_sources",
            tank(e["id"], [{"name": "液氨", "quantity_t": 1}, {"name": "苯", "cas": "71-43-3", "quantity_t": -2}]),
            PLANNER,
        )
    fields = {p.field for p in exc.value.problems}
    assert fields == {"properties.substances[1].cas", "properties.substances[1].quantity_t"}
    assert store.counts()["hazard_sources"] == 0


def test_reference_must_exist_and_blocks_delete(store: FeatureStore) -> None:
    with pytest.raises(ValidationFailed) as exc:
        store.create("hazard_sources", tank(999, []), PLANNER)
    assert exc.value.problems[0].field == "properties.enterprise_id"
    e = store.create("enterprises", enterprise(), PLANNER)
    store.create("hazard_sources", tank(e["id"], []), PLANNER)
    with pytest.raises(VersionConflict) as exc2:
        store.delete("enterprises", e["id"], PLANNER, expected_version=1)
    assert "危险源" in exc2.value.message


def test_bbox_query_uses_real_geometry(store: FeatureStore) -> None:
    # An L-shaped road whose envelope covers the box but whose line does not touch it.
    road = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[83.0, 46.2], [83.02, 46.2], [83.02, 46.22]]},
        "properties": {"name": "工业街", "road_class": "urban_branch", "status": "open"},
    }
    store.create("roads", road, PLANNER)
    assert store.query("roads", bbox=(83.015, 46.195, 83.025, 46.205)).number_matched == 1
    assert store.query("roads", bbox=(83.001, 46.21, 83.005, 46.215)).number_matched == 0
    for i in range(5):
        store.create("enterprises", enterprise(f"企业{i}", lon=83.0 + i * 0.01), PLANNER)
    page = store.query("enterprises", bbox=(82.995, 46.19, 83.025, 46.21))
    assert [r["name"] for r in page.rows] == ["企业0", "企业1", "企业2"]
    assert page.number_matched == 3


def test_attribute_filters_search_and_paging(store: FeatureStore) -> None:
    for i, level in enumerate(["red", "orange", "yellow", "blue", "red", "blue"]):
        store.create("enterprises", enterprise(f"企业{i}号", risk_level=level, employees=i), PLANNER)
    filters = {"risk_level": ["red", "blue"]}  # typed; text is parsed by the HTTP layer (tests/api/test_filters.py)
    page = store.query("enterprises", filters=filters)
    assert sorted(r["risk_level"] for r in page.rows) == ["blue", "blue", "red", "red"]
    assert store.query("enterprises", filters={"employees": [3]}).number_matched == 1
    assert store.query("enterprises", q="4号").rows[0]["name"] == "企业4号"
    first = store.query("enterprises", limit=4, offset=0)
    second = store.query("enterprises", limit=4, offset=4)
    assert first.number_matched == second.number_matched == 6
    assert len(first) == 4 and len(second) == 2
    assert {r["id"] for r in first.rows}.isdisjoint(r["id"] for r in second.rows)


def test_search_text_is_literal(store: FeatureStore) -> None:
    store.create("enterprises", enterprise("100%纯净水厂"), PLANNER)
    store.create("enterprises", enterprise("A_B 公司"), PLANNER)
    store.create("enterprises", enterprise("AXB 公司"), PLANNER)
    assert [r["name"] for r in store.query("enterprises", q="%").rows] == ["100%纯净水厂"]
    assert [r["name"] for r in store.query("enterprises", q="a_b").rows] == ["A_B 公司"]


def test_time_range_on_temporal_field(store: FeatureStore) -> None:
    base = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [83.0, 46.2]}}
    for day in (1, 10, 20):
        store.create(
            "incidents",
            {
                **base,
                "properties": {
                    "name": f"事件{day}",
                    "kind": "fire",
                    "status": "closed",
                    "reported_at": f"2026-03-{day:02d}T08:00:00",  # local (Asia/Shanghai) time
                },
            },
            Actor("值班员", "dispatcher"),
        )
    start = dt.datetime(2026, 3, 5, tzinfo=dt.UTC)
    end = dt.datetime(2026, 3, 15, tzinfo=dt.UTC)
    page = store.query("incidents", time_range=(start, end))
    assert [r["name"] for r in page.rows] == ["事件10"]
    reported = page.rows[0]["reported_at"]
    assert reported == dt.datetime(2026, 3, 10, 0, 0, tzinfo=dt.UTC)


def test_polygon_stored_as_multipolygon_in_township_layer(store: FeatureStore) -> None:
    f = store.create(
        "townships",
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [[[83.0, 46.2], [83.1, 46.2], [83.1, 46.3], [83.0, 46.2]]]},
            "properties": {"name": "新地乡", "code": "654225201", "kind": "township", "population": 6000},
        },
        Actor("admin", "admin"),
    )
    assert f["geometry"]["type"] == "MultiPolygon"


def test_unknown_layer(store: FeatureStore) -> None:
    with pytest.raises(UnknownLayer):
        store.query("schools")


def test_failed_write_leaves_store_untouched(store: FeatureStore) -> None:
    e = store.create("enterprises", enterprise(), PLANNER)
    before = store.get("enterprises", e["id"])
    with pytest.raises(ValidationFailed):
        store.update("enterprises", e["id"], {"properties": {"version": 1, "risk_level": "purple"}}, PLANNER)
    with pytest.raises(ValidationFailed):
        store.update(
            "enterprises",
            e["id"],
            {"geometry": {"type": "Point", "coordinates": [116.4, 39.9]}, "properties": {"version": 1}},
            PLANNER,
        )
    assert store.get("enterprises", e["id"]) == before
    assert len(store.audit_log(layer="enterprises")) == 1


def test_audit_records_who_what_before_after(store: FeatureStore) -> None:
    f = store.create("enterprises", enterprise(employees=1), PLANNER)
    store.update("enterprises", f["id"], {"properties": {"version": 1, "employees": 2}}, Actor("张三", "admin"))
    store.delete("enterprises", f["id"], Actor("李四", "admin"), expected_version=2)
    log = store.audit_log(layer="enterprises", feature_id=f["id"])
    assert [(e["action"], e["actor"]) for e in log] == [("delete", "李四"), ("update", "张三"), ("create", "王规划")]
    delete_entry, update_entry, create_entry = log
    assert create_entry["before"] is None and create_entry["after"]["properties"]["employees"] == 1
    assert update_entry["before"]["properties"]["employees"] == 1
    assert update_entry["after"]["properties"]["employees"] == 2
    assert delete_entry["after"] is None and delete_entry["before"]["properties"]["version"] == 2
    assert all(e["at"].tzinfo is not None for e in log)


def test_generation_changes_on_every_write(store: FeatureStore) -> None:
    g0 = store.generation()
    f = store.create("enterprises", enterprise(), PLANNER)
    g1 = store.generation()
    store.update("enterprises", f["id"], {"properties": {"version": 1, "employees": 5}}, PLANNER)
    assert g0 < g1 < store.generation()


def test_geodataframe_view(store: FeatureStore) -> None:
    for i in range(3):
        store.create("enterprises", enterprise(f"企业{i}", lon=83.0 + i * 0.01), PLANNER)
    gdf = store.to_geodataframe("enterprises")
    assert len(gdf) == 3 and gdf.crs.to_epsg() == 4326
    assert list(gdf["name"]) == ["企业0", "企业1", "企业2"]
    assert shapely.equals(gdf.geometry.iloc[1], shapely.Point(83.01, 46.2))


def test_set_computed_fields(store: FeatureStore) -> None:
    e = store.create("enterprises", enterprise(), PLANNER)
    t = store.create("hazard_sources", tank(e["id"], [{"name": "液氨", "quantity_t": 30}]), PLANNER)
    g0 = store.generation()
    assert store.set_computed("hazard_sources", {t["id"]: {"s_value": 3.0, "r_value": 6.0, "grade": 4}}) == 1
    got = store.get("hazard_sources", t["id"])["properties"]
    assert (got["s_value"], got["grade"], got["version"]) == (3.0, 4, 1)
    assert store.generation() > g0
    with pytest.raises(ValidationFailed):
        store.set_computed("hazard_sources", {t["id"]: {"name": "改名"}})


def test_ids_are_never_reused(store: FeatureStore) -> None:
    a = store.create("enterprises", enterprise("甲"), PLANNER)
    b = store.create("enterprises", enterprise("乙"), PLANNER)
    store.delete("enterprises", b["id"], PLANNER, expected_version=1)
    c = store.create("enterprises", enterprise("丙"), PLANNER)
    assert c["id"] > b["id"] > a["id"]
