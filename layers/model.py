"""Small value types shared by the store, its readers and writers, and the modules built on them.

Nothing here touches a database: :class:`Actor` (who writes), :data:`SYSTEM`,
:class:`Page` (the features a query returned), the type aliases of a query
(:data:`BBox`, :data:`TimeRange`) and of an audit entry (:data:`AuditEntry`), and the
store's clock (:func:`utc_now`). Keeping them apart from :mod:`layers.store` lets the
file writers and the GeoJSON encoder use a :class:`Page` without importing the store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np

from safemap.layers.catalogue import Layer

BBox: TypeAlias = tuple[float, float, float, float]
"""(min lon, min lat, max lon, max lat) in degrees."""

TimeRange: TypeAlias = tuple[dt.datetime | None, dt.datetime | None]
"""Inclusive bounds on a layer's temporal field; either may be open (``None``)."""

Feature: TypeAlias = dict[str, Any]
"""A feature as a GeoJSON-like dict (``type``, ``id``, ``geometry`` mapping, ``properties``)."""

AuditEntry: TypeAlias = tuple[int | None, Mapping[str, Any] | None, Mapping[str, Any] | None]
"""(feature id, before, after) of one audited change; ``None`` for "did not exist"."""


@dataclass(frozen=True)
class Actor:
    """Who writes: the token's name and role (recorded in the audit log).

    ``enterprise_id`` is set for an enterprise user (role ``enterprise``): the one enterprise
    whose records they may see and write (row-level, :mod:`layers.row_access`).
    """

    name: str
    role: str
    enterprise_id: int | None = None
    #: 行政区划代码 of the counties whose rows the person sees; ``None``: every county of the deployment.
    counties: tuple[str, ...] | None = None


SYSTEM = Actor("system", "admin")
"""The actor of the platform's own writes (seeding, recomputed values)."""


@dataclass
class Page:
    """Features of one layer returned by a query.

    ``rows`` hold the properties (with ``id`` and child lists), ``geometries`` the
    shapely geometries in the same order.
    """

    layer: Layer
    rows: list[dict[str, Any]]
    geometries: np.ndarray
    number_matched: int | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def features(self) -> list[Feature]:
        """GeoJSON-like features (geometry as a ``__geo_interface__`` mapping)."""
        return [
            {
                "type": "Feature",
                "id": r["id"],
                "geometry": None if g is None else g.__geo_interface__,
                "properties": r,
            }
            for r, g in zip(self.rows, self.geometries, strict=True)
        ]


def to_millis(value: dt.datetime) -> dt.datetime:
    """``value`` cut to the millisecond.

    Both stores keep milliseconds (GeoPackage's DATETIME format), so they agree exactly.
    """
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def utc_now() -> dt.datetime:
    """Now, in UTC, to the millisecond (what both stores keep)."""
    return to_millis(dt.datetime.now(dt.UTC))
