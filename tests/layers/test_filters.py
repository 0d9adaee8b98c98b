"""Attribute filters typed from query-string text (layers/filters.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from safemap.layers.definitions import LAYERS
from safemap.layers.errors import BadQuery
from safemap.layers.filters import parse_filters

ENTERPRISES = next(layer for layer in LAYERS if layer.name == "enterprises")


def test_enum_codes_and_chinese_labels() -> None:
    assert parse_filters(ENTERPRISES, {"risk_level": "red,蓝"}) == {"risk_level": ["red", "blue"]}
    assert parse_filters(ENTERPRISES, {"risk_level": " RED , 橙 "}) == {"risk_level": ["red", "orange"]}


def test_numbers_and_empty_values() -> None:
    assert parse_filters(ENTERPRISES, {"employees": "3"}) == {"employees": [3]}
    assert parse_filters(ENTERPRISES, {"employees": "3,null"}) == {"employees": [3, None]}


def test_dates_and_times() -> None:
    layer = next(
        layer for layer in LAYERS if any(f.type == "datetime" and f.name != "updated_at" for f in layer.fields)
    )
    name = next(f.name for f in layer.fields if f.type == "datetime" and f.name != "updated_at")
    assert parse_filters(layer, {name: "2024-05-01T08:00:00"}) == {name: [dt.datetime(2024, 5, 1, 8)]}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"risk_level": "purple"}, "risk_level"),
        ({"employees": "many"}, "employees"),
    ],
)
def test_unknown_fields_and_bad_values_are_400(raw: dict[str, str], field: str) -> None:
    with pytest.raises(BadQuery) as info:
        parse_filters(ENTERPRISES, raw)
    assert info.value.problems[0].field == field


def test_every_problem_is_listed() -> None:
    with pytest.raises(BadQuery) as info:
        parse_filters(ENTERPRISES, {"colour": "red", "employees": "many,3,x"})
    assert [p.field for p in info.value.problems] == ["colour", "employees", "employees"]
