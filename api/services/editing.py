"""Every write to the layers goes through here, so derived values stay current on every path.

The HTTP routes, the CLI (``safemap import``, ``safemap demo``) and future ingest call these
functions instead of the store's own write methods. After a write that changes an input of
a derived value, the derived value is recomputed before the function returns:

* GB 18218 S, R, grade and exposed population of units and hazard sources
  (:func:`~safemap.api.services.major_hazard.recompute_grades`) depend on ``hazard_sources``
  (substances, position, ``unit_id``), ``hazard_units`` (outline), ``protected_targets``
  (population within 500 m) and the GB 18218 tables. A change to a unit or to one member
  regrades the whole unit and every member.

Before a hazard source is written, its substances are read as GB 18218 reads them: a CAS
number that contradicts the substance's name is refused (422) rather than graded as
something else.

A failed recompute does not undo the write (the write is the user's, the recompute is
ours): it is logged and the next write or ``safemap grade-hazards`` repeats it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from safemap.api.services.ownership import guard_change, guard_create
from safemap.layers import row_access
from safemap.layers.enums import INCIDENT_STATUS, RISK_LEVEL
from safemap.layers.errors import Forbidden, Problem, ValidationFailed
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from safemap.layers.transfer import ImportReport, import_file
from safemap.layers.validation import CleanFeature

log = logging.getLogger(__name__)

#: The actor recorded in the audit log for recomputed values.
GRADER = Actor("system:gb18218", "admin")


def _recompute_grades(store: FeatureStore) -> None:
    from safemap.api.services.major_hazard import recompute_grades

    recompute_grades(store, GRADER)


def _prepare_hazard_source(store: FeatureStore, layer: str, feature: Any, feature_id: int | None = None) -> Any:
    """A hazard source as GB 18218 reads it, or a 422 when it cannot be read as written.

    CAS numbers typed with spaces, full-width characters or without hyphens are stored in
    the canonical ``NNNNNNN-NN-N`` form; a wrong check digit, a CAS number that contradicts
    the substance's name, or a unit of another enterprise is refused. Malformed input is
    left to the store's validation, which names the field. Returns the feature to write
    (a copy when a CAS number was rewritten).
    """
    if layer != "hazard_sources" or not isinstance(feature, dict):
        return feature
    props = feature.get("properties")
    if not isinstance(props, dict):
        return feature
    from safemap.api.services.major_hazard import check_substances, check_unit, normalised_substances

    subs = props.get("substances")
    if isinstance(subs, list) and all(isinstance(s, dict) for s in subs):
        check_substances(store, subs)
        feature = {**feature, "properties": {**props, "substances": normalised_substances(subs)}}
    check_unit(store, props, feature_id)
    return feature


def _recompute_risk(store: FeatureStore) -> None:
    from safemap.api.services.risk_points import recompute_risk

    recompute_risk(store)


def _recompute_severity(store: FeatureStore) -> None:
    from safemap.api.services.accidents import recompute_severity

    recompute_severity(store)


def _as_written(
    store: FeatureStore, layer: str, feature: Any, feature_id: int | None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(what the write sets, the feature's properties as they will be stored); ``None`` for a malformed body.

    A malformed body is left to the store's validation, which names what is wrong.
    """
    if not isinstance(feature, dict):
        return None
    props = feature.get("properties") if "properties" in feature else feature
    if not isinstance(props, dict):
        return None
    if feature_id is None:
        return props, dict(props)
    return props, {**store.get(layer, feature_id)["properties"], **props}


def _prepare_risk_point(store: FeatureStore, layer: str, feature: Any, feature_id: int | None = None) -> None:
    """Refuse a risk point whose method's factors are missing or not values of the scoring table (422)."""
    written = _as_written(store, layer, feature, feature_id) if layer == "risk_points" else None
    if written is None:
        return
    from safemap.api.services.risk_points import check_point

    check_point(store, *written)


def _office_sets_level(store: FeatureStore, layer: str, patch: Any, feature_id: int) -> Any:
    """An enterprise's risk level changed by hand is the office's (核定): it is no longer derived from its points.

    Without this the next recompute would put the derived level back over what was just typed.
    Sending ``risk_level_fixed: false`` explicitly hands the level back to the points.
    """
    if layer != "enterprises" or not isinstance(patch, dict):
        return patch
    props = patch.get("properties") if "properties" in patch else patch
    if not isinstance(props, dict) or "risk_level" not in props or "risk_level_fixed" in props:
        return patch
    current = store.get(layer, feature_id)["properties"].get("risk_level")
    if props["risk_level"] in (current, RISK_LEVEL.label(str(current))):
        return patch
    fixed = {**props, "risk_level_fixed": True}
    return {**patch, "properties": fixed} if "properties" in patch else fixed


