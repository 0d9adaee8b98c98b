"""Where a rescue team starts from: its vehicle's fresh live position, else its station (issue 13).

A fire engine on its way back from another call is routed from where it is; without a fresh
position (no GPS, parked and silent, or 离线) the team's station is used.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from safemap.layers.store import FeatureStore
from safemap.layers.timeseries import TimeSeries

#: A rescue vehicle's live position younger than this (seconds) is where its team starts from.
POSITION_FRESH_S = 300.0


def live_origins(store: FeatureStore, fresh_s: float, now: dt.datetime | None = None) -> dict[int, dict[str, Any]]:
    """Per team, the freshest live position of one of its vehicles (``vehicles.team_id``) younger than ``fresh_s``."""
    now = now or dt.datetime.now(dt.UTC)
    page = store.query("vehicles", filters={"kind": ["rescue"]}, limit=None, count=False, children=False)
    teams_of = {int(r["id"]): int(r["team_id"]) for r in page.rows if r.get("team_id") is not None}
    if not teams_of:
        return {}
    found: dict[int, dict[str, Any]] = {}
    plates = {int(r["id"]): r.get("plate") for r in page.rows}
    for vid, state in TimeSeries.for_store(store).vehicle_states().items():
        team = teams_of.get(vid)
        ts = state.get("ts")
        if team is None or ts is None or state.get("lon") is None or state.get("state") == "offline":
            continue
        age = (now - ts).total_seconds()
        if age > fresh_s or (team in found and found[team]["age_s"] <= age):
            continue
        found[team] = {
            "lonlat": (float(state["lon"]), float(state["lat"])),
            "plate": plates.get(vid),
            "vehicle_id": vid,
            "ts": ts,
            "age_s": round(max(age, 0.0), 1),
        }
    return found


def live_note(origin: dict[str, Any] | None, store: FeatureStore) -> dict[str, Any] | None:
    """Where a team starts from when it is its vehicle's live position (plate, time, age), for the panel."""
    if origin is None:
        return None
    lon, lat = origin["lonlat"]
    return {
        "plate": origin["plate"],
        "vehicle_id": origin["vehicle_id"],
        "lon": lon,
        "lat": lat,
        "ts": origin["ts"].astimezone(store.tz).isoformat(timespec="seconds"),
        "age_s": origin["age_s"],
        "text": f"按车辆 {origin['plate']} 的实时位置（{int(origin['age_s'])} 秒前）",
    }
