"""The demo build's working model: features drafted in metres, written in dependency order.

A :class:`Draft` is one feature before it is stored. Cross-layer references
(``hazard_sources.enterprise_id``, ``hazard_sources.unit_id``, ``fire_lanes.site_id``) are written as the
local *key* of the referenced draft and resolved to store ids at insert time,
so drafting order does not have to follow insert order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shapely.geometry.base import BaseGeometry

#: Insert order: every referenced layer comes before the layers that refer to it.
LAYER_ORDER: tuple[str, ...] = (
    "admin_boundaries",
    "townships",
    "settlements",
    "roads",
    "enterprises",
    "hazard_units",
    "hazard_sources",
    "protected_targets",
    "fire_lanes",
    "hydrants",
    "material_depots",
    "rescue_teams",
    "incidents",
    "shelters",
    "warning_contacts",
    # Double prevention (issue 17): zones before their points, tasks before findings before their steps.
    "risk_zones",
    "risk_points",
    "inspections",
    "hidden_dangers",
    "hidden_danger_events",
    "accidents",
    "indicator_years",
    # The park and the mines (issue 18).
    "experts",
)


@dataclass
class Draft:
    """One feature before it is stored.

    Attributes
    ----------
    layer
        Catalogue layer name.
    key
        Unique local key, e.g. ``ent:park:03``; other drafts refer to it.
    props
        Properties without references; enum values as codes.
    geom
        Geometry in UTM 44N metres (or lon/lat when ``lonlat`` is true).
    children
        Child-table rows by child name (``substances``, ``vehicles``, ``inventory``).
    refs
        Field name -> key of the referenced draft (resolved to its store id).
    lonlat
        Geometry is already WGS 84 lon/lat (real data, written unchanged).
    """

    layer: str
    key: str
    props: dict[str, Any]
    geom: BaseGeometry
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    lonlat: bool = False


class Plan:
    """All drafts of the demo county, by layer, in drafting order."""

    def __init__(self) -> None:
        self.layers: dict[str, list[Draft]] = {name: [] for name in LAYER_ORDER}
        self._by_key: dict[str, Draft] = {}
        #: Points (metres) that must become road-network nodes (fire-lane entrances).
        self.road_nodes: list[tuple[float, float]] = []
        #: (lane draft, vertex index, index into ``road_nodes``) for each connected lane end.
        self.lane_ends: list[tuple[Draft, int, int]] = []
        #: Geometry one module plants for another (e.g. the tank a compound must sit next to).
        self.marks: dict[str, Any] = {}

    def add(self, draft: Draft) -> Draft:
        """Add ``draft``; its key must be new."""
        if draft.key in self._by_key:
            raise ValueError(f"duplicate demo key {draft.key!r}")
        self.layers[draft.layer].append(draft)
        self._by_key[draft.key] = draft
        return draft

    def new(self, layer: str, key: str, geom: BaseGeometry, **props: Any) -> Draft:
        """Create and add a draft with ``props`` (``None`` values are dropped)."""
        clean = {k: v for k, v in props.items() if v is not None}
        return self.add(Draft(layer, key, clean, geom))

    def get(self, key: str) -> Draft:
        """Return the draft with ``key``."""
        return self._by_key[key]

    def of(self, layer: str) -> list[Draft]:
        """Return the drafts of ``layer`` in drafting order."""
        return self.layers[layer]
