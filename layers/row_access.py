"""Row-level access: which rows of a layer an enterprise user may see and write.

An enterprise user (role ``enterprise``, :class:`~layers.model.Actor` with ``enterprise_id``)
keeps its own enterprise's records only. A layer is *owned* when its rows belong to one
enterprise: ``enterprises`` itself (by ``id``), every layer with an ``enterprise_id`` field,
and the timeline and photos of a finding (by ``danger_id`` through ``hidden_dangers``).
Base map layers (roads, townships, hydrants …) and standards tables are readable by everyone;
any other layer (incidents, contacts, live data …) is closed to enterprise users.

Double-prevention records are not public: reading them needs a sign-in (:data:`PRIVATE_LAYERS`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from safemap.layers.catalogue import Layer
from safemap.layers.model import Actor
from safemap.layers.tables import Schema

#: Layers whose rows are read only by signed-in people (findings, photos, risk lists).
PRIVATE_LAYERS = frozenset(
    {"risk_points", "risk_zones", "inspections", "hidden_dangers", "hidden_danger_events", "danger_photos"}
)
#: Base layers an enterprise user reads in full (the map they find their way on).
PUBLIC_BASE_LAYERS = frozenset(
    {"admin_boundaries", "townships", "roads", "fire_lanes", "settlements", "hydrants", "shelters"}
)
#: Layers owned through another layer's row: field -> owning layer.
_VIA = {"hidden_danger_events": ("danger_id", "hidden_dangers"), "danger_photos": ("danger_id", "hidden_dangers")}
STANDARDS_GROUP = "标准与参数"


def is_enterprise(actor: Actor | None) -> bool:
    """True for an enterprise user (whose reads and writes are limited to its own enterprise)."""
    return actor is not None and actor.role == "enterprise"


def owner_field(layer: Layer) -> str | None:
    """The field naming a row's enterprise (``id`` for ``enterprises``), or ``None`` for a layer not owned."""
    if layer.name == "enterprises":
        return "id"
    if layer.name in _VIA:
        return _VIA[layer.name][0]
    if "enterprise_id" in layer.field_names:
        return "enterprise_id"
    return None


def enterprise_may_read(layer: Layer) -> bool:
    """Whether an enterprise user may read ``layer`` at all (its own rows of an owned layer)."""
    return owner_field(layer) is not None or layer.name in PUBLIC_BASE_LAYERS or layer.group == STANDARDS_GROUP


def owner_clause(schema: Schema, layer: Layer, enterprise_id: int) -> Any:
    """The SQL condition "this row belongs to ``enterprise_id``"; ``None`` for a layer not owned."""
    field = owner_field(layer)
    if field is None:
        return None
    t = schema.layers[layer.name]
    if layer.name in _VIA:
        via_field, via_layer = _VIA[layer.name]
        parent = schema.layers[via_layer]
        return t.c[via_field].in_(select(parent.c.id).where(parent.c.enterprise_id == enterprise_id))
    return t.c[field] == enterprise_id