#: The denominators of the plan's indicators (``indicator_years``), at least one of which a year must give.
DENOMINATORS = ("gdp_100m_yuan", "employees_gmt", "coal_output_10kt", "operating_vehicles")


def _guard_indicator_year(store: FeatureStore, layer: str, feature: Any, feature_id: int | None = None) -> None:
    """One row per year, and a year gives at least one denominator (an empty year computes nothing)."""
    written = _as_written(store, layer, feature, feature_id) if layer == "indicator_years" else None
    if written is None:
        return
    merged = written[1]
    if all(merged.get(name) in (None, "") for name in DENOMINATORS):
        why = "请至少填写一项：地区生产总值、工矿商贸就业人员、煤炭产量或营运车辆（无煤矿的县煤炭产量填 0）"
        raise ValidationFailed(f"properties.gdp_100m_yuan: {why}", [Problem("properties.gdp_100m_yuan", why)])
    year = merged.get("year")
    if year in (None, ""):
        return
    rows = store.query(layer, limit=None, count=False, children=False).rows
    if any(str(r.get("year")) == str(year).strip() and r["id"] != feature_id for r in rows):
        why = f"{year} 年已有一行，请修改那一行"
        raise ValidationFailed(f"properties.year: {why}", [Problem("properties.year", why)])


#: Derived values and the layers whose writes make them stale.
DERIVED: tuple[tuple[frozenset[str], Callable[[FeatureStore], None]], ...] = (
    (
        frozenset({"hazard_sources", "hazard_units", "protected_targets", "gb18218_substances", "gb18218_classes"}),
        _recompute_grades,
    ),
    (frozenset({"risk_points", "risk_zones", "enterprises", "risk_level_bands"}), _recompute_risk),
    (frozenset({"accidents", "accident_severity_rules"}), _recompute_severity),
)


def keep_derived(store: FeatureStore, written: Iterable[str]) -> None:
    """Recompute every derived value that depends on one of the ``written`` layers."""
    touched = set(written)
    for inputs, recompute in DERIVED:
        if inputs & touched:
            try:
                recompute(store)
            except Exception:  # the write stands; a failed recompute must not turn it into an error
                log.exception("recompute of derived values after a write to %s failed", sorted(touched))


def _guard_incident_status(store: FeatureStore, layer: str, patch: Any, feature_id: int) -> None:
    """Refuse a status change of an incident through the generic layer API.

    An incident's status moves forward only, and each step is recorded on its timeline with
    who and when: that rule lives in :func:`safemap.api.services.incidents.set_status`
    (``POST /api/incidents/{id}/status``). A patch repeating the current status is fine.
    """
    if layer != "incidents" or not isinstance(patch, dict):
        return
    props = patch.get("properties") if "properties" in patch else patch
    if not isinstance(props, dict) or "status" not in props:
        return
    current = store.get(layer, feature_id)["properties"].get("status")
    if props["status"] in (current, INCIDENT_STATUS.label(str(current))):
        return
    why = "事件的处置状态请在“事件处置”中推进（POST /api/incidents/{id}/status），以便按顺序记录变更人和时间"
    raise ValidationFailed(f"properties.status: {why}", [Problem("properties.status", why)])


#: Device identities that must be unique: ingest finds a sensor by its code and a vehicle by its plate.
DEVICE_KEYS = {"sensors": ("code", "设备编码"), "vehicles": ("plate", "车牌号")}


