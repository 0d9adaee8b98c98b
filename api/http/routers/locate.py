"""Typed coordinates read for the map's 坐标定位: ``GET /api/locate/coordinates``.

The same reading as an incident's location (:func:`~safemap.api.services.incident_location.parse_coordinates`):
decimal degrees or 度分秒 with ASCII or full-width marks, 东经/北纬 or E/N, latitude first
swapped by hemisphere letters or by the county's extent, WGS 84 or CGCS2000. Reading text
changes nothing, so no sign-in is needed.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from safemap.api.http.deps import get_store
from safemap.api.services.incident_location import parse_coordinates
from safemap.api.services.problems import invalid
from safemap.layers.store import FeatureStore

router = APIRouter(tags=["坐标定位"])


@router.get("/api/locate/coordinates", summary="读取输入的经纬度（十进制度或度分秒，WGS 84 / CGCS2000）")
def coordinates(
    text: str = Query(..., min_length=1, max_length=200, description="如 82.98, 46.20 或 82°58′47″E 46°12′01″N"),
    crs: Literal["WGS84", "CGCS2000"] = Query("WGS84", description="坐标系"),
    store: FeatureStore = Depends(get_store),
) -> dict[str, Any]:
    """Longitude and latitude (WGS 84 degrees) of the typed text, and how it was read (``notes``)."""
    try:
        lon, lat, notes = parse_coordinates(text, crs, store.extent)
    except ValueError as exc:
        raise invalid("text", str(exc)) from exc
    return {"lon": lon, "lat": lat, "crs": crs, "notes": list(notes)}
