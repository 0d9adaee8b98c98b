"""GB 18218-2018 identification and grading against the standard's rules and tables (reference §1)."""

from __future__ import annotations

import pytest
import shapely

from safemap.gis.major_hazard import alpha_for, exposed_population, grade, grade_for
from safemap.gis.substances import SubstanceError, cas_check_digit, normalise_cas, to_tonnes
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


# ---------------------------------------------------------------------------- issue 11: input as people type it
#
# Numbers below: Q and β of chlorine (5 t, β 4), ammonia (10 t, β 2) and LPG (50 t, W2 β 1.5) from
# reference/safety-standards.md Tables 1.1 and 1.3/1.4; Table 2 Q and Table 4 β of J3 (50 t, 2),
# W4 (50 t, 1), W5.1 (10 t, 1.5), W5.3 (1000 t, 1), W5.4 (5000 t, 1) from Tables 1.2 and 1.4; α from
# Table 1.5 (0 people → 0.5, ≥ 100 → 2.0); grades from Table 1.6.


@pytest.mark.parametrize(
    "typed", ["7782-50-5", "7782 - 50 - 5", "７７８２－５０－５", "7782－50－5", "7782505", " 7782–50–5 "]
)
def test_cas_as_typed_finds_chlorine(typed: str) -> None:
    assert normalise_cas(typed) == "7782-50-5"
    # 5 t of chlorine (Table 1: Q = 5 t) is exactly S = 1, a major hazard source, whatever the typing.
    g = grade([sub(None, 5, typed)], 0, TABLE, strict=True)
    assert g.s == 1.0 and g.is_major and g.terms[0].entry == "氯" and g.terms[0].cas == "7782-50-5"


def test_cas_check_digit() -> None:
    # 7782-50-?: 0·1 + 5·2 + 2·3 + 8·4 + 7·5 + 7·6 = 125 → check digit 5; 4 is wrong.
    assert cas_check_digit("778250") == 5
    with pytest.raises(SubstanceError, match="校验位错误") as err:
        grade([sub("氯", 5, "7782-50-4")], 0, TABLE, strict=True)
    assert err.value.fields == ("cas",) and err.value.row == 0
    with pytest.raises(SubstanceError, match="格式"):
        normalise_cas("77-8")
    # Stored data is not refused at grading time: the bad CAS is noted and the name decides.
    lenient = grade([sub("氯", 5, "7782-50-4")], 0, TABLE)
    assert lenient.s == 1.0 and any("校验位错误" in n for n in lenient.notes)


def test_names_as_typed() -> None:
    for typed in ("液氯", "氯气", "氯", "氯（液氯）", "氯(液氯)", "氯【液氯】", " 液 氯 ", "氯［液氯］"):
        assert grade([sub(typed, 5)], 0, TABLE).terms[0].entry == "氯", typed
    for typed in ("液氨", "氨气", "氨", "ＬＰＧ", "液化石油气"):
        assert grade([sub(typed, 1)], 0, TABLE).terms[0].critical_t in (10.0, 50.0), typed
    # A bracketed qualifier that the table does not list: the bare name decides (柴油 handled below).
    assert grade([sub("甲醇（工业级）", 500)], 0, TABLE).s == 1.0


def test_name_cas_conflict_is_refused_naming_both() -> None:
    with pytest.raises(SubstanceError) as err:
        grade([sub("氯", 5, "7664-41-7")], 0, TABLE, strict=True)
    assert err.value.fields == ("name", "cas")
    assert "物质名称" in err.value.message and "CAS号" in err.value.message
    assert "氯（CAS 7782-50-5）" in err.value.message and "氨（CAS 7664-41-7）" in err.value.message
    # Stored data: noted and graded conservatively by the smaller Q (chlorine, 5 t): S = 1, never 0.5.
    lenient = grade([sub("氯", 5, "7664-41-7")], 0, TABLE)
    assert lenient.s == 1.0 and any("不一致" in n for n in lenient.notes)


def test_equal_q_takes_the_larger_beta_in_any_order() -> None:
    # J3 and W4 both have Q = 50 t; β is 2 (J3) and 1 (W4): the larger, 2, whatever the order.
    # 100 t, nobody within 500 m (α 0.5): S = 100/50 = 2, R = 0.5 × 2 × 2 = 2 → 四级.
    a = grade([sub("某有毒氧化性气体", 100, cls="J3,W4")], 0, TABLE)
    b = grade([sub("某有毒氧化性气体", 100, cls="W4,J3")], 0, TABLE)
    c = grade([sub("某有毒氧化性气体", 100, cls=["W4", "J3"])], 0, TABLE)
    assert (a.s, a.r, a.grade) == (b.s, b.r, b.grade) == (c.s, c.r, c.grade) == (2.0, 2.0, 4)
    assert a.terms[0].beta == b.terms[0].beta == 2.0
    assert "取较大的 β = 2" in a.terms[0].basis and a.terms[0].basis == b.terms[0].basis


def test_table3_gases_added() -> None:
    # β from reference Table 1.3: CO 2, CH3Br 3, NO2 10, PH3 20, MIC 20. Q (Table 1) from code-id
    # 40005787092 【未核实】: NO2 1 t, CO 20 t (煤气 row), CH3Br 10 t, PH3 1 t, MIC 0.75 t.
    expected = {
        "二氧化氮": (1.0, 10.0),
        "一氧化碳": (20.0, 2.0),
        "溴甲烷": (10.0, 3.0),
        "磷化氢": (1.0, 20.0),
        "异氰酸甲酯": (0.75, 20.0),
    }
    for name, (q, beta) in expected.items():
        t = grade([sub(name, q)], 0, TABLE).terms[0]
        assert (t.critical_t, t.beta, t.ratio) == (q, beta, 1.0), name
    # NO2 typed with a Table 2 class still gets its Table 3 β (10), not J1's 4: 2 t, 100 people:
    # S = 2/1 = 2, R = 2 × 10 × 2 = 40 → 三级.
    g = grade([sub("二氧化氮", 2, "10102-44-0", cls="J1")], 100, TABLE)
    assert (g.s, g.r, g.grade) == (2.0, 40.0, 3)
    assert all(isinstance(r.get("source"), str) and r["source"] for r in TABLE.rows)


