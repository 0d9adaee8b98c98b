"""The allocation LP (gis/allocation.py) against transportation problems solved by hand."""

from __future__ import annotations

import numpy as np
import pytest

from safemap.gis.allocation import AllocationError, AllocationProblem, solve

INF = np.inf


def problem(
    *,
    items: list[int],
    points: list[int],
    qty: list[float],
    weight: list[float] | None = None,
    stock: list[list[float]],
    minutes: list[list[float]],
    kg: list[float] | None = None,
    cap_t: list[float] | None = None,
    limit_min: float | None = None,
) -> AllocationProblem:
    n_dep, n_items = np.array(stock).shape
    return AllocationProblem(
        row_item=np.array(items),
        row_point=np.array(points),
        quantity=np.array(qty, float),
        weight=np.array(weight or [1.0] * len(qty), float),
        stock=np.array(stock, float),
        time_s=np.array(minutes, float) * 60.0,
        unit_kg=np.array(kg or [np.nan] * n_items, float),
        capacity_t=np.array(cap_t or [INF] * n_dep, float),
        time_limit_s=None if limit_min is None else limit_min * 60.0,
    )


def shipped(result, n_dep: int, n_rows: int) -> np.ndarray:
    x = np.zeros((n_dep, n_rows))
    for f in result.flows:
        x[f.depot, f.row] += f.quantity
    return x


def test_balanced_transportation_problem_solved_by_hand() -> None:
    """2 depots × 3 points, one item, supply 30 + 40 = demand 20 + 25 + 25.

    Times (min) A: 2, 4, 6; B: 3, 2, 1. By the MODI (u–v) method: basis A→P1 20, A→P2 10,
    B→P2 15, B→P3 25; u_A = 0, v = (2, 4, 3), u_B = −2; reduced costs A→P3 = 6 − 3 = 3 and
    B→P1 = 3 − 0 = 3 are positive, so this is the unique optimum: 20·2 + 10·4 + 15·2 + 25·1
    = 135 unit·min = 8100 unit·s, nothing unmet.
    """
    p = problem(
        items=[0, 0, 0],
        points=[0, 1, 2],
        qty=[20, 25, 25],
        stock=[[30], [40]],
        minutes=[[2, 4, 6], [3, 2, 1]],
    )
    r = solve(p)
    np.testing.assert_allclose(shipped(r, 2, 3), [[20, 10, 0], [0, 15, 25]], atol=1e-6)
    assert r.time_quantity_s == pytest.approx(8100.0)
    assert r.weighted_unmet == pytest.approx(0.0, abs=1e-9)
    assert r.shortfalls == []


def test_priority_one_is_served_first_when_stock_is_short() -> None:
    """Stock 10, two points 8 each at the same time: priority 1 (weight 100) gets 8, priority 3 gets 2."""
    p = problem(items=[0, 0], points=[0, 1], qty=[8, 8], weight=[1.0, 100.0], stock=[[10]], minutes=[[5, 5]])
    r = solve(p)
    np.testing.assert_allclose(shipped(r, 1, 2), [[2, 8]], atol=1e-6)
    assert len(r.shortfalls) == 1
    s = r.shortfalls[0]
    assert s.row == 0 and s.quantity == pytest.approx(6.0)
    assert s.reasons == {"stock_short": pytest.approx(6.0)}


def test_truck_capacity_binds() -> None:
    """Depot A: 100 units of 20 kg, trucks carry 1 t → 50 units; the other 30 are short for capacity."""
    p = problem(items=[0], points=[0], qty=[80], stock=[[100]], minutes=[[10]], kg=[20.0], cap_t=[1.0])
    r = solve(p)
    assert shipped(r, 1, 1)[0, 0] == pytest.approx(50.0)
    assert r.shortfalls[0].reasons == {"capacity": pytest.approx(30.0)}


def test_capacity_goes_to_the_lighter_load_of_equal_weight_only_as_far_as_needed() -> None:
    """Two items share 1 t: 40 tents × 25 kg (priority 1) fit exactly, water (priority 3) gets nothing."""
    p = problem(
        items=[0, 1],
        points=[0, 0],
        qty=[40, 30],
        weight=[100.0, 1.0],
        stock=[[50, 50]],
        minutes=[[10]],
        kg=[25.0, 10.0],
        cap_t=[1.0],
    )
    r = solve(p)
    np.testing.assert_allclose(shipped(r, 1, 2), [[40, 0]], atol=1e-6)
    assert r.shortfalls[0].row == 1 and r.shortfalls[0].reasons == {"capacity": pytest.approx(30.0)}


