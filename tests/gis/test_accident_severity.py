import pandas as pd
import pytest

from safemap.gis.accident_severity import SEVERITY_ORDER, severity_of
from tests.gis.standards import STANDARDS


@pytest.fixture(scope="module")
def rules() -> list[dict]:
    return pd.read_csv(STANDARDS / "accident_severity_rules.csv").to_dict("records")


def test_table(rules):
    frame = pd.DataFrame(rules)
    assert list(frame.columns) == ["name", "severity", "min_deaths", "min_serious_injuries", "min_loss_wan", "source"]
    by = frame.set_index("severity")
    # 国务院令第493号 第三条
    assert by.loc["extraordinary", ["min_deaths", "min_serious_injuries", "min_loss_wan"]].tolist() == [30, 100, 10000]
    assert by.loc["major", ["min_deaths", "min_serious_injuries", "min_loss_wan"]].tolist() == [10, 50, 5000]
    assert by.loc["large", ["min_deaths", "min_serious_injuries", "min_loss_wan"]].tolist() == [3, 10, 1000]
    assert by.loc["general", ["min_deaths", "min_serious_injuries", "min_loss_wan"]].tolist() == [0, 0, 0]
    assert set(frame["severity"]) == set(SEVERITY_ORDER)


@pytest.mark.parametrize(
    ("deaths", "serious", "loss", "expected"),
    [
        (0, 0, 0, "general"),
        (2, 0, 0, "general"),
        (3, 0, 0, "large"),  # “以上”包括本数
        (9, 0, 0, "large"),
        (10, 0, 0, "major"),
        (29, 0, 0, "major"),
        (30, 0, 0, "extraordinary"),
        (0, 9, 0, "general"),
        (0, 10, 0, "large"),
        (0, 49, 0, "large"),
        (0, 50, 0, "major"),
        (0, 100, 0, "extraordinary"),
        (0, 0, 999.99, "general"),
        (0, 0, 1000, "large"),
        (0, 0, 4999.9, "large"),
        (0, 0, 5000, "major"),
        (0, 0, 10000, "extraordinary"),
        (1, 50, 0, "major"),  # ANY criterion: 50 重伤 outranks 1 death
        (3, 0, 10000, "extraordinary"),
        (None, None, None, "general"),
        (None, 12, None, "large"),
    ],
)
def test_severity(rules, deaths, serious, loss, expected):
    assert severity_of(deaths, serious, loss, rules) == expected


def test_rule_order_does_not_matter(rules):
    assert severity_of(10, 0, 0, list(reversed(rules))) == "major"
    assert severity_of(float("nan"), 0, 0, rules) == "general"
    assert severity_of(5, 0, 0, []) == "general"
