"""The Jinja2 environment the HTML reports are rendered with.

Templates live in ``templates/`` next to this module and are loaded through the package
(``PackageLoader``), so they are found in an editable install and in a wheel alike
(``pyproject.toml`` ships them as package data). Autoescaping is always on; ``None``
prints as an empty string; a missing key is an error, not a blank cell.
"""

from __future__ import annotations

import functools
from typing import Any

import jinja2

from safemap.layers import labels


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def fmt(value: Any, spec: str) -> str:
    """Format a number with a Python format spec (``{{ x|fmt(".1f") }}``).

    Parameters
    ----------
    value
        The value to format.
    spec
        A format spec as in ``format(value, spec)``, e.g. ``"g"``, ``".2e"``.

    Returns
    -------
    str
        The formatted text (escaped by the template like any other text).
    """
    return format(value, spec)


def text(value: Any) -> str:
    """``None`` as ``""``, anything else as ``str`` (so ``{{ x|text or "—" }}`` works)."""
    return "" if value is None else str(value)


@functools.cache
def environment() -> jinja2.Environment:
    """The shared, cached environment of the report templates.

    Returns
    -------
    jinja2.Environment
        Autoescaping, strict about undefined values, with the ``fmt`` and ``text`` filters.
    """
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("safemap.api.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fmt"] = fmt
    env.filters["text"] = text
    # Chinese for people (safemap.layers.labels): 1.0×10⁻⁶/年, 9分24秒, 9.4 km, 三级, 合成演示数据.
    env.filters["rate"] = labels.rate_text
    env.filters["duration"] = labels.duration_text
    env.filters["distance"] = labels.distance_text
    env.filters["grade"] = labels.grade_label
    env.filters["enum"] = lambda code, name: labels.enum_label(name, code)
    env.filters["number"] = labels.number_text
    return env


def render(name: str, **context: Any) -> str:
    """Render the template ``name`` (in ``templates/``) with ``context``.

    Parameters
    ----------
    name
        File name of the template, e.g. ``"site_report.html.j2"``.
    **context
        The template's variables.

    Returns
    -------
    str
        The rendered text.
    """
    return environment().get_template(name).render(**context)
