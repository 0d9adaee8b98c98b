"""GB 50156 station grade from tank volumes, diesel counted at half (reference §6.1)."""

from __future__ import annotations

import pytest

from safemap.gis.fuel_station import equivalent_volume, station_grade, ungradable_reason


def test_diesel_counts_at_half() -> None:
    assert equivalent_volume(90, 60) == 120
    assert equivalent_volume(None, 180) == 90


@pytest.mark.parametrize(
    ("gasoline", "diesel", "tank", "grade"),
    [
        (90, 60, 30, 2),  # V = 120
        (60, 60, 30, 3),  # V = 90 exactly: 三级
        (0, 180, 50, 3),  # diesel only, halved to 90; a 50 m³ diesel tank is allowed at 三级
        (30, 60, 50, 2),  # a tank over 30 m³ at a station with gasoline rules out 三级 (stricter reading)
        (150, 0, 50, 2),  # 150 exactly: 二级
        (150.5, 0, 50, 1),
        (210, 0, 50, 1),
        (211, 0, 50, None),  # beyond a 一级 station
        (100, 0, 60, None),  # single tank over 50 m³
        (40, 20, None, 3),
    ],
)
def test_grades(gasoline: float, diesel: float, tank: float | None, grade: int | None) -> None:
    assert station_grade(gasoline, diesel, tank) == grade


def test_negative_volume_refused() -> None:
    with pytest.raises(ValueError):
        station_grade(-1, 0)


@pytest.mark.parametrize(
    ("gasoline", "diesel", "tank", "expected"),
    [
        (210, 0, 50, None),  # V = 210 exactly: 一级 (GB 50156 表3.0.9), gradable
        (
            200,
            100,
            None,
            "汽油 200 m³、柴油 100 m³ 超出 GB 50156 一级站容积上限，无法定级（柴油折半后总容积 250 m³ > 210 m³）",
        ),
        (210.5, None, 50, "汽油 210.5 m³ 超出 GB 50156 一级站容积上限"),
        (100, 0, 60, "单罐容积 60 m³ 超出 GB 50156 单罐上限 50 m³"),
        (None, None, None, "未填写汽油、柴油储罐容积"),
        (0, 0, None, "均为 0 m³"),
    ],
)
def test_ungradable_reason(
    gasoline: float | None, diesel: float | None, tank: float | None, expected: str | None
) -> None:
    reason = ungradable_reason(gasoline, diesel, tank)
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and expected in reason
