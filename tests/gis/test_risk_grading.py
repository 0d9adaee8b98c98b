import math

import pandas as pd
import pytest

from safemap.gis.risk_grading import factor_problem, highest_level, lec_score, level_of, ls_score
from tests.gis.standards import STANDARDS


def _rows(name: str) -> list[dict]:
    return pd.read_csv(STANDARDS / f"{name}.csv").to_dict("records")


def _bands(method: str) -> list[dict]:
    return [b for b in _rows("risk_level_bands") if b["method"] == method]


@pytest.mark.parametrize(
    ("lk", "e", "c", "score", "level"),
    [
        (6, 6, 7, 252, "orange"),  # 160 < 252 <= 320
        (3, 6, 40, 720, "red"),  # > 320
        (10, 32, 1, 320, "orange"),  # max inclusive: 320 itself is 较大, not 重大 (score test only)
        (1, 10, 7, 70, "blue"),  # 70 itself is 低风险
        (0.5, 6, 15, 45, "blue"),
        (1, 6, 15, 90, "yellow"),
        (10, 10, 100, 10000, "red"),
        (0.1, 0.5, 1, 0.05, "blue"),
    ],
)
def test_lec(lk, e, c, score, level):
    assert lec_score(lk, e, c) == pytest.approx(score)
    assert level_of(lec_score(lk, e, c), _bands("lec")) == level


@pytest.mark.parametrize(
    ("lk", "s", "score", "level"),
    [
        (4, 5, 20, "red"),
        (5, 5, 25, "red"),
        (4, 4, 16, "orange"),
        (3, 5, 15, "orange"),
        (3, 3, 9, "yellow"),
        (3, 4, 12, "yellow"),
        (2, 4, 8, "blue"),
        (1, 1, 1, "blue"),
    ],
)
def test_ls(lk, s, score, level):
    assert ls_score(lk, s) == score
    assert level_of(ls_score(lk, s), _bands("ls")) == level


def test_level_of_edges():
    bands = _bands("lec")
    assert level_of(None, bands) is None
    assert level_of(float("nan"), bands) is None
    assert level_of(100, []) is None
    # Floating-point products at a boundary: 0.1 × 700 × ... stays at 70 within the tolerance.
    assert level_of(70 + 1e-12, bands) == "blue"
    assert level_of(160.0001, bands) == "orange"
    # Empty-string bounds (as a form would send) are unbounded too.
    assert level_of(5, [{"risk_level": "red", "min_score": "", "max_score": ""}]) == "red"
    # A gap between bands → no level.
    assert level_of(5, [{"risk_level": "red", "min_score": 10, "max_score": None}]) is None


def test_highest_level():
    assert highest_level(["blue", "orange", None, "yellow"]) == "orange"
    assert highest_level(["blue", "red"]) == "red"
    assert highest_level([None, "purple"]) is None
    assert highest_level([]) is None
    assert highest_level(iter(["yellow", "blue"])) == "yellow"


def test_factor_problem():
    allowed = _rows("risk_factor_values")
    msg = factor_problem("lec", "L", 5, allowed)
    assert msg is not None
    assert "L 应为 10、6、3、1、0.5、0.2、0.1 之一" in msg
    assert factor_problem("lec", "L", 0.5, allowed) is None
    assert factor_problem("LEC", "l", 0.1 + 1e-12, allowed) is None
    assert factor_problem("lec", "E", None, allowed) is None
    assert factor_problem("lec", "C", 40, allowed) is None
    assert "C 应为 100、40、15、7、3、1 之一" in (factor_problem("lec", "C", 50, allowed) or "")
    assert factor_problem("ls", "S", 3, allowed) is None
    assert "S 应为 5、4、3、2、1 之一" in (factor_problem("ls", "S", 6, allowed) or "")
    assert factor_problem("ls", "E", 3, allowed) is not None  # LS has no E


def test_bands_tile_the_positive_axis():
    frame = pd.read_csv(STANDARDS / "risk_level_bands.csv")
    assert list(frame.columns) == ["name", "method", "risk_level", "min_score", "max_score", "meaning", "source"]
    assert frame["name"].is_unique
    assert frame["source"].notna().all()
    for method, group in frame.groupby("method"):
        assert set(group["risk_level"]) == {"red", "orange", "yellow", "blue"}, method
        lows = group["min_score"].fillna(-math.inf).sort_values().tolist()
        highs = group["max_score"].fillna(math.inf).sort_values().tolist()
        assert lows[0] == -math.inf and highs[-1] == math.inf
        # Each band starts where the one below ends: contiguous, no overlap, covers (0, ∞).
        assert lows[1:] == highs[:-1], method
    # The documented thresholds.
    lec = frame[frame["method"] == "lec"].set_index("risk_level")
    assert lec.loc["red", "min_score"] == 320 and lec.loc["yellow", "min_score"] == 70
    ls = frame[frame["method"] == "ls"].set_index("risk_level")
    assert ls.loc["orange", "max_score"] == 16 and ls.loc["blue", "max_score"] == 8


def test_every_factor_value_present():
    frame = pd.read_csv(STANDARDS / "risk_factor_values.csv")
    assert list(frame.columns) == ["name", "method", "factor", "value", "meaning", "source"]
    assert frame["name"].is_unique
    assert frame["source"].notna().all() and frame["meaning"].notna().all()

    def values(method, factor):
        return sorted(frame[(frame["method"] == method) & (frame["factor"] == factor)]["value"].tolist())

    assert values("lec", "L") == [0.1, 0.2, 0.5, 1, 3, 6, 10]
    assert values("lec", "E") == [0.5, 1, 2, 3, 6, 10]
    assert values("lec", "C") == [1, 3, 7, 15, 40, 100]
    assert values("ls", "L") == [1, 2, 3, 4, 5]
    assert values("ls", "S") == [1, 2, 3, 4, 5]
    assert "LEC-L-0.5" in set(frame["name"]) and "LS-S-3" in set(frame["name"])
    # Every LS product falls in some band; every LEC product too.
    bands = _bands("ls")
    for lk in range(1, 6):
        for s in range(1, 6):
            assert level_of(ls_score(lk, s), bands) is not None
    lec_bands = _bands("lec")
    for lk in values("lec", "L"):
        for e in values("lec", "E"):
            for c in values("lec", "C"):
                assert level_of(lec_score(lk, e, c), lec_bands) is not None


def test_checklists_have_sources():
    frame = pd.read_csv(STANDARDS / "checklist_items.csv")
    assert list(frame.columns) == ["name", "checklist", "seq", "item", "clause", "source"]
    assert frame["name"].is_unique and frame["source"].notna().all()
    assert frame["checklist"].nunique() == 3
    assert (frame.groupby("checklist")["seq"].apply(lambda s: list(s) == list(range(1, len(s) + 1)))).all()