def test_kg_typed_as_tonnes_is_flagged() -> None:
    # 5000 "t" of chlorine is 1000 × Q: warned (not refused). S = 1000, 100 people: R = 2 × 4 × 1000 → 一级.
    g = grade([sub("液氯", 5000)], 100, TABLE)
    assert g.grade == 1 and any("是否把 kg 填成了 t？" in w for w in g.warnings)
    assert not grade([sub("液氯", 500)], 100, TABLE).warnings  # exactly 100 × Q is not flagged
    # The same 5000 given in kg is 5 t: S = 1.
    assert grade([sub("液氯", to_tonnes(5000, "kg"))], 0, TABLE).s == 1.0
    assert to_tonnes(2, "吨") == 2 and to_tonnes(2500, "公斤") == 2.5 and to_tonnes(2500, "千克") == 2.5
    with pytest.raises(SubstanceError):
        to_tonnes(1, "lb")


def _diesel(q: float, flash: float | None = None, boiling: float | None = None, cls: str | None = None) -> dict:
    return {
        "name": "柴油（-35号）",
        "quantity_t": q,
        "flash_point_c": flash,
        "boiling_point_c": boiling,
        "hazard_class": cls,
    }


def test_diesel_flash_point() -> None:
    # Table 2 W5.4 (category 3, 23 ℃ ≤ flash ≤ 60 ℃): Q 5000 t; 10 000 t → S = 2. Reference Table 1.1, 柴油 row.
    g = grade([_diesel(10_000, 55)], 0, TABLE)
    assert (g.terms[0].critical_t, g.s) == (5000.0, 2.0) and "W5.4" in g.terms[0].basis
    # Flash point 65 ℃: not a flammable liquid in GB 18218's sense — listed with the reason, not counted.
    g = grade([_diesel(10_000, 65)], 0, TABLE)
    assert g.s == 0.0 and g.terms[0].ratio is None
    assert g.terms[0].basis == "闪点 65 ℃ > 60 ℃，不属于 GB 18218 易燃液体，未计入S"
    assert any("闪点 65 ℃ > 60 ℃" in n for n in g.notes)
    # A class typed as W5.4 but a flash point of 65 ℃: the flash point decides, and the note says so.
    g = grade([_diesel(10_000, 65, cls="W5.4")], 0, TABLE)
    assert g.s == 0.0 and any("与闪点不符" in n for n in g.notes)
    # No flash point: counted conservatively as W5.4, with a note asking for it.
    g = grade([_diesel(10_000)], 0, TABLE)
    assert g.s == 2.0 and any("未给出闪点" in n for n in g.notes)
    # Exactly 60 ℃ is still category 3.
    assert grade([_diesel(5000, 60)], 0, TABLE).s == 1.0


def test_flash_and_boiling_point_classes() -> None:
    liquid = {"name": "某溶剂", "quantity_t": 20}
    # Flash 10 ℃, boiling 30 ℃ → category 1 → W5.1 (Q 10 t, β 1.5): S = 2, α 0.5 → R = 0.5 × 1.5 × 2 = 1.5.
    g = grade([{**liquid, "flash_point_c": 10, "boiling_point_c": 30}], 0, TABLE)
    assert (g.terms[0].critical_t, g.terms[0].beta, g.s, g.r) == (10.0, 1.5, 2.0, 1.5)
    # Flash 10 ℃, boiling 80 ℃ → category 2 → W5.3 (Q 1000 t).
    assert grade([{**liquid, "flash_point_c": 10, "boiling_point_c": 80}], 0, TABLE).terms[0].critical_t == 1000.0
    # No boiling point: W5.3, with a note that ≤ 35 ℃ would make it W5.1.
    g = grade([{**liquid, "flash_point_c": 10}], 0, TABLE)
    assert g.terms[0].critical_t == 1000.0 and any("W5.1" in n for n in g.notes)
    # A W5.1 chosen by hand (worked above its boiling point) is kept: the flash point cannot tell.
    assert grade([{**liquid, "flash_point_c": 30, "hazard_class": "W5.1"}], 0, TABLE).terms[0].critical_t == 10.0
    # Table 1 still wins: gasoline is 200 t whatever its flash point.
    assert grade([{"name": "汽油", "quantity_t": 200, "flash_point_c": -40}], 0, TABLE).s == 1.0


def test_three_lpg_tanks_graded_as_one_unit() -> None:
    # LPG Q = 50 t, β 1.5 (W2). Three 20 t tanks in one dike: S = 60/50 = 1.2 ≥ 1 → major; nobody within
    # 500 m (α 0.5): R = 0.5 × 1.5 × 1.2 = 0.9 → 四级. Each tank alone: S = 0.4, not major.
    tanks = [sub("液化石油气", 20, "68476-85-7") for _ in range(3)]
    unit = grade(tanks, 0, TABLE)
    assert unit.s == pytest.approx(1.2) and unit.is_major and unit.r == pytest.approx(0.9) and unit.grade == 4
    alone = grade(tanks[:1], 0, TABLE)
    assert alone.s == pytest.approx(0.4) and not alone.is_major and alone.grade is None
