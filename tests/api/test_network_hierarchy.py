"""A large network gets its contraction hierarchy in the background; answers stay Dijkstra's, before and after."""

from __future__ import annotations

import time
from typing import Any

import pytest
from shapely.geometry import mapping

from safemap.api.services import routing
from safemap.api.services.network import NetworkService
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from tests.gis.netfixtures import frame, ll, random_xy, road

ADMIN = Actor("admin", "admin")


def _seed_grid(store: FeatureStore, side: int = 7, block: float = 300.0) -> None:
    """A street grid with a one-way street and a low underpass, drawn with vertices at every crossing."""
    rows = []
    for i in range(side):
        line = [(i * block, j * block) for j in range(side)]
        rows.append(road(len(rows) + 1, line, oneway=(i == 2)))
        rows.append(road(len(rows) + 1, [(y, x) for x, y in line], max_height_m=3.6 if i == 4 else None))
    for _, r in frame(rows).iterrows():
        props: dict[str, Any] = {k: r[k] for k in ("name", "road_class", "speed_kmh", "oneway", "width_m", "status")}
        if r["max_height_m"] is not None and r["max_height_m"] == r["max_height_m"]:
            props["max_height_m"] = float(r["max_height_m"])
        store.create("roads", {"type": "Feature", "geometry": mapping(r.geometry), "properties": props}, ADMIN)


def _ready(svc: NetworkService, store: FeatureStore) -> dict[str, Any]:
    for _ in range(400):
        status = routing.network_status(store, svc)
        if status["hierarchy"] != "building":
            return status
        time.sleep(0.05)
    raise AssertionError("hierarchy still building")


def test_hierarchy_is_built_in_the_background_and_changes_no_answer(store: FeatureStore) -> None:
    _seed_grid(store)
    plain, fast = NetworkService(), NetworkService(hierarchy_min_edges=1)
    assert routing.network_status(store, plain)["hierarchy"] == "none"
    status = _ready(fast, store)
    assert status["hierarchy"] == "ready" and status["hierarchy_label"] == "加速索引已就绪"
    assert status["hierarchy_s"] >= 0
    points = [list(ll(x, y)) for x, y in random_xy(25, seed=2, size=1800.0)]
    origin = list(ll(900, 900))
    options = routing.RouteOptions()
    router = fast.router(store)
    hierarchy = router.hierarchy
    assert hierarchy is not None
    cost = router.segment_cost(routing.vehicle_of(store, fast, options.vehicle))
    for direction in ("from", "to"):
        expected = routing.matrix(store, plain, origin, points, options, direction)["durations_s"]
        # The first query per vehicle is Dijkstra's while its metric is customized; later ones are the hierarchy's.
        for _ in range(100):
            got = routing.matrix(store, fast, origin, points, options, direction)["durations_s"]
            assert got == pytest.approx(expected, abs=0.05)
            if hierarchy.ready(cost):
                break
            time.sleep(0.05)
        got = routing.matrix(store, fast, origin, points, options, direction)["durations_s"]
        assert got == pytest.approx(expected, abs=0.05)
    assert hierarchy.customizations == 1
    # A road closed on the map: the next answers follow, from a metric updated in place.
    closed = store.to_geodataframe("roads").iloc[6]
    store.update(
        "roads", int(closed["id"]), {"properties": {"status": "closed"}}, ADMIN, expected_version=int(closed["version"])
    )
    expected = routing.matrix(store, plain, origin, points, options, "to")["durations_s"]
    got = routing.matrix(store, fast, origin, points, options, "to")["durations_s"]
    assert got == pytest.approx(expected, abs=0.05)
    assert got != routing.matrix(store, plain, origin, points, RouteOptions_ignoring(), "to")["durations_s"]
    assert hierarchy.customizations == 1 and hierarchy.partial_updates >= 1
    assert fast.router(store) is router  # closures replaced in place, no rebuild


def RouteOptions_ignoring() -> routing.RouteOptions:  # noqa: N802
    return routing.RouteOptions(ignore_closures=True)
