"""Evacuation to shelters against a worked example, on both stores.

The network (metres from ``tests.gis.netfixtures.ORIGIN``, every road 36 km/h = 10 m/s)::

    west shelter (−1500, 0)                     east shelter (1500, 0)
    ●━━━━━━━━━━━━━━━━━━━━━┿━━━━━━ zone ━━━━━━━┿━━━━━━━━━━━━━━━━━━━━━━●
    −3000               −500   A(−200)  B(200) 500                  3000
                                  C on an isolated lane at y = 300

The zone is the square ±450 m. Village A (300 people) is 300 m from the zone's west
edge node, school B (200) 300 m from the east one; the middle segment touches the zone, so
the search weighs it ×10: A→west costs 300×10 + 1000 = 4000 "metres" (400 s), A→east
700×10 + 1000 = 8000 (800 s); B the mirror image. Real times: 1300 m = 130 s (2分10秒),
1700 m = 170 s (2分50秒). A shelter inside the zone is never used; C (40 people) has no
road out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from shapely.geometry import Polygon, mapping

from safemap.api.services import evacuation
from safemap.api.services.network import NetworkService
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from tests.gis.netfixtures import frame, ll, road

ADMIN = Actor("admin", "admin")
ZONE = Polygon([ll(-450, -450), ll(450, -450), ll(450, 450), ll(-450, 450)])


def _point(store: FeatureStore, layer: str, x: float, y: float, **props: Any) -> int:
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(ll(x, y))}, "properties": props}
    return int(store.create(layer, feature, ADMIN)["id"])


def seed(store: FeatureStore, west: int, east: int) -> dict[str, int]:
    rows = [
        road(1, [(-3000, 0), (-500, 0)]),
        road(2, [(-500, 0), (500, 0)]),
        road(3, [(500, 0), (3000, 0)]),
        road(4, [(-100, 300), (100, 300)], name="孤立小路"),
    ]
    for _, r in frame(rows).iterrows():
        props = {k: r[k] for k in ("name", "road_class", "speed_kmh", "oneway", "width_m", "status")}
        store.create("roads", {"type": "Feature", "geometry": mapping(r.geometry), "properties": props}, ADMIN)
    return {
        "A": _point(store, "settlements", -200, 0, name="甲村", kind="village", population=300),
        "B": _point(store, "protected_targets", 200, 0, name="乙小学", category="school", population=200),
        "C": _point(store, "settlements", 0, 300, name="丙队", kind="village", population=40),
        "west": _point(store, "shelters", -1500, 0, name="西避难场所", kind="school", capacity=west),
        "east": _point(store, "shelters", 1500, 0, name="东避难场所", kind="square", capacity=east),
        "inside": _point(store, "shelters", 0, 100, name="区内广场", kind="square", capacity=5000),
    }


def _flows(result: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(a["origin"]["name"], a["shelter"]["name"]): a["people"] for a in result["assignments"]}


def test_nearest_shelter_outside_within_capacity(store: FeatureStore) -> None:
    seed(store, west=250, east=1000)
    result = evacuation.plan(store, NetworkService(), ZONE)
    # A overflows its nearest shelter (250 places): 50 go east. B goes east. Nobody uses the shelter inside.
    assert _flows(result) == {("甲村", "西避难场所"): 250, ("甲村", "东避难场所"): 50, ("乙小学", "东避难场所"): 200}
    by = {(a["origin"]["name"], a["shelter"]["name"]): a for a in result["assignments"]}
    west = by[("甲村", "西避难场所")]
    assert west["distance_m"] == pytest.approx(1300, abs=1) and west["duration_s"] == pytest.approx(130, abs=0.5)
    assert west["duration_text"] == "2分10秒" and west["inside_m"] == pytest.approx(300, abs=1)
    assert by[("甲村", "东避难场所")]["duration_text"] == "2分50秒"
    assert west["route"]["type"] == "LineString"
    line = np.array(west["route"]["coordinates"])
    assert line[0] == pytest.approx(ll(-200, 0), abs=1e-6) and line[-1] == pytest.approx(ll(-1500, 0), abs=1e-6)
    assert result["excluded_shelters"] == [
        {"id": result["excluded_shelters"][0]["id"], "name": "区内广场", "reason": "位于危险区内"}
    ]
    assert [(u["origin"]["name"], u["people"], u["reason"]) for u in result["unassigned"]] == [
        ("丙队", 40, evacuation.NO_ROUTE)
    ]
    assert result["people"] == 540 and result["assigned"] == 500 and result["unassigned_people"] == 40
    shelters = {s["name"]: (s["assigned"], s["remaining"]) for s in result["shelters"]}
    assert shelters == {"西避难场所": (250, 0), "东避难场所": (250, 750)}


def test_capacity_overflow_leaves_people_unassigned_with_the_reason(store: FeatureStore) -> None:
    seed(store, west=100, east=150)
    result = evacuation.plan(store, NetworkService(), ZONE)
    # 250 places for 500 reachable people: each shelter takes the people nearest to it.
    assert _flows(result) == {("甲村", "西避难场所"): 100, ("乙小学", "东避难场所"): 150}
    left = {(u["origin"]["name"], u["reason"]): u["people"] for u in result["unassigned"]}
    assert left == {
        ("甲村", evacuation.NO_ROOM): 200,
        ("乙小学", evacuation.NO_ROOM): 50,
        ("丙队", evacuation.NO_ROUTE): 40,
    }


def test_transport_problem_beats_greedy() -> None:
    # Greedy (largest first, nearest shelter) sends X's 100 people to S1, the only shelter Y can reach.
    seconds = np.array([[100.0, 200.0], [150.0, np.inf]])  # X: S1 100 s, S2 200 s; Y: only S1
    flows, left = evacuation.assign([100, 50], [100, 100], seconds)
    assert flows.tolist() == [[50, 50], [50, 0]] and left.tolist() == [0, 0]


def test_no_shelter_at_all(store: FeatureStore) -> None:
    seed(store, west=0, east=0)
    result = evacuation.plan(store, NetworkService(), ZONE)
    assert result["assignments"] == [] and result["assigned"] == 0
    assert {u["reason"] for u in result["unassigned"]} == {evacuation.NO_ROUTE}
    assert {s["reason"] for s in result["excluded_shelters"]} == {"容量为 0", "位于危险区内"}


def test_http_evacuation_of_an_incident(gpkg_store: FeatureStore) -> None:
    import json

    from fastapi.testclient import TestClient

    from safemap.api.http.app import create_app
    from safemap.api.settings import Settings

    seed(gpkg_store, west=250, east=1000)
    incident = _point(
        gpkg_store, "incidents", 0, 0, name="氯气泄漏", kind="leak", status="responding",
        reported_at="2026-12-01T03:00:00+08:00",
    )  # fmt: skip
    with TestClient(create_app(Settings(basemap="none", warning_worker=False), store=gpkg_store)) as client:
        before = client.get(f"/api/incidents/{incident}/evacuation")
        assert before.status_code == 422 and before.json()["problems"][0]["field"] == "bands"
        bands = [{"label": "危险区", "threshold": None, "geometry": mapping(ZONE)}]
        props = {
            "name": "危险区 1", "incident_id": incident, "seq": 1, "model": "gaussian_plume", "inputs": "{}",
            "bands": json.dumps(bands), "created_by": "test",
        }  # fmt: skip
        gpkg_store.create("incident_zones", {"type": "Feature", "geometry": mapping(ZONE), "properties": props}, ADMIN)
        r = client.get(f"/api/incidents/{incident}/evacuation")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["bands"] == ["危险区"] and body["assigned"] == 500 and len(body["assignments"]) == 3
        assert client.get(f"/api/incidents/{incident}/evacuation?vehicle=tank").status_code == 422
        assert client.get(f"/api/incidents/{incident}/evacuation?bands=无此分区").status_code == 422
        assert client.get("/api/incidents/999999/evacuation").status_code == 404


def test_people_counted_once(gpkg_store: FeatureStore) -> None:
    seed(gpkg_store, west=250, east=1000)
    # The village's own houses as a protected target at the village point: the village is not counted again.
    _point(gpkg_store, "protected_targets", -200, 10, name="甲村住户", category="village", population=300)
    origins = {o.name: o.people for o in evacuation.origins_in(gpkg_store, ZONE)}
    assert origins == {"乙小学": 200, "甲村住户": 300, "丙队": 40}
