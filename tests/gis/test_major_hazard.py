"""GB 18218-2018 identification and grading against the standard's rules and tables (reference §1)."""

from __future__ import annotations

import pytest
import shapely

from safemap.gis.major_hazard import alpha_for, exposed_population, grade, grade_for
from tests.gis.standards import critical_quantities

TABLE = critical_quantities()


def sub(name: str | None = None, q: float = 0.0, cas: str | None = None, cls: str | None = None) -> dict:
    return {"name": name, "cas": cas, "hazard_class": cls, "quantity_t": q}


@pytest.mark.parametrize(
    ("people", "alpha"),
    [(0, 0.5), (1, 1.0), (29, 1.0), (30, 1.2), (49, 1.2), (50, 1.5), (99, 1.5), (100, 2.0), (5000, 2.0)],
)
def test_alpha_table_edges(people: int, alpha: float) -> None:
    assert alpha_for(people) == alpha


@pytest.mark.parametrize(
    ("r", "grade_"),
    [(1000, 1), (100, 1), (99.999, 2), (50, 2), (49.99, 3), (10, 3), (9.999, 4), (0.5, 4)],
)
def test_grade_boundaries(r: float, grade_: int) -> None:
    assert grade_for(r) == grade_


def test_s_equal_to_one_counts_as_major() -> None:
    # 0.5/5 + 1/5 + 7/10 = 0.1 + 0.2 + 0.7: exactly 1 (floating point would give 0.9999999999999999).
    g = grade([sub("液氯", 0.5), sub("硫化氢", 1.0), sub("液氨", 7.0)], 0, TABLE)
    assert g.s == 1.0 and g.is_major
    assert g.r == pytest.approx(0.5 * (4 * 0.1 + 5 * 0.2 + 2 * 0.7))
    assert g.grade == 4
    below = grade([sub("氯", 4.99)], 0, TABLE)
    assert below.s == pytest.approx(0.998) and not below.is_major and below.grade is None


def test_worked_grades() -> None:
    # 50 t liquid chlorine (Q 5 t, β 4), 100 people within 500 m (α 2): R = 2 × 4 × 10 = 80 → 二级.
    g = grade([sub("氯（液氯）", 50, "7782-50-5")], 100, TABLE)
    assert (g.s, g.alpha, g.r, g.grade) == (10.0, 2.0, 80.0, 2)
    # 100 t ammonia (Q 10, β 2), 60 people (α 1.5): R = 30 → 三级.
    g = grade([sub(None, 100, "7664-41-7")], 60, TABLE)
    assert (g.r, g.grade) == (30.0, 3)
    # 1000 t LPG (Q 50, β 1.5 as W2), 150 people: R = 2 × 1.5 × 20 = 60 → 二级; 2000 t → 120 → 一级.
    assert grade([sub("液化石油气", 1000)], 150, TABLE).grade == 2
    assert grade([sub("液化石油气", 2000)], 150, TABLE).grade == 1


def test_table1_beats_table2_and_lowest_q_of_several_classes() -> None:
    # Gasoline is in Table 1 (200 t) even when a W5.x class is also given.
    g = grade([sub("汽油", 100, cls="W5.4")], 10, TABLE)
    assert g.terms[0].critical_t == 200 and g.terms[0].basis.startswith("表1")
    # Diesel is not in Table 1: W5.4 → 5000 t.
    assert grade([sub("柴油", 10_000, cls="W5.4")], 0, TABLE).s == 2.0
    # Several classes fit: the lowest Q (W5.1, 10 t, β 1.5) is used.
    g = grade([sub("某溶剂", 20, cls="W5.3,W5.1")], 0, TABLE)
    assert (g.terms[0].critical_t, g.terms[0].beta, g.s) == (10.0, 1.5, 2.0)


def test_names_aliases_and_shared_cas() -> None:
    assert grade([sub("液氨", 10)], 0, TABLE).s == 1.0
    fertiliser = grade([sub("硝酸铵（肥料，可燃物≤0.4%）", 200, "6484-52-2")], 0, TABLE)
    assert fertiliser.terms[0].critical_t == 200
    strict = grade([sub("硝酸铵", 5, "6484-52-2")], 0, TABLE)
    assert strict.terms[0].critical_t == 5 and strict.is_major


def test_unknown_substance_is_reported_not_counted() -> None:
    g = grade([sub("某未知物质", 100), sub("氯", 1)], 10, TABLE)
    assert g.s == pytest.approx(0.2)
    assert g.terms[0].ratio is None
    assert any("未计入" in n for n in g.notes)


def test_table_values_from_the_reference() -> None:
    expected = {"氨": 10, "氯": 5, "碳酰氯": 0.3, "液化石油气": 50, "汽油": 200, "苯": 50, "甲醇": 500, "乙炔": 1}
    for name, q in expected.items():
        assert grade([sub(name, q)], 0, TABLE).s == 1.0, name
    betas = {"氨": 2, "氯": 4, "硫化氢": 5, "氰化氢": 10, "碳酰氯": 20, "氯化氢（无水）": 3}
    for name, beta in betas.items():
        assert grade([sub(name, 1)], 0, TABLE).terms[0].beta == beta, name
    classes = {"J1": (5, 4), "J2": (50, 1), "W1.1": (1, 2), "W2": (10, 1.5), "W5.1": (10, 1.5), "W5.4": (5000, 1)}
    for code, (q, beta) in classes.items():
        t = grade([sub("x", q, cls=code)], 0, TABLE).terms[0]
        assert (t.critical_t, t.beta) == (q, beta), code


def test_negative_quantity_is_refused() -> None:
    with pytest.raises(ValueError):
        grade([sub("氯", -1)], 0, TABLE)


def test_exposed_population_within_500_m() -> None:
    unit = shapely.box(0, 0, 50, 50)
    targets = [shapely.Point(50 + 499, 25), shapely.Point(50 + 501, 25), shapely.box(-600, 0, -450, 10)]
    people = exposed_population([unit], targets, [40, 1000, 70])
    assert people.tolist() == [110]  # the polygon 450 m away counts, the point at 501 m does not
