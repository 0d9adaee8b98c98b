import math

import pandas as pd
import pytest

from safemap.gis.indicators import compute_indicators, indicator_frame
from tests.gis.standards import STANDARDS


@pytest.fixture(scope="module")
def definitions() -> list[dict]:
    return pd.read_csv(STANDARDS / "plan_indicators.csv").to_dict("records")


def _by_code(results):
    return {r.code: r for r in results}


def _acc(rows):
    return pd.DataFrame(rows, columns=["year", "industry", "severity", "deaths", "vehicle_operating"])


def _years(rows):
    cols = ["year", "gdp_100m_yuan", "employees_gmt", "coal_output_10kt", "operating_vehicles"]
    return pd.DataFrame(rows, columns=cols)


def test_table(definitions):
    frame = pd.DataFrame(definitions)
    assert len(frame) == 7 and frame["code"].is_unique and frame["source"].notna().all()
    assert set(frame["baseline_year"]) == {2020} and set(frame["target_year"]) == {2025}
    by = frame.set_index("code")
    assert by.loc["deaths_per_gdp", "target_value"] == -37
    assert by.loc["deaths_per_coal_output", "per"] == 100  # 100 万吨 = 1 百万吨
    # Every definition parses (a malformed one would raise).
    compute_indicators(_acc([]), _years([]), definitions, 2020)


def test_gdp_rate_hand_computed(definitions):
    # 2020: 9 deaths / 45 亿元 = 0.2 人/亿元 (baseline); target 0.2 × (1 − 0.37) = 0.126.
    # 2023: 8 deaths / 60 亿元 = 0.1333; linear path 0.2 + (0.126 − 0.2) × 3/5 = 0.1556 → on track.
    acc = _acc(
        [(2020, "hazchem", "general", 4, None), (2020, "other", "general", 5, None), (2023, "fire", "general", 8, None)]
    )
    yrs = _years([(2020, 45, None, None, None), (2021, 50, None, None, None), (2023, 60, None, None, None)])
    res = _by_code(compute_indicators(acc, yrs, definitions, 2023))["deaths_per_gdp"]
    assert res.baseline == pytest.approx(0.2)
    assert res.target == pytest.approx(0.126)
    by_year = {y.year: y for y in res.years}
    assert [y.year for y in res.years] == [2020, 2021, 2022, 2023]
    assert by_year[2020].state == "on_track" and by_year[2020].reason == "基准年"
    assert by_year[2021].value == pytest.approx(0.0) and by_year[2021].state == "on_track"
    # 2022 has no base data: cannot be checked, never on track.
    assert by_year[2022].state == "cannot_check"
    assert by_year[2022].reason == "缺少2022年地区生产总值（亿元），无法计算"
    assert by_year[2023].value == pytest.approx(8 / 60)
    assert by_year[2023].numerator == 8 and by_year[2023].denominator == 60
    assert by_year[2023].state == "on_track"
    assert "0.1333" in by_year[2023].reason and "0.1556" in by_year[2023].reason
    assert res.latest_state == "on_track"

    # 10 deaths in 2023 → 0.1667 > 0.1556 → off track.
    acc2 = pd.concat([acc, _acc([(2023, "fire", "general", 2, None)])])
    res2 = _by_code(compute_indicators(acc2, yrs, definitions, 2023))["deaths_per_gdp"]
    assert res2.latest_state == "off_track"
    # Deaths count (no denominator): baseline 9, 2023 has 10 > 9 + (8.01 − 9) × 3/5 = 8.406.
    deaths = _by_code(compute_indicators(acc2, yrs, definitions, 2023))["deaths"]
    assert deaths.baseline == 9 and deaths.target == pytest.approx(8.01)
    assert deaths.latest_state == "off_track" and "8.406" in deaths.latest_reason


def test_missing_baseline(definitions):
    acc = _acc([(2021, "fire", "general", 1, None)])
    yrs = _years([(2021, 50, None, None, None)])
    res = _by_code(compute_indicators(acc, yrs, definitions, 2021))["deaths_per_gdp"]
    assert res.baseline is None and res.target is None
    assert res.years[0].state == "cannot_check"
    assert res.years[1].state == "cannot_check" and "缺少基准年数据" in res.years[1].reason


def test_coal_zero_output(definitions):
    # Coal: 2020 1 death / 50 万吨 → 2 人/百万吨; 2023 no coal output → not applicable.
    acc = _acc([(2020, "coal_mine", "general", 1, None), (2021, "fire", "general", 3, None)])
    yrs = _years(
        [
            (2020, None, None, 50, None),
            (2021, None, None, 40, None),
            (2022, None, None, 0, None),
            (2023, None, None, 0, None),
        ]
    )
    res = _by_code(compute_indicators(acc, yrs, definitions, 2023))["deaths_per_coal_output"]
    assert res.baseline == pytest.approx(2.0)
    assert res.target == pytest.approx(1.7)
    by_year = {y.year: y for y in res.years}
    assert by_year[2021].value == 0 and by_year[2021].state == "on_track"  # the fire is not a coal death
    assert by_year[2023].state == "not_applicable"
    assert by_year[2023].reason == "2023年煤炭产量为0（无煤矿生产），该指标不适用"
    # A coal death with output 0 cannot be put on the 0 base.
    acc2 = pd.concat([acc, _acc([(2022, "coal_mine", "general", 1, None)])])
    res2 = _by_code(compute_indicators(acc2, yrs, definitions, 2023))["deaths_per_coal_output"]
    y2022 = next(y for y in res2.years if y.year == 2022)
    assert y2022.state == "cannot_check" and "有死亡但分母为0" in y2022.reason


