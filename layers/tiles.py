"""Mapbox vector tiles (MVT) of a layer, in the Web Mercator tile grid (z/x/y, XYZ scheme).

PostGIS builds them itself with ``ST_AsMVT``, filtering by the tile envelope
transformed to the storage SRID (4326) so the GIST index is used. The GeoPackage
store does the same in Python: an R-tree bbox query, projection to tile pixels,
clipping with shapely and encoding with ``mapbox-vector-tile``. Both give the same
features with the same attributes; coordinates agree to the tile grid (1/4096 of a tile).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import mapbox_vector_tile
import numpy as np
import shapely
from sqlalchemy import text

from safemap.layers.catalogue import Layer
from safemap.layers.errors import BadQuery
from safemap.layers.store import FeatureStore

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22


def tile_properties(layer: Layer) -> list[str]:
    """Attributes carried in the tiles besides ``id``: what the map needs to style and label a feature.

    ``id`` is both the MVT feature id and a property, because Leaflet.VectorGrid hands
    click handlers the properties only.
    """
    names = ["name"]
    style = layer.style
    if style is None:
        return names
    for extra in (style.by, style.dash_when[0] if style.dash_when else None):
        if extra and extra not in names:
            names.append(extra)
    return names


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a tile in degrees."""
    n = 2**z

    def lat(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def check_tile(z: int, x: int, y: int) -> None:
    """Refuse a tile address outside the grid (400 naming the coordinate)."""
    if not 0 <= z <= MAX_ZOOM:
        raise BadQuery(f"z: 缩放级别应在 0–{MAX_ZOOM} 之间，收到 {z}")
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value < 2**z:
            raise BadQuery(f"{name}: 第 {z} 级的瓦片编号应在 0–{2**z - 1} 之间，收到 {value}")


def render_tile(
    store: FeatureStore,
    layer_name: str,
    z: int,
    x: int,
    y: int,
    *,
    owner: int | None = None,
    counties: Sequence[str] | None = None,
) -> bytes:
    """The MVT tile of ``layer_name`` at ``z/x/y`` (empty bytes when no feature falls in it).

    ``owner``: only that enterprise's rows (an enterprise user's map, :mod:`layers.row_access`);
    ``counties``: only those counties' rows (:mod:`layers.counties`).
    """
    layer = store.layer(layer_name)
    if not layer.is_spatial:
        raise BadQuery(f"layer: {layer.label}没有几何图形，没有瓦片")
    check_tile(z, x, y)
    if store.kind == "postgis" and owner is None:
        return _postgis_tile(store, layer, z, x, y, counties)
    return _python_tile(store, layer, z, x, y, owner, counties)


def _postgis_tile(
    store: FeatureStore, layer: Layer, z: int, x: int, y: int, counties: Sequence[str] | None = None
) -> bytes:
    cols = ", ".join(f't."{name}"' for name in tile_properties(layer))
    sql = text(
        f"""
        WITH bounds AS (
            SELECT ST_TileEnvelope(:z, :x, :y) AS env,
                   ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => {BUFFER / EXTENT}), 4326) AS env4326
        )
        SELECT ST_AsMVT(q, :layer, {EXTENT}, 'geom', 'fid') FROM (
            SELECT t.id AS fid, t.id, {cols},
                   ST_AsMVTGeom(ST_Transform(t.geom, 3857), bounds.env, {EXTENT}, {BUFFER}, true) AS geom
            FROM "{layer.name}" t, bounds
            WHERE t.geom && bounds.env4326 {"AND t.county_code = ANY(:counties)" if counties is not None else ""}
        ) q WHERE q.geom IS NOT NULL
        """
    )
    with store.transaction(readonly=True) as tx:
        params: dict[str, Any] = {"z": z, "x": x, "y": y, "layer": layer.name}
        if counties is not None:
            params["counties"] = list(counties)
        data = tx.execute(sql, params).scalar()
    return bytes(data or b"")


def _python_tile(
    store: FeatureStore,
    layer: Layer,
    z: int,
    x: int,
    y: int,
    owner: int | None = None,
    counties: Sequence[str] | None = None,
) -> bytes:
    west, south, east, north = tile_bounds(z, x, y)
    margin_x = (east - west) * BUFFER / EXTENT
    margin_y = (north - south) * BUFFER / EXTENT
    page = store.query(
        layer.name,
        bbox=(west - margin_x, south - margin_y, east + margin_x, north + margin_y),
        limit=None,
        count=False,
        children=False,
        owner=owner,
        counties=counties,
    )
    if not page.rows:
        return b""
    n = 2**z

    def to_pixels(coords: np.ndarray) -> np.ndarray:
        lon, lat = coords[:, 0], np.radians(np.clip(coords[:, 1], -85.05112878, 85.05112878))
        px = ((lon + 180) / 360 * n - x) * EXTENT
        py = ((1 - np.log(np.tan(lat) + 1 / np.cos(lat)) / math.pi) / 2 * n - y) * EXTENT
        return np.column_stack([px, py])

    pixels = shapely.transform(page.geometries, to_pixels)
    clipped = shapely.clip_by_rect(pixels, -BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
    props = tile_properties(layer)
    features: list[dict[str, Any]] = []
    for row, geom in zip(page.rows, clipped, strict=True):
        if geom is None or geom.is_empty:
            continue
        features.append(
            {
                "id": row["id"],
                "geometry": geom,
                "properties": {"id": row["id"], **{k: row[k] for k in props if row.get(k) is not None}},
            }
        )
    if not features:
        return b""
    return mapbox_vector_tile.encode(
        [{"name": layer.name, "features": features}],
        default_options={"extents": EXTENT, "y_coord_down": True},
    )
