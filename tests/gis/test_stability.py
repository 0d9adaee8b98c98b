"""Pasquill stability from wind, sun and cloud: Turner (1970) Table 1, cell by cell."""

from __future__ import annotations

import datetime as dt

import pytest

from safemap.gis.stability import classify, cloud_oktas, insolation, pasquill_class, sun_elevation_deg

# Turner, Workbook of Atmospheric Dispersion Estimates (AP-26, 1970), Table 1; a pair (A–B) is
# taken as its more stable class. Columns: strong, moderate, slight day; night ≥4/8, ≤3/8 cloud.
TURNER = {
    1.0: ("A", "B", "B", "F", "F"),  # < 2 m/s (night blank in Turner → F)
    2.5: ("B", "B", "C", "E", "F"),  # 2–3
    4.0: ("B", "C", "C", "D", "E"),  # 3–5
    5.5: ("C", "D", "D", "D", "D"),  # 5–6
    8.0: ("C", "D", "D", "D", "D"),  # > 6
}
# (sun elevation °, oktas) that select each column.
COLUMNS = ((70.0, 0), (45.0, 2), (25.0, 3), (-10.0, 5), (-10.0, 1))


@pytest.mark.parametrize("wind", sorted(TURNER))
@pytest.mark.parametrize("column", range(5))
def test_every_cell_of_turners_table(wind: float, column: int) -> None:
    elevation, oktas = COLUMNS[column]
    assert classify(wind, elevation, oktas).stability == TURNER[wind][column]


def test_pairs_are_reported_and_the_more_stable_class_taken() -> None:
    res = classify(1.0, 45.0, 0)
    assert res.table_cell == "A–B" and res.stability == "B"
    assert "取较稳定者" in res.explanation and "Turner" in res.explanation


def test_overcast_is_neutral_day_and_night() -> None:
    assert classify(1.0, 70.0, 8).stability == "D"
    assert classify(2.5, -20.0, "阴").stability == "D"
    assert classify(2.5, -20.0, 8).insolation == "overcast"


def test_cloud_lowers_the_days_radiation_one_step() -> None:
    assert insolation(70.0, 4) == "strong"
    assert insolation(70.0, 5) == "moderate"
    assert insolation(45.0, 6) == "slight"
    assert insolation(20.0, 7) == "slight"


def test_boundaries_go_to_the_faster_row() -> None:
    assert classify(2.0, 70.0, 0).table_cell == "A–B"  # 2.0 is in 2–3
    assert classify(6.0, 70.0, 0).stability == "C"


def test_cloud_words_and_bad_values() -> None:
    assert [cloud_oktas(w) for w in ("晴", "少云", "多云", "阴")] == [0, 2, 5, 8]
    assert cloud_oktas(3) == 3
    for bad in (9, -1, "大雾", float("nan")):
        with pytest.raises(ValueError, match="云量"):
            cloud_oktas(bad)
    with pytest.raises(ValueError, match="风速"):
        classify(-1.0, 10.0, 0)


def test_sun_elevation_against_noaa_worked_values() -> None:
    # 裕民 (83.0 E, 46.2 N). At solar noon the elevation is 90 − lat + declination:
    # equinox 2026-03-20 (δ ≈ −0.1°) → 43.7°; solstice 2026-06-21 (δ = 23.44°) → 67.2°.
    # Solar noon ≈ 12:00 − 83/15 h − equation of time ≈ 06:36 UTC (Mar) / 06:30 UTC (Jun).
    march = dt.datetime(2026, 3, 20, 6, 36, tzinfo=dt.UTC)
    june = dt.datetime(2026, 6, 21, 6, 30, tzinfo=dt.UTC)
    assert sun_elevation_deg(march, 83.0, 46.2) == pytest.approx(43.7, abs=0.6)
    assert sun_elevation_deg(june, 83.0, 46.2) == pytest.approx(67.2, abs=0.6)
    # 3 a.m. Beijing time: the sun is well below the horizon.
    night = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert sun_elevation_deg(night, 83.0, 46.2) < -30
    with pytest.raises(ValueError):
        sun_elevation_deg(dt.datetime(2026, 3, 20, 12), 83.0, 46.2)


def test_a_chlorine_leak_at_three_in_the_morning() -> None:
    # Clear night, light wind 2.5 m/s: Turner night ≤ 3/8 cloud, 2–3 m/s → F.
    at = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    res = pasquill_class(2.5, at, 82.98, 46.20, "晴")
    assert res.stability == "F" and res.insolation == "night"
    assert res.explanation.startswith("夜间")
    # A sunny June noon with the same wind: strong radiation, 2–3 m/s → A–B → B.
    noon = dt.datetime(2026, 6, 21, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert pasquill_class(2.5, noon, 82.98, 46.20, 0).stability == "B"
