"""A few features of every geometry kind and value type the map's popups show (both map test modules)."""

from __future__ import annotations

from typing import Any

from safemap.layers.definitions import LAYERS
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from safemap.webmap.features import drawn
from tests.support.demo import YUMIN_EXTENT

ADMIN = Actor("test", "admin")
#: Layers with geometry and a style; attribute tables (rules …) are not drawn.
MAP_LAYERS = drawn(LAYERS)
EXTENT = YUMIN_EXTENT


def feature(lon: float, lat: float, **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": props,
    }


def line(coords: list[tuple[float, float]], **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": props,
    }


def fill(store: FeatureStore) -> dict[str, int]:
    """A handful of features covering every geometry kind and value type the popups show."""
    ids: dict[str, int] = {}
    square = [[82.9, 46.1], [83.1, 46.1], [83.1, 46.3], [82.9, 46.3], [82.9, 46.1]]
    ids["township"] = store.create(
        "townships",
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [square]},
            "properties": {
                "name": "哈拉布拉镇",
                "code": "654225100",
                "kind": "town",
                "population": 21000,
            },
        },
        ADMIN,
    )["id"]
    ids["enterprise"] = store.create(
        "enterprises",
        feature(
            82.98123456789,
            46.2012345678,
            name="裕民县示例化工有限公司",
            industry="hazchem_production",
            risk_level="red",
            employees=120,
            contact="张工",
        ),
        ADMIN,
    )["id"]
    store.create(
        "hazard_sources",
        feature(
            82.9813,
            46.2013,
            name="1号储罐",
            enterprise_id=ids["enterprise"],
            kind="storage_tank",
            substances=[{"name": "汽油", "quantity_t": 120}, {"name": "柴油", "quantity_t": 300.5}],
        ),
        ADMIN,
    )
    store.create(
        "roads",
        line(
            [(82.97, 46.20), (82.99, 46.20)],
            name="文化路",
            road_class="urban_arterial",
            status="closed",
            oneway=False,
            width_m=12.0,
        ),
        ADMIN,
    )
    store.create(
        "incidents",
        feature(
            82.985,
            46.205,
            name="加油站火情",
            kind="fire",
            status="responding",
            reported_at="2026-11-29T10:30:00+08:00",
        ),
        ADMIN,
    )
    store.create(
        "rescue_teams",
        feature(
            82.99,
            46.21,
            name="裕民县消防救援大队",
            kind="fire_station",
            headcount=45,
            status="available",
            vehicles=[{"profile": "fire_engine", "count": 3}],
        ),
        ADMIN,
    )
    return ids