def test_gmt_rate_industries(definitions):
    # 工矿商贸: 2020 3 deaths (hazchem 2 + construction 1; road transport excluded) / 150000 persons
    # → 3 / 1.5 = 2 人/十万人.
    acc = _acc(
        [
            (2020, "hazchem", "general", 2, None),
            (2020, "construction", "general", 1, None),
            (2020, "road_transport", "general", 7, True),
        ]
    )
    yrs = _years([(2020, None, 150000, None, None)])
    res = _by_code(compute_indicators(acc, yrs, definitions, 2020))["deaths_per_gmt_employees"]
    assert res.baseline == pytest.approx(2.0) and res.target == pytest.approx(1.8)


def test_zero_indicator(definitions):
    acc = _acc([(2020, "hazchem", "extraordinary", 31, None), (2022, "hazchem", "extraordinary", 30, None)])
    res = _by_code(compute_indicators(acc, _years([]), definitions, 2024))["extraordinary_accidents"]
    states = {y.year: y.state for y in res.years}
    # The 2020 accident is the baseline year's: it does not count against the plan.
    assert states == {2020: "on_track", 2021: "on_track", 2022: "off_track", 2023: "off_track", 2024: "off_track"}
    assert res.target == 0
    assert "2022年起发生" in res.latest_reason


def test_annual_mean_below(definitions):
    # 较大事故 counts 2021: 2, 2022: 4, 2023: 5 → running means 2, 3, 3.67 against < 3.
    rows = [(2021, "fire", "large", 3, None)] * 2 + [(2022, "fire", "large", 3, None)] * 4
    rows += [(2023, "fire", "large", 4, None)] * 5 + [(2023, "fire", "major", 10, None)]
    res = _by_code(compute_indicators(_acc(rows), _years([]), definitions, 2023))["large_accidents"]
    by_year = {y.year: y for y in res.years}
    assert [by_year[y].value for y in (2021, 2022, 2023)] == [2, 4, 5]
    assert [by_year[y].state for y in (2021, 2022, 2023)] == ["on_track", "off_track", "off_track"]
    assert "3.667" in by_year[2023].reason
    assert res.target == 3


def test_vehicle_operating_filter(definitions):
    # Only operating-vehicle road accidents count: 2020 3 deaths / 20000 vehicles → 1.5 人/万车.
    acc = _acc(
        [
            (2020, "road_transport", "general", 3, True),
            (2020, "road_transport", "general", 4, False),
            (2020, "road_transport", "general", 2, None),
            (2020, "fire", "general", 5, True),
        ]
    )
    yrs = _years([(2020, None, None, None, 20000)])
    res = _by_code(compute_indicators(acc, yrs, definitions, 2020))["deaths_per_operating_vehicles"]
    assert res.years[0].numerator == 3
    assert res.baseline == pytest.approx(1.5)
    assert res.target == pytest.approx(1.35)


def test_malformed_definition(definitions):
    bad = dict(definitions[0], measure="injuries")
    with pytest.raises(ValueError, match="measure"):
        compute_indicators(_acc([]), _years([]), [bad], 2021)
    with pytest.raises(ValueError, match="denominator"):
        compute_indicators(_acc([]), _years([]), [dict(definitions[3], denominator="population")], 2021)
    with pytest.raises(ValueError, match="target_kind"):
        compute_indicators(_acc([]), _years([]), [dict(definitions[0], target_kind="halve")], 2021)


def test_frame(definitions):
    results = compute_indicators(_acc([(2021, "fire", "general", 1, None)]), _years([]), definitions, 2022)
    frame = indicator_frame(results)
    assert list(frame.columns) == ["code", "label", "year", "value", "unit", "baseline", "target", "state", "reason"]
    assert len(frame) == 7 * 3
    row = frame[(frame["code"] == "deaths_per_gdp") & (frame["year"] == 2021)].iloc[0]
    assert row["state"] == "cannot_check" and math.isnan(row["value"])
    # Deaths: baseline 2020 = 0 so the path is 0 throughout: 2021 (1 death) off, 2022 (none) on.
    deaths = frame[frame["code"] == "deaths"].set_index("year")
    assert deaths.loc[2021, "state"] == "off_track" and deaths.loc[2022, "state"] == "on_track"
