"""Who is inside an incident's hazard zone (靶向), band by band, and the lists to call from.

For a stored zone (:mod:`safemap.api.services.incident_zones`) each feature of the layers below
is put in the **innermost** (most severe) band it touches, so it is listed once and warned
with the most urgent message:

* ``protected_targets`` — schools, kindergartens, hospitals and nursing homes first, then by
  headcount; counted by category and GB 36894 class; their ``population`` summed is the
  band's ``population`` (people in known buildings and places);
* ``settlements`` (with their population, which may include people already counted in a
  target, hence reported apart as ``settlement_population``) and ``townships`` touched;
* ``enterprises`` with their safety contact and phone;
* ``rescue_teams`` and ``material_depots`` that are themselves inside (their people must be
  warned, and they may not be able to leave as planned).

:func:`exposure_rows` flattens it for CSV/XLSX (Chinese headers from the catalogue).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from safemap.api.services import incident_zones
from safemap.gis.numbers import finite
from safemap.layers.definitions import get_layer
from safemap.layers.enums import GB36894_CLASS, TARGET_CATEGORY
from safemap.layers.store import FeatureStore

#: Categories listed first: people who cannot leave by themselves.
FIRST = ("school", "kindergarten", "hospital", "nursing_home")
#: Layer → the fields listed for each feature found (besides id, name, township).
LISTED: dict[str, tuple[str, ...]] = {
    "protected_targets": ("category", "gb36894_class", "population", "address"),
    "settlements": ("kind", "population"),
    "townships": ("code",),
    "enterprises": ("industry", "risk_level", "employees", "contact", "phone", "address"),
    "rescue_teams": ("kind", "status", "headcount", "phone"),
    "material_depots": ("level", "manager", "phone"),
}


def _labelled(layer: str, row: dict[str, Any]) -> dict[str, Any]:
    spec = get_layer(layer)
    item: dict[str, Any] = {"layer": layer, "layer_label": spec.label, "id": row["id"], "name": row.get("name")}
    item["township"] = row.get("township")
    for name in LISTED[layer]:
        value = row.get(name)
        item[name] = value
        enum = spec.field(name).enum
        if enum is not None:
            item[f"{name}_label"] = enum.label(value) if value is not None else None
    return item


def exposure(store: FeatureStore, incident_id: int, zone_id: int | None = None) -> dict[str, Any]:
    """Everything inside the incident's current (or given) zone, by band.

    Returns
    -------
    dict
        ``incident_id``, ``zone`` (summary), ``bands``: innermost first, each with ``label``,
        ``threshold``, ``population``, ``settlement_population``, ``counts`` per layer,
        ``targets_by_class`` and the lists ``protected_targets``, ``settlements``, ``townships``,
        ``enterprises``, ``rescue_teams``, ``material_depots``; and ``totals``.
    """
    z = incident_zones.zone(store, incident_id, zone_id)
    polys = [shape(b["geometry"]) for b in z["bands"]]
    bands: list[dict[str, Any]] = [
        {"label": b["label"], "threshold": b["threshold"], **{name: [] for name in LISTED}} for b in z["bands"]
    ]
    for layer in LISTED:
        page = store.query(layer, limit=None, count=False, children=False)
        if not page.rows:
            continue
        geoms = np.asarray(page.geometries)
        taken = np.zeros(len(geoms), dtype=bool)
        for k, poly in enumerate(polys):
            hit = shapely.intersects(poly, geoms) & ~taken
            taken |= hit
            bands[k][layer] = [_labelled(layer, page.rows[i]) for i in np.flatnonzero(hit)]
    totals: dict[str, Any] = {"population": 0, "settlement_population": 0, "counts": dict.fromkeys(LISTED, 0)}
    for band in bands:
        targets = band["protected_targets"]
        targets.sort(
            key=lambda t: (
                t["category"] not in FIRST,
                FIRST.index(t["category"]) if t["category"] in FIRST else 0,
                -(finite(t["population"]) or 0),
            )
        )
        band["population"] = int(sum(finite(t["population"]) or 0 for t in targets))
        band["settlement_population"] = int(sum(finite(s["population"]) or 0 for s in band["settlements"]))
        band["schools_hospitals"] = sum(t["category"] in FIRST for t in targets)
        by_class: dict[str, dict[str, Any]] = {}
        for t in targets:
            c = by_class.setdefault(
                t["category"],
                {"category": t["category"], "label": TARGET_CATEGORY.label(t["category"]), "count": 0, "population": 0},
            )
            c["count"] += 1
            c["population"] += int(finite(t["population"]) or 0)
        band["targets_by_class"] = sorted(
            by_class.values(), key=lambda c: (c["category"] not in FIRST, -c["population"])
        )
        by_gb: dict[str, int] = {}
        for t in targets:
            key = str(GB36894_CLASS.label(t["gb36894_class"])) if t["gb36894_class"] else "未分类"
            by_gb[key] = by_gb.get(key, 0) + 1
        band["targets_by_gb36894_class"] = by_gb
        band["counts"] = {layer: len(band[layer]) for layer in LISTED}
        totals["population"] += band["population"]
        totals["settlement_population"] += band["settlement_population"]
        for layer in LISTED:
            totals["counts"][layer] += band["counts"][layer]
    totals["schools_hospitals"] = sum(b["schools_hospitals"] for b in bands)
    return {
        "incident_id": incident_id,
        "zone": incident_zones.summary(z),
        "bands": bands,
        "totals": totals,
        "note": (
            "每个对象只计入其所在的最内层（最严重）分区；population 为防护目标登记人数，居民点人口另计（可能与其重叠）"
        ),
    }


#: Columns of the CSV/XLSX export: (key, Chinese header).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("band", "影响分区"),
    ("threshold", "阈值"),
    ("layer_label", "对象类别"),
    ("name", "名称"),
    ("kind", "类型"),
    ("population", "人数"),
    ("contact", get_layer("enterprises").field("contact").label),
    ("phone", "联系电话"),
    ("township", get_layer("enterprises").field("township").label),
    ("address", "地址"),
    ("id", "编号"),
)
_KIND_FIELD = {
    "protected_targets": "category_label",
    "settlements": "kind_label",
    "townships": "code",
    "enterprises": "industry_label",
    "rescue_teams": "kind_label",
    "material_depots": "level_label",
}
_PEOPLE = {
    "protected_targets": "population",
    "settlements": "population",
    "enterprises": "employees",
    "rescue_teams": "headcount",
}


def exposure_rows(result: dict[str, Any]) -> list[list[Any]]:
    """The exposure as table rows (header first): one row per feature, bands innermost first."""
    rows: list[list[Any]] = [[label for _, label in COLUMNS]]
    for band in result["bands"]:
        for layer in LISTED:
            for item in band[layer]:
                values = {
                    "band": band["label"],
                    "threshold": band["threshold"],
                    "layer_label": item["layer_label"],
                    "name": item["name"],
                    "kind": item.get(_KIND_FIELD[layer]),
                    "population": item.get(_PEOPLE.get(layer, "")),
                    "contact": item.get("contact") or item.get("manager"),
                    "phone": item.get("phone"),
                    "township": item.get("township"),
                    "address": item.get("address"),
                    "id": item["id"],
                }
                rows.append([values[k] for k, _ in COLUMNS])
    return rows