def test_unreachable_no_stock_and_time_limit() -> None:
    """Row 0 at a point no road reaches; row 1 asks for an item nobody holds; row 2 is only 40 min away (limit 30)."""
    p = problem(
        items=[0, 1, 0],
        points=[0, 1, 2],
        qty=[5, 5, 5],
        stock=[[100, 0]],
        minutes=[[INF, 10, 40]],
        limit_min=30,
    )
    r = solve(p)
    assert r.flows == []
    reasons = {s.row: s.reasons for s in r.shortfalls}
    assert reasons == {
        0: {"unreachable": pytest.approx(5.0)},
        1: {"no_stock": pytest.approx(5.0)},
        2: {"time_limit": pytest.approx(5.0)},
    }


def test_second_stage_takes_the_nearer_depot() -> None:
    """Both depots can serve all 5 units (equal unmet = 0): the one 3 min away is chosen over 10 min."""
    p = problem(items=[0], points=[0], qty=[5], stock=[[10], [10]], minutes=[[10], [3]])
    r = solve(p)
    np.testing.assert_allclose(shipped(r, 2, 1), [[0], [5]], atol=1e-6)
    assert r.flows[0].time_s == pytest.approx(180.0)


def test_mixed_causes_add_up() -> None:
    """Need 100; near depot 30 units within reach but trucks take 20; far depot (50 min, limit 30) holds 40.

    Plan: 20 sent. Without capacity: 30 → capacity 10. Without the limit also: 70 → time limit 40.
    The rest, 30, is stock short. 10 + 40 + 30 = 80 = unmet.
    """
    p = problem(
        items=[0],
        points=[0],
        qty=[100],
        stock=[[30], [40]],
        minutes=[[10], [50]],
        kg=[50.0],
        cap_t=[1.0, INF],
        limit_min=30,
    )
    r = solve(p)
    s = r.shortfalls[0]
    assert s.quantity == pytest.approx(80.0)
    assert s.reasons == {
        "capacity": pytest.approx(10.0),
        "time_limit": pytest.approx(40.0),
        "stock_short": pytest.approx(30.0),
    }


def test_empty_and_bad_arrays() -> None:
    """No rows is an empty plan; a negative quantity is refused."""
    empty = problem(items=[], points=[], qty=[], stock=[[1]], minutes=[[1]])
    empty = AllocationProblem(
        np.zeros(0, int),
        np.zeros(0, int),
        *(getattr(empty, k) for k in ("quantity", "weight", "stock", "time_s", "unit_kg", "capacity_t")),
    )
    r = solve(empty)
    assert r.flows == [] and r.shortfalls == []
    with pytest.raises(AllocationError):
        solve(problem(items=[0], points=[0], qty=[-1], stock=[[1]], minutes=[[1]]))


def test_whole_units_when_capacity_binds() -> None:
    """Tents of 25 kg, trucks carry 0.99 t: the LP would send 39.6, whole tents make it 39 (39 × 25 = 975 kg)."""
    p = problem(items=[0], points=[0], qty=[50], stock=[[100]], minutes=[[10]], kg=[25.0], cap_t=[0.99])
    p = AllocationProblem(**{**p.__dict__, "integral": np.array([True])})
    r = solve(p)
    assert shipped(r, 1, 1)[0, 0] == pytest.approx(39.0)
    assert r.shortfalls[0].quantity == pytest.approx(11.0)


def test_rounded_down_units_are_handed_back_where_a_whole_unit_fits() -> None:
    """50 tents of 25 kg: near depot A carries 0.99 t (39.6 tents), far depot B 0.5 t (20 tents).

    LP: 39.6 from A (nearer) and 10.4 from B. Rounded down: 39 + 10 = 49; A has no room for a 40th
    tent (39 × 25 = 975 kg, 15 kg left) but B has (10 × 25 = 250 kg of 500), so B sends 11: all 50 arrive.
    """
    p = problem(
        items=[0], points=[0], qty=[50], stock=[[100], [100]], minutes=[[10], [30]], kg=[25.0], cap_t=[0.99, 0.5]
    )
    p = AllocationProblem(**{**p.__dict__, "integral": np.array([True])})
    r = solve(p)
    np.testing.assert_allclose(shipped(r, 2, 1), [[39], [11]])
    assert r.shortfalls == []
