"""The embedded store is a real GeoPackage: GDAL reads it, with its R-tree and Chinese titles."""

from __future__ import annotations

import sqlite3

import pyogrio
import shapely

from safemap.layers.geopackage import decode_many, encode
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore

ADMIN = Actor("admin", "admin")


def _fill(store: FeatureStore) -> None:
    for i in range(20):
        store.create(
            "enterprises",
            {
                "geometry": {"type": "Point", "coordinates": [83.0 + i * 0.01, 46.2]},
                "properties": {"name": f"企业{i}", "industry": "other", "risk_level": "blue"},
            },
            ADMIN,
        )
    store.create(
        "roads",
        {
            "geometry": {"type": "LineString", "coordinates": [[83.0, 46.1], [83.1, 46.1]]},
            "properties": {"name": "G219", "road_class": "national", "status": "open", "ref": "G219"},
        },
        ADMIN,
    )


def test_blob_round_trip() -> None:
    geoms = [
        shapely.Point(83.0, 46.2),
        shapely.LineString([(83, 46), (83.1, 46.1)]),
        shapely.MultiPolygon([shapely.box(83, 46, 83.1, 46.1)]),
        shapely.Polygon(),
    ]
    blobs = [encode(g) for g in geoms]
    assert all(b[:2] == b"GP" for b in blobs)
    assert blobs[3][3] & 0b10000  # empty flag
    back = decode_many(blobs)
    for a, b in zip(geoms, back, strict=True):
        assert shapely.equals(a, b) or (a.is_empty and b.is_empty)


def test_gdal_reads_layers_with_spatial_index(gpkg_store: FeatureStore) -> None:
    _fill(gpkg_store)
    path = str(gpkg_store.backend.path)
    gpkg_store.close()
    layers = dict(pyogrio.list_layers(path))
    assert layers["enterprises"] == "Point" and layers["roads"] == "LineString"
    info = pyogrio.read_info(path, layer="enterprises")
    assert info["fid_column"] == "id" and info["crs"] == "EPSG:4326"
    assert info["capabilities"]["fast_spatial_filter"]
    assert info["layer_metadata"]["IDENTIFIER"] == "企业"
    df = pyogrio.read_dataframe(path, layer="enterprises", bbox=(82.995, 46.19, 83.035, 46.21))
    assert sorted(df["name"]) == ["企业0", "企业1", "企业2", "企业3"]


def test_application_id_and_titles(gpkg_store: FeatureStore) -> None:
    path = str(gpkg_store.backend.path)
    gpkg_store.close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
    assert con.execute("PRAGMA user_version").fetchone()[0] == 10300  # GPKG 1.3: no GDAL 3.6 warning
    title = con.execute(
        "SELECT title FROM gpkg_data_columns WHERE table_name='fire_lanes' AND column_name='width_m'"
    ).fetchone()[0]
    assert title == "净宽 (m)"
    con.close()


def test_rtree_follows_updates_and_deletes(gpkg_store: FeatureStore) -> None:
    f = gpkg_store.create(
        "enterprises",
        {
            "geometry": {"type": "Point", "coordinates": [83.0, 46.2]},
            "properties": {"name": "移动企业", "industry": "other", "risk_level": "blue"},
        },
        ADMIN,
    )
    gpkg_store.update(
        "enterprises", f["id"], {"geometry": {"type": "Point", "coordinates": [83.3, 46.3]}}, ADMIN, expected_version=1
    )
    assert gpkg_store.query("enterprises", bbox=(82.9, 46.1, 83.1, 46.25)).number_matched == 0
    assert gpkg_store.query("enterprises", bbox=(83.25, 46.25, 83.35, 46.35)).number_matched == 1
    gpkg_store.delete("enterprises", f["id"], ADMIN, expected_version=2)
    with gpkg_store.backend.read() as conn:
        assert conn.exec_driver_sql('SELECT count(*) FROM "rtree_enterprises_geom"').scalar_one() == 0