def _guard_device_key(store: FeatureStore, layer: str, feature: Any, feature_id: int | None = None) -> None:
    """Refuse a sensor code or plate another feature already has (compared as ingest compares them)."""
    if layer not in DEVICE_KEYS or not isinstance(feature, dict):
        return
    from safemap.api.services.live_registry import canonical_code, canonical_plate

    name, label = DEVICE_KEYS[layer]
    props = feature.get("properties") if "properties" in feature else feature
    value = props.get(name) if isinstance(props, dict) else None
    if not isinstance(value, str) or not value.strip():
        return
    canon = canonical_plate if layer == "vehicles" else canonical_code
    wanted = canon(value)
    rows = store.query(layer, limit=None, count=False, children=False).rows
    clash = next((r for r in rows if r["id"] != feature_id and canon(str(r.get(name) or "")) == wanted), None)
    if clash is not None:
        owner = f"「{clash.get('name') or clash['id']}」（编号 {clash['id']}）"
        why = f"{label} {value.strip()} 已被{owner}使用；设备按它识别，不能重复"
        raise ValidationFailed(f"properties.{name}: {why}", [Problem(f"properties.{name}", why)])


def create_feature(store: FeatureStore, layer: str, feature: Any, actor: Actor) -> dict[str, Any]:
    """Validate and insert one GeoJSON feature; return it as stored (derived values current).

    An incident created this way (rather than by 接警, ``POST /api/incidents``) still gets
    its first timeline entry.
    """
    feature = guard_create(store, layer, feature, actor)
    _prepare_risk_point(store, layer, feature)
    _guard_indicator_year(store, layer, feature)
    feature = _prepare_hazard_source(store, layer, feature)
    _guard_device_key(store, layer, feature)
    created = store.create(layer, feature, actor)
    if layer == "incidents":
        from safemap.api.services.incidents import record_event

        record_event(store, int(created["id"]), "created", "通过图层接口登记事件", actor, f"incidents:{created['id']}")
    return _after(store, layer, created)


def update_feature(
    store: FeatureStore,
    layer: str,
    feature_id: int,
    patch: Any,
    actor: Actor,
    *,
    expected_version: int | None,
) -> dict[str, Any]:
    """Apply a partial update that quotes the version it edits; return the feature as stored."""
    guard_change(store, layer, feature_id, patch, actor)
    patch = _office_sets_level(store, layer, patch, feature_id)
    _prepare_risk_point(store, layer, patch, feature_id)
    _guard_indicator_year(store, layer, patch, feature_id)
    _guard_incident_status(store, layer, patch, feature_id)
    _guard_device_key(store, layer, patch, feature_id)
    patch = _prepare_hazard_source(store, layer, patch, feature_id)
    updated = store.update(layer, feature_id, patch, actor, expected_version=expected_version)
    return _after(store, layer, updated)


def delete_feature(
    store: FeatureStore, layer: str, feature_id: int, actor: Actor, *, expected_version: int | None
) -> None:
    """Delete one feature that quotes the version it deletes."""
    guard_change(store, layer, feature_id, None, actor)
    store.delete(layer, feature_id, actor, expected_version=expected_version)
    keep_derived(store, [layer])


def import_features(store: FeatureStore, layer: str, path: str | Path, actor: Actor, **options: Any) -> ImportReport:
    """Import a file into a layer, all or nothing (see :func:`safemap.layers.transfer.import_file`).

    Enterprise users keep their records one by one: a file import (which may replace a whole
    layer) is refused (403).
    """
    if row_access.is_enterprise(actor):
        raise Forbidden("企业用户不能批量导入，请逐条维护本企业的记录")
    if layer == "hazard_sources":
        from safemap.api.services.major_hazard import import_problems

        def check(cleans: Sequence[CleanFeature], rows: Sequence[int]) -> list[Problem]:
            return import_problems(store, [c.children.get("substances") or [] for c in cleans], rows)

        options = {**options, "check": check}
    report = import_file(store, layer, path, actor, **options)
    if not report.dry_run and report.count:
        keep_derived(store, [layer])
    return report


def build_demo(store: FeatureStore, *, seed: int = 2021) -> dict[str, int]:
    """Build the demo county into ``store`` and compute every derived value of it."""
    from safemap.layers.demo import build_demo as write_demo

    counts = write_demo(store, seed=seed)
    keep_derived(store, counts)
    return counts


def _after(store: FeatureStore, layer: str, feature: dict[str, Any]) -> dict[str, Any]:
    if not any(layer in inputs for inputs, _ in DERIVED):
        return feature
    keep_derived(store, [layer])
    # The answer shows the derived values the write produced, not the ones before it.
    return store.get(layer, int(feature["id"]))


__all__ = [
    "GRADER",
    "build_demo",
    "create_feature",
    "delete_feature",
    "import_features",
    "keep_derived",
    "update_feature",
]
