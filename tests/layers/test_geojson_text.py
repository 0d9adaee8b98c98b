"""``FeatureStore.query_geojson`` writes what ``query`` + ``layers.geojson`` write, on both stores.

PostGIS builds the text in SQL and streams it; the GeoPackage reads the page without
per-value conversion. Either way the features must be the same JSON (same keys in the
same order, same values, same ids, rings oriented per RFC 7946) as the Python encoder's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest

from safemap.layers.geojson import feature_collection_bytes, feature_collection_head
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore

PLANNER = Actor("王规划", "planner")
CW_RING = [[83.0, 46.2], [83.0, 46.2003], [83.0004, 46.2003], [83.0004, 46.2], [83.0, 46.2]]  # clockwise


def _both(store: FeatureStore, layer: str, **query: Any) -> tuple[bytes, bytes]:
    page = store.query(layer, **query)
    old = feature_collection_bytes(page, numberMatched=page.number_matched, numberReturned=len(page), links=[])
    stream = store.query_geojson(layer, **query)
    head = feature_collection_head(numberMatched=stream.number_matched, numberReturned=stream.number_returned, links=[])
    return old, head + b"".join(stream) + b"]}"


def _same(old: bytes, new: bytes) -> None:
    a, b = orjson.loads(old), orjson.loads(new)
    assert a == b
    assert [list(f["properties"]) for f in a["features"]] == [list(f["properties"]) for f in b["features"]]
    assert [list(f) for f in a["features"]] == [list(f) for f in b["features"]]


@pytest.fixture
def filled(store: FeatureStore) -> FeatureStore:
    for i in range(12):
        store.create(
            "enterprises",
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [83.0 + i / 1000, 46.2 + i / 3000]},
                "properties": {
                    "name": f'裕民县"宏达"化工{i}号\\有限公司',
                    "industry": "hazchem_storage",
                    "risk_level": ["red", "orange", "yellow", "blue"][i % 4],
                    **({"employees": i * 7} if i % 3 else {}),
                    "contact": "阿依古丽·买买提",
                },
            },
            PLANNER,
        )
    first = store.query("enterprises", limit=1).rows[0]["id"]
    substances = [{"name": "液氨", "quantity_t": 30}, {"name": "甲醇", "quantity_t": 0.30000000000000004}]
    store.create(
        "hazard_sources",
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [CW_RING]},
            "properties": {
                "name": "1号储罐",
                "enterprise_id": first,
                "kind": "storage_tank",
                "substances": substances,
            },
        },
        PLANNER,
    )
    return store


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"limit": 5, "offset": 3},
        {"limit": 5, "offset": 100},
        {"sort": "-risk_level,name"},
        {"q": "宏达"},
        {"filters": {"risk_level": ["red", "blue"]}},
        {"filters": {"employees": [None]}},
        {"bbox": (82.999, 46.199, 83.004, 46.202)},
        {"time_range": (dt.datetime(2000, 1, 1, tzinfo=dt.UTC), None)},
    ],
)
def test_enterprises_as_the_python_encoder_writes_them(filled: FeatureStore, query: dict[str, Any]) -> None:
    old, new = _both(filled, "enterprises", **query)
    _same(old, new)


def test_children_floats_and_ring_orientation(filled: FeatureStore) -> None:
    old, new = _both(filled, "hazard_sources")
    _same(old, new)
    feature = orjson.loads(new)["features"][0]
    assert feature["geometry"]["coordinates"][0][1] == [83.0004, 46.2]  # exterior counter-clockwise
    assert [s["quantity_t"] for s in feature["properties"]["substances"]] == [30.0, 0.30000000000000004]


def test_attribute_table_without_geometry(filled: FeatureStore) -> None:
    old, new = _both(filled, "gb36894_limits")
    _same(old, new)
    assert orjson.loads(new)["features"][0]["geometry"] is None


def test_a_stream_closed_early_gives_its_connection_back(filled: FeatureStore) -> None:
    for _ in range(30):  # more than the PostGIS pool holds
        stream = filled.query_geojson("enterprises", limit=3)
        stream.close()
    assert filled.query_geojson("enterprises", limit=3).number_returned == 3
