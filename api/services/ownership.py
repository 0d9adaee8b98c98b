"""An enterprise user's own records: reading one row and every write (row-level, issue 17).

The rows an enterprise owns are named in :mod:`safemap.layers.row_access`. Reads are limited
in the query itself (``owner=``); this module answers "is this feature theirs?" for one row
and refuses a write that would touch, or move a row to, another enterprise (403, in Chinese).
A write of an enterprise user that names no enterprise gets theirs.
"""

from __future__ import annotations

from typing import Any

from safemap.layers import row_access
from safemap.layers.catalogue import Layer
from safemap.layers.errors import Forbidden, Problem
from safemap.layers.model import Actor, Feature
from safemap.layers.store import FeatureStore


def owner_of(store: FeatureStore, layer: Layer, feature: Feature) -> int | None:
    """The enterprise a stored feature belongs to (``None`` when none, or the layer is not owned)."""
    field = row_access.owner_field(layer)
    if field is None:
        return None
    props = feature["properties"]
    if layer.name == "enterprises":
        return int(feature["id"])
    value = props.get(field)
    if value is None:
        return None
    if field == "danger_id":
        danger = store.query("hidden_dangers", ids=[int(value)], limit=1, count=False, children=False).rows
        return int(danger[0]["enterprise_id"]) if danger and danger[0].get("enterprise_id") is not None else None
    return int(value)


def owns(layer: Layer, feature: Feature, enterprise_id: int, store: FeatureStore) -> bool:
    """Whether ``feature`` of ``layer`` belongs to enterprise ``enterprise_id``."""
    return owner_of(store, layer, feature) == enterprise_id


def _refuse(layer: Layer, why: str) -> Forbidden:
    return Forbidden(f"{layer.label}：{why}", [Problem("properties.enterprise_id", why)])


def guard_create(store: FeatureStore, layer_name: str, feature: Any, actor: Actor) -> Any:
    """The feature an enterprise user may create: theirs (filled in when not named); 403 otherwise."""
    if not row_access.is_enterprise(actor) or not isinstance(feature, dict):
        return feature
    layer = store.layer(layer_name)
    field = row_access.owner_field(layer)
    own = actor.enterprise_id
    if field is None or field == "id" or own is None:
        raise _refuse(layer, "企业用户只能维护本企业的记录")
    props = feature.get("properties")
    if not isinstance(props, dict):
        return feature
    given = props.get(field)
    if given is None or given == "":
        return {**feature, "properties": {**props, field: own}}
    if str(given).strip() != str(own):
        raise _refuse(layer, f"企业用户只能维护本企业（编号 {own}）的记录，不能写入编号 {given} 的企业")
    return feature


def guard_change(store: FeatureStore, layer_name: str, feature_id: int, patch: Any, actor: Actor) -> None:
    """Refuse an enterprise user's update or delete of another enterprise's row, or moving a row away."""
    if not row_access.is_enterprise(actor):
        return
    layer = store.layer(layer_name)
    own = actor.enterprise_id
    current = store.get(layer_name, feature_id)
    if own is None or owner_of(store, layer, current) != own:
        raise _refuse(layer, f"编号 {feature_id} 的记录不属于本企业，不能修改")
    field = row_access.owner_field(layer)
    props = patch.get("properties") if isinstance(patch, dict) and "properties" in patch else patch
    if field and isinstance(props, dict) and field in props and str(props[field]).strip() != str(own):
        raise _refuse(layer, "不能把记录改到其他企业名下")
