"""The experts (应急专家) a dispatcher is offered for an incident, by the incident's kind.

Fields of expertise per incident kind come from the catalogue
(:data:`safemap.layers.park_tables.EXPERT_FIELDS_BY_INCIDENT`, most needed first). Within a
field the available experts come first, then the nearest (straight-line distance from their
workplace, metres: they are called by phone first; who has to come on site is the dispatcher's
call). Experts who cannot be reached are listed last with that said, never dropped: the
dispatcher may still know how to reach them.
"""

from __future__ import annotations

from typing import Any

from pyproj import Geod

from safemap.layers.enums import INCIDENT_KIND
from safemap.layers.errors import Problem, Unprocessable
from safemap.layers.park_tables import EXPERT_FIELD, EXPERT_FIELDS_BY_INCIDENT
from safemap.layers.store import FeatureStore

_GEOD = Geod(ellps="WGS84")


def fields_for(kind: str) -> tuple[str, ...]:
    """Fields of expertise for an incident ``kind`` (all fields for 其他 or an unlisted kind)."""
    listed = EXPERT_FIELDS_BY_INCIDENT.get(kind)
    return listed if listed else EXPERT_FIELD.codes


def offered(
    store: FeatureStore, kind: str, lonlat: tuple[float, float] | None = None, *, per_field: int = 3
) -> dict[str, Any]:
    """Experts to call for an incident of ``kind`` at ``lonlat``, grouped by field in the order they are needed.

    Parameters
    ----------
    store
        The feature store (layer ``experts``).
    kind
        Incident kind code (``layers.enums.INCIDENT_KIND``).
    lonlat
        Where the incident is; without it no distances are given and the order is by name.
    per_field
        How many experts to list per field (the available first).

    Returns
    -------
    dict
        ``kind``, ``kind_label`` and ``groups``: per field its label and experts (name, title,
        employer, specialties, phone, available, distance_m).

    Raises
    ------
    Unprocessable
        ``kind`` is not an incident kind.
    """
    if kind not in INCIDENT_KIND.codes:
        why = f"事件类型应为：{INCIDENT_KIND.describe()}"
        raise Unprocessable(why, [Problem("incident_kind", why)])
    wanted = fields_for(kind)
    page = store.query("experts", filters={"field": list(wanted)}, limit=None, count=False, children=False)
    found = [_expert(r, g, lonlat) for r, g in zip(page.rows, page.geometries, strict=True)]
    groups = []
    for code in wanted:
        people = [e for e in found if e["field"] == code]
        people.sort(key=lambda e: (not e["available"], e["distance_m"] or 0.0, e["name"]))
        groups.append({"field": code, "field_label": EXPERT_FIELD.label(code), "experts": people[:per_field]})
    return {"kind": kind, "kind_label": INCIDENT_KIND.label(kind), "groups": groups}


def _expert(row: dict[str, Any], geom: Any, lonlat: tuple[float, float] | None) -> dict[str, Any]:
    coords = None if geom is None or geom.is_empty else (float(geom.x), float(geom.y))
    distance = None
    if lonlat is not None and coords is not None:
        distance = float(_GEOD.inv(lonlat[0], lonlat[1], coords[0], coords[1])[2])
    return {
        "id": row["id"],
        "field": row.get("field"),
        "name": row.get("name"),
        "title": row.get("title"),
        "employer": row.get("employer"),
        "specialties": row.get("specialties"),
        "phone": row.get("phone"),
        # Empty means nobody said otherwise: offered as reachable.
        "available": row.get("available") is not False,
        "distance_m": distance,
        "lonlat": None if coords is None else list(coords),
    }
