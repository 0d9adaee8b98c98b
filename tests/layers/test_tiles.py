"""Vector tiles: the same features and attributes from both stores, readable by GDAL's MVT driver."""

from __future__ import annotations

import math
from pathlib import Path

import mapbox_vector_tile
import pyogrio
import pytest
import shapely

from safemap.layers.errors import BadQuery
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from safemap.layers.tiles import render_tile, tile_bounds

ADMIN = Actor("admin", "admin")
Z = 14


def tile_of(lon: float, lat: float, z: int = Z) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def fill(store: FeatureStore) -> None:
    for i in range(6):
        store.create(
            "roads",
            {
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[82.97 + i * 0.002, 46.19], [82.97 + i * 0.002, 46.215]],
                },
                "properties": {
                    "name": f"南北{i}路",
                    "road_class": "urban_branch",
                    "status": "closed" if i == 2 else "open",
                },
            },
            ADMIN,
        )
    store.create(
        "enterprises",
        {
            "geometry": {"type": "Point", "coordinates": [82.975, 46.2]},
            "properties": {"name": "县城加油站", "industry": "fuel_station", "risk_level": "orange"},
        },
        ADMIN,
    )
    store.create(
        "roads",
        {  # far away: must not be in the tile
            "geometry": {"type": "LineString", "coordinates": [[83.3, 46.0], [83.31, 46.0]]},
            "properties": {"name": "远处道路", "road_class": "village", "status": "open"},
        },
        ADMIN,
    )


def test_tile_bounds_round_trip() -> None:
    x, y = tile_of(82.975, 46.2)
    w, s, e, n = tile_bounds(Z, x, y)
    assert w <= 82.975 <= e and s <= 46.2 <= n
    assert e - w == pytest.approx(360 / 2**Z)


def test_tile_content_matches_store(store: FeatureStore, tmp_path: Path) -> None:
    fill(store)
    x, y = tile_of(82.975, 46.2)
    data = render_tile(store, "roads", Z, x, y)
    decoded = mapbox_vector_tile.decode(data)["roads"]
    assert decoded["extent"] == 4096
    names = sorted(f["properties"]["name"] for f in decoded["features"])
    w, s, e, n = tile_bounds(Z, x, y)
    expected = sorted(r["name"] for r in store.query("roads", bbox=(w, s, e, n), limit=None).rows)
    assert names == expected and "远处道路" not in names and len(names) >= 3
    closed = [f for f in decoded["features"] if f["properties"]["status"] == "closed"]
    assert [f["properties"]["road_class"] for f in closed] == ["urban_branch"]
    assert all(isinstance(f["id"], int) and f["properties"]["id"] == f["id"] for f in decoded["features"])

    # GDAL's MVT driver, an independent reader, georeferences the tile back to lon/lat.
    path = tmp_path / f"{Z}" / f"{x}" / f"{y}.mvt"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    gdf = pyogrio.read_dataframe(path, layer="roads", X=str(x), Y=str(y), Z=str(Z)).to_crs(4326)
    by_name = {
        r["name"]: g
        for r, g in zip(store.query("roads", limit=None).rows, store.query("roads", limit=None).geometries, strict=True)
    }
    tile_px_deg = (e - w) / 4096
    for name, geom in zip(gdf["name"], gdf.geometry, strict=True):
        clipped = shapely.clip_by_rect(by_name[name], w, s, e, n)  # GDAL clips at the tile edge
        assert shapely.hausdorff_distance(geom, clipped) < 2 * tile_px_deg + 1e-4


def test_points_and_empty_tiles(store: FeatureStore) -> None:
    fill(store)
    x, y = tile_of(82.975, 46.2)
    pts = mapbox_vector_tile.decode(render_tile(store, "enterprises", Z, x, y))["enterprises"]["features"]
    assert [(f["properties"]["name"], f["properties"]["risk_level"]) for f in pts] == [("县城加油站", "orange")]
    assert render_tile(store, "enterprises", Z, 0, 0) == b""


@pytest.mark.parametrize(("z", "x", "y"), [(-1, 0, 0), (23, 0, 0), (3, 8, 0), (3, 0, -1)])
def test_bad_tile_addresses(gpkg_store: FeatureStore, z: int, x: int, y: int) -> None:
    with pytest.raises(BadQuery):
        render_tile(gpkg_store, "roads", z, x, y)
