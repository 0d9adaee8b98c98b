"""Dispatch planning (gis.dispatch): lead vehicles, team ranking and material matching with known answers.

The networks are drawn in metres (:mod:`tests.gis.netfixtures`); every road is driven at
10 m/s, so 1000 m take 100 s.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import Point

from safemap.gis.dispatch import (
    LEAD_VEHICLE,
    Hazard,
    MaterialPlan,
    Need,
    Team,
    lead_vehicle,
    match_materials,
    rank_teams,
)
from safemap.gis.network import build_network, links_from_layers
from safemap.gis.routing import Router, Vehicle
from tests.gis.netfixtures import frame, ladder, ll, ringed_cross, road

ENGINE = Vehicle("fire_engine", "水罐消防车", 2.5, 3.4, 8.5, 18.0)
LADDER = Vehicle("aerial_ladder", "登高平台消防车", 2.55, 3.9, 12.0, 31.0)
HAZMAT = Vehicle("hazmat", "危化品救援车", 2.5, 3.5, 9.0, 16.0)
AMBULANCE = Vehicle("ambulance", "救护车", 2.0, 2.6, 5.5, 4.0)
VEHICLES = {v.code: v for v in (ENGINE, LADDER, HAZMAT, AMBULANCE)}


def team(tid: int, kind: str, x: float, y: float = 0.0, **vehicles: int) -> Team:
    return Team(tid, f"队{tid}", kind, ll(x, y), vehicles)


# ---------------------------------------------------------------------- lead vehicle


def test_lead_vehicle_follows_the_kind_order() -> None:
    fire = team(1, "fire_station", 0, rescue=1, fire_engine=2)
    assert lead_vehicle(fire, Need(("fire_station",))) == "fire_engine"
    hazmat = team(2, "hazmat", 0, foam_engine=1, hazmat=1)
    assert lead_vehicle(hazmat, Need(("hazmat",))) == "hazmat"
    # A brigade's foam engine comes before its water tender.
    brigade = team(3, "enterprise_brigade", 0, fire_engine=1, foam_engine=1)
    assert lead_vehicle(brigade, Need(("enterprise_brigade",))) == "foam_engine"
    assert LEAD_VEHICLE["medical"] == ("ambulance",)


def test_lead_vehicle_ignores_vehicles_counted_zero() -> None:
    fire = team(1, "fire_station", 0, fire_engine=0, rescue=1)
    assert lead_vehicle(fire, Need(("fire_station",))) == "rescue"


def test_lead_vehicle_falls_back_to_the_first_code_or_none() -> None:
    # No vehicle of the kind's list: the alphabetically first one it has.
    odd = team(1, "volunteer", 0, water_truck=1, ambulance=2)
    assert lead_vehicle(odd, Need(("volunteer",))) == "ambulance"
    # A kind the table does not know.
    assert lead_vehicle(team(2, "drone_unit", 0, zz=1, aa=1), Need(("drone_unit",))) == "aa"
    assert lead_vehicle(team(3, "fire_station", 0), Need(("fire_station",))) is None


def test_lead_vehicle_for_a_named_vehicle() -> None:
    fire = team(1, "fire_station", 0, fire_engine=2, aerial_ladder=1)
    assert lead_vehicle(fire, Need(("fire_station",), vehicle="aerial_ladder")) == "aerial_ladder"
    assert lead_vehicle(fire, Need(("fire_station",), vehicle="hazmat")) is None
    # A named vehicle the team owns none of (count 0) is not sent either.
    assert (
        lead_vehicle(team(2, "fire_station", 0, aerial_ladder=0), Need(("fire_station",), vehicle="aerial_ladder"))
        is None
    )


# ---------------------------------------------------------------------- ranking teams


@pytest.fixture(scope="module")
def street() -> Router:
    """One straight 4 km two-way street, y = 0, x from 0 to 4000 (in two pieces)."""
    return Router(
        build_network(links_from_layers(frame([road(1, [(0, 0), (2500, 0)]), road(2, [(2500, 0), (4000, 0)])])))
    )


#: The incident on the street, 2000 m from its west end.
INCIDENT = ll(2000, 0)


def _angle(a: object, b: float) -> float:
    """Degrees between two bearings (360 and 0 are the same direction)."""
    assert isinstance(a, float)
    return abs((a - b + 180.0) % 360.0 - 180.0)


def test_teams_are_ranked_by_travel_time_and_the_nearest_is_selected(street: Router) -> None:
    teams = [
        team(1, "fire_station", 500, fire_engine=2),  # 1500 m: 150 s
        team(2, "fire_station", 3000, fire_engine=1),  # 1000 m: 100 s
        team(3, "hazmat", 2400, hazmat=1),  # 400 m, but not a fire station
        team(4, "medical", 1900, ambulance=1),
    ]
    (cands,) = rank_teams(street, INCIDENT, teams, [Need(("fire_station",))], VEHICLES, turnout_s=60)
    assert [c.team.id for c in cands] == [2, 1]
    assert [c.selected for c in cands] == [True, False]
    assert [c.vehicle for c in cands] == ["fire_engine", "fire_engine"]
    assert cands[0].travel_s == pytest.approx(100.0, abs=1e-6)
    assert cands[0].eta_s == pytest.approx(160.0, abs=1e-6)  # turnout + travel
    assert cands[1].travel_s == pytest.approx(150.0, abs=1e-6)
    assert cands[1].eta_s == pytest.approx(210.0, abs=1e-6)
    assert all(c.need == 0 and c.reasons == [] and c.approach is None for c in cands)
    # Routes are built for the selected team and the alternatives; they agree with the ranking.
    assert cands[0].route is not None and cands[0].route.distance_m == pytest.approx(1000.0, abs=1e-3)
    assert cands[1].route is not None and cands[1].route.duration_s == pytest.approx(150.0, abs=1e-6)


def test_several_needs_take_each_team_once(street: Router) -> None:
    teams = [
        team(1, "fire_station", 500, fire_engine=1),  # 150 s
        team(2, "fire_station", 3000, fire_engine=1),  # 100 s
        team(3, "hazmat", 2400, hazmat=1),  # 40 s
        team(4, "fire_station", 3800, fire_engine=1),  # 180 s
    ]
    needs = [Need(("fire_station",), count=1), Need(("fire_station", "hazmat"), count=2)]
    first, second = rank_teams(street, INCIDENT, teams, needs, VEHICLES)
    assert [c.team.id for c in first if c.selected] == [2]
    # The second need sees team 2 (ranked, 100 s) but may not take it again: 3 (40 s) and 1 (150 s).
    assert [c.team.id for c in second] == [3, 2, 1, 4]
    assert [c.team.id for c in second if c.selected] == [3, 1]
    assert second[0].vehicle == "hazmat" and second[0].travel_s == pytest.approx(40.0, abs=1e-6)
    assert all(c.need == 1 for c in second)


def test_no_team_of_the_kind_gives_an_empty_list(street: Router) -> None:
    teams = [team(1, "fire_station", 500, fire_engine=1)]
    assert rank_teams(street, INCIDENT, teams, [Need(("mine_rescue",))], VEHICLES) == [[]]
    assert rank_teams(street, INCIDENT, [], [Need(("fire_station",), count=2)], VEHICLES) == [[]]


def test_more_teams_asked_than_available(street: Router) -> None:
    teams = [team(1, "fire_station", 500, fire_engine=1), team(2, "fire_station", 3000, fire_engine=1)]
    (cands,) = rank_teams(street, INCIDENT, teams, [Need(("fire_station",), count=3)], VEHICLES)
    assert [(c.team.id, c.selected) for c in cands] == [(2, True), (1, True)]


def test_a_team_without_the_needed_vehicle_is_listed_with_the_reason(street: Router) -> None:
    teams = [
        team(1, "fire_station", 2100, fire_engine=3),  # nearest (10 s) but no ladder
        team(2, "fire_station", 500, fire_engine=1, aerial_ladder=1),  # 150 s
    ]
    (cands,) = rank_teams(street, INCIDENT, teams, [Need(("fire_station",), vehicle="aerial_ladder")], VEHICLES)
    assert [c.team.id for c in cands] == [2, 1]
    ladder_team, no_ladder = cands
    assert ladder_team.selected and ladder_team.vehicle == "aerial_ladder"
    assert ladder_team.travel_s == pytest.approx(150.0, abs=1e-6)
    assert not no_ladder.selected and no_ladder.vehicle is None
    assert math.isinf(no_ladder.travel_s) and math.isinf(no_ladder.eta_s)
    assert no_ladder.reasons == ["无aerial_ladder车辆"] and no_ladder.route is None


def test_a_team_with_no_vehicle_at_all(street: Router) -> None:
    (cands,) = rank_teams(street, INCIDENT, [team(7, "fire_station", 2100)], [Need(("fire_station",))], VEHICLES)
    (only,) = cands
    assert not only.selected and only.vehicle is None and only.reasons == ["无可派车辆"]


def test_a_vehicle_missing_from_the_profile_table(street: Router) -> None:
    teams = [team(1, "volunteer", 2100, hovercraft=1), team(2, "volunteer", 3000, rescue=0, ambulance=1)]
    vehicles = {"ambulance": AMBULANCE}
    (cands,) = rank_teams(street, INCIDENT, teams, [Need(("volunteer",))], vehicles)
    assert [c.team.id for c in cands] == [2, 1]
    assert cands[0].selected and cands[0].vehicle == "ambulance"
    assert cands[0].travel_s == pytest.approx(100.0, abs=1e-6)
    assert not cands[1].selected and cands[1].vehicle == "hovercraft"
    assert cands[1].reasons == ["车辆类型 hovercraft 不在车辆参数表中"] and math.isinf(cands[1].travel_s)


def test_an_unreachable_team_is_not_selected_and_says_why(street: Router) -> None:
    far = team(9, "fire_station", 2000, 20_000, fire_engine=1)  # 20 km off the only street
    near = team(1, "fire_station", 500, fire_engine=1)
    (cands,) = rank_teams(street, INCIDENT, [far, near], [Need(("fire_station",), count=2)], VEHICLES)
    assert [(c.team.id, c.selected) for c in cands] == [(1, True), (9, False)]
    assert math.isinf(cands[1].travel_s) and cands[1].route is None
    assert cands[1].reasons  # the alternative's leg explains why it has no route


def test_equal_times_are_broken_by_team_id(street: Router) -> None:
    # Two teams at the same station: exactly the same time; the lower id goes first, in any input order.
    teams = [team(12, "fire_station", 3000, fire_engine=1), team(11, "fire_station", 3000, fire_engine=1)]
    (cands,) = rank_teams(street, INCIDENT, teams, [Need(("fire_station",))], VEHICLES)
    assert cands[0].travel_s == cands[1].travel_s
    assert [(c.team.id, c.selected) for c in cands] == [(11, True), (12, False)]


def test_alternatives_limit_the_routes_built(street: Router) -> None:
    teams = [team(i, "fire_station", 100 * i, fire_engine=1) for i in range(1, 6)]  # team 5 is nearest
    (cands,) = rank_teams(street, INCIDENT, teams, [Need(("fire_station",))], VEHICLES, alternatives=1)
    assert [c.team.id for c in cands] == [5, 4, 3, 2, 1]
    assert [c.route is not None for c in cands] == [True, True, False, False, False]
    # Without routes the times are still known (they rank the list): (2000 − 100 i) m at 10 m/s.
    assert [round(c.travel_s, 6) for c in cands] == [150.0, 160.0, 170.0, 180.0, 190.0]
    (none,) = rank_teams(street, INCIDENT, teams, [Need(("fire_station",))], VEHICLES, alternatives=0)
    assert [c.route is not None for c in none] == [True, False, False, False, False]


def test_each_team_is_timed_for_the_vehicle_it_sends() -> None:
    # The ladder network: the middle rung (x = 1000) has 3.6 m clear height.
    router = Router(build_network(links_from_layers(ladder())))
    incident = ll(1000, 1000)
    station = Team(1, "一站", "fire_station", ll(1000, 0), {"fire_engine": 1, "aerial_ladder": 1})
    # The 3.4 m engine goes straight up the rung: 1000 m.
    (engine,) = rank_teams(router, incident, [station], [Need(("fire_station",))], VEHICLES)
    assert engine[0].vehicle == "fire_engine" and engine[0].travel_s == pytest.approx(100.0, abs=1e-6)
    # The 3.9 m ladder must go round by a side rung: 1000 west/east + 1000 up + 1000 back = 3000 m.
    (ladder_,) = rank_teams(router, incident, [station], [Need(("fire_station",), vehicle="aerial_ladder")], VEHICLES)
    assert ladder_[0].vehicle == "aerial_ladder" and ladder_[0].travel_s == pytest.approx(300.0, abs=1e-6)
    assert ladder_[0].route is not None and "渡槽下穿" not in [r["name"] for r in ladder_[0].route.roads]


def test_a_hazard_zone_sends_the_team_in_from_upwind() -> None:
    router = Router(build_network(links_from_layers(ringed_cross())))
    centre = router.net.to_xy(np.array([ll(0, 0)]))[0]
    zone = Point(centre).buffer(700)
    corner = Team(1, "东北站", "fire_station", ll(1500, 1500), {"fire_engine": 1})
    for wind, bearing in ((0.0, 0.0), (90.0, 90.0)):
        (cands,) = rank_teams(
            router,
            ll(0, 0),
            [corner],
            [Need(("fire_station",))],
            VEHICLES,
            hazard=Hazard(zone, wind_from_deg=wind),
            turnout_s=30,
        )
        (c,) = cands
        # 1500 m along the ring to the upwind spoke, 1500 m in along it: 300 s, no penalty counted.
        assert c.selected and c.travel_s == pytest.approx(300.0, abs=1e-6)
        assert c.eta_s == pytest.approx(330.0, abs=1e-6)
        assert c.approach is not None and c.approach["sector"] == "上风向" and c.approach["inside_m"] == 1500.0
        assert _angle(c.approach["entry_bearing_deg"], bearing) < 0.1


def test_a_team_that_cannot_reach_the_zone_edge_is_not_selected() -> None:
    island_road = road(99, [(5000, 5000), (6000, 5000)], name="孤立路")
    router = Router(build_network(links_from_layers(ringed_cross(island_road))))
    zone = Point(router.net.to_xy(np.array([ll(0, 0)]))[0]).buffer(700)
    island = Team(2, "孤岛站", "fire_station", ll(5500, 5000), {"fire_engine": 1})
    corner = Team(1, "东北站", "fire_station", ll(1500, 1500), {"fire_engine": 1})
    (cands,) = rank_teams(
        router, ll(0, 0), [island, corner], [Need(("fire_station",), count=2)], VEHICLES, hazard=Hazard(zone)
    )
    assert [(c.team.id, c.selected) for c in cands] == [(1, True), (2, False)]
    assert math.isinf(cands[1].travel_s) and cands[1].route is None and cands[1].approach is None


# ---------------------------------------------------------------------- materials


def _plan(delivery: dict[int, float], inventories: dict, requests: list) -> MaterialPlan:
    return match_materials(delivery, inventories, requests)


def test_the_nearest_depot_alone_when_it_holds_enough() -> None:
    plan = _plan(
        {1: 600.0, 2: 300.0},
        {1: [("沙袋", "个", 500)], 2: [("沙袋", "个", 800)]},
        [("沙袋", 600)],
    )
    assert plan.depots == [2] and plan.complete_s == 300.0 and plan.shortfall == {}
    assert plan.allocations == [{"depot_id": 2, "item": "沙袋", "unit": "个", "quantity": 600.0, "delivery_s": 300.0}]


def test_stock_spread_across_depots_is_gathered_nearest_first() -> None:
    plan = _plan(
        {1: 600.0, 2: 300.0, 3: 900.0},
        {1: [("沙袋", "个", 500)], 2: [("沙袋", "个", 200)], 3: [("沙袋", "个", 5000)]},
        [("沙袋", 600)],
    )
    # 200 from depot 2 (300 s), the other 400 from depot 1 (600 s); depot 3 is not needed.
    assert [(a["depot_id"], a["quantity"]) for a in plan.allocations] == [(2, 200.0), (1, 400.0)]
    assert plan.depots == [2, 1] and plan.complete_s == 600.0 and plan.shortfall == {}


def test_not_enough_stock_anywhere_gives_the_shortfall_and_everything_there_is() -> None:
    plan = _plan(
        {1: 600.0, 2: 300.0},
        {1: [("沙袋", "个", 500)], 2: [("沙袋", "个", 200), ("铁锹", "把", 10)]},
        [("沙袋", 1000), ("铁锹", 4)],
    )
    assert plan.complete_s is None
    assert plan.shortfall == {"沙袋": 300.0}
    assert [(a["depot_id"], a["item"], a["quantity"]) for a in plan.allocations] == [
        (2, "沙袋", 200.0),
        (2, "铁锹", 4.0),
        (1, "沙袋", 500.0),
    ]
    assert plan.depots == [2, 1]


def test_an_unreachable_depot_is_not_used() -> None:
    plan = _plan(
        {1: math.inf, 2: 300.0},
        {1: [("沙袋", "个", 9999)], 2: [("沙袋", "个", 100)]},
        [("沙袋", 150)],
    )
    assert plan.depots == [2] and plan.shortfall == {"沙袋": 50.0} and plan.complete_s is None


def test_two_near_depots_beat_one_far_depot_that_holds_everything() -> None:
    inventories = {
        10: [("泡沫液", "t", 5)],
        20: [("吸附棉", "kg", 300)],
        30: [("泡沫液", "t", 50), ("吸附棉", "kg", 3000)],
    }
    plan = _plan({10: 100.0, 20: 200.0, 30: 500.0}, inventories, [("泡沫液", 4), ("吸附棉", 250)])
    assert plan.depots == [10, 20] and plan.complete_s == 200.0
    # Short of one item at the near depots: the far one completes the set, and sends only what is missing.
    plan = _plan({10: 100.0, 20: 200.0, 30: 500.0}, inventories, [("泡沫液", 8), ("吸附棉", 250)])
    assert plan.depots == [10, 20, 30] and plan.complete_s == 500.0
    assert [(a["depot_id"], a["item"], a["quantity"]) for a in plan.allocations] == [
        (10, "泡沫液", 5.0),
        (20, "吸附棉", 250.0),
        (30, "泡沫液", 3.0),
    ]


def test_a_depot_with_nothing_to_send_is_dropped() -> None:
    plan = _plan(
        {1: 100.0, 2: 200.0},
        {1: [("帐篷", "顶", 40)], 2: [("沙袋", "个", 500)]},
        [("沙袋", 100)],
    )
    assert plan.depots == [2] and plan.complete_s == 200.0
    assert [a["depot_id"] for a in plan.allocations] == [2]


def test_equal_delivery_times_are_taken_in_depot_id_order() -> None:
    plan = _plan(
        {5: 300.0, 4: 300.0},
        {5: [("沙袋", "个", 100)], 4: [("沙袋", "个", 100)]},
        [("沙袋", 150)],
    )
    assert [(a["depot_id"], a["quantity"]) for a in plan.allocations] == [(4, 100.0), (5, 50.0)]
    assert plan.depots == [4, 5] and plan.complete_s == 300.0


def test_repeated_rows_add_up_and_missing_quantities_count_as_zero() -> None:
    plan = _plan(
        {1: 120.0},
        {1: [("沙袋", "个", 30), ("沙袋", "袋", 40), ("铁锹", "把", None)]},
        [("沙袋", 50), ("沙袋", 20)],
    )
    # 30 + 40 in stock, 50 + 20 asked: exactly enough; the unit is the first row's.
    assert plan.allocations == [{"depot_id": 1, "item": "沙袋", "unit": "个", "quantity": 70.0, "delivery_s": 120.0}]
    assert plan.shortfall == {} and plan.complete_s == 120.0
    plan = _plan({1: 120.0}, {1: [("铁锹", "把", None)]}, [("铁锹", 1)])
    assert plan.allocations == [] and plan.shortfall == {"铁锹": 1.0} and plan.complete_s is None


def test_an_item_nobody_stocks_and_an_empty_request() -> None:
    plan = _plan({1: 60.0}, {1: [("沙袋", "个", 10)]}, [("救生艇", 2)])
    assert plan.allocations == [] and plan.depots == [] and plan.shortfall == {"救生艇": 2.0}
    assert plan.complete_s is None
    empty = _plan({1: 60.0}, {1: [("沙袋", "个", 10)]}, [])
    assert empty == MaterialPlan([], [], 0.0, {})
    assert _plan({}, {}, [("沙袋", 1)]) == MaterialPlan([], [], None, {"沙袋": 1.0})
