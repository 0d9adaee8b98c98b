"""Attribute filters of a request: ``?risk_level=red,蓝&employees=3`` as typed values.

The HTTP layer (layer routes, OGC API items, exports) and the CLI's ``--where`` read
filters as text; :func:`parse_filters` types them with the catalogue, so the store's
``query(filters=…)`` only ever sees typed values. It lives beside the catalogue rather than
in the web room so that both entry points share it without the CLI importing the web app.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from safemap.layers.catalogue import Layer
from safemap.layers.errors import BadQuery, Problem
from safemap.layers.labels import problem_text
from safemap.layers.schemas import value_from_text


def parse_filters(layer: Layer, raw: Mapping[str, str]) -> dict[str, list[Any]]:
    """Type raw ``field=value[,value…]`` filters of ``layer``.

    Parameters
    ----------
    layer
        The catalogue entry filtered.
    raw
        Field name -> comma-separated values as text (``null`` for an empty field; enum
        codes or Chinese labels).

    Returns
    -------
    dict
        Field name -> accepted typed values, ready for ``FeatureStore.query(filters=…)``.

    Raises
    ------
    BadQuery
        (400) An unknown field or a value that is not of the field's type; every
        problem is listed.
    """
    out: dict[str, list[Any]] = {}
    problems = []
    for name, text in raw.items():
        if not layer.has_field(name):
            problems.append(Problem(name, f"{layer.label}图层没有字段 {name!r}，无法按其筛选"))
            continue
        f = layer.field(name)
        values = []
        for part in str(text).split(","):
            try:
                values.append(value_from_text(f, part.strip()))
            except ValueError as exc:
                problems.append(Problem(name, str(exc)))
        out[name] = values
    if problems:
        raise BadQuery(problem_text(problems[0].field, problems[0].message, layer), problems)
    return out
