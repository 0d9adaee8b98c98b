"""Every write to the layers goes through here, so derived values stay current on every path.

The HTTP routes, the CLI (``safemap import``, ``safemap demo``) and future ingest call these
functions instead of the store's own write methods. After a write that changes an input of
a derived value, the derived value is recomputed before the function returns:

* GB 18218 S, R, grade and exposed population of hazard sources (:func:`recompute_grades`)
  depend on ``hazard_sources`` (substances, position), ``protected_targets`` (population
  within 500 m) and the GB 18218 tables.

A failed recompute does not undo the write (the write is the user's, the recompute is
ours): it is logged and the next write or ``safemap grade-hazards`` repeats it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from safemap.layers.transfer import ImportReport, import_file

log = logging.getLogger(__name__)

#: The actor recorded in the audit log for recomputed values.
GRADER = Actor("system:gb18218", "admin")


def _recompute_grades(store: FeatureStore) -> None:
    from safemap.api.services.safety import recompute_grades

    recompute_grades(store, GRADER)


#: Derived values and the layers whose writes make them stale.
DERIVED: tuple[tuple[frozenset[str], Callable[[FeatureStore], None]], ...] = (
    (frozenset({"hazard_sources", "protected_targets", "gb18218_substances", "gb18218_classes"}), _recompute_grades),
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


def create_feature(store: FeatureStore, layer: str, feature: Any, actor: Actor) -> dict[str, Any]:
    """Validate and insert one GeoJSON feature; return it as stored (derived values current)."""
    created = store.create(layer, feature, actor)
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
    updated = store.update(layer, feature_id, patch, actor, expected_version=expected_version)
    return _after(store, layer, updated)


def delete_feature(
    store: FeatureStore, layer: str, feature_id: int, actor: Actor, *, expected_version: int | None
) -> None:
    """Delete one feature that quotes the version it deletes."""
    store.delete(layer, feature_id, actor, expected_version=expected_version)
    keep_derived(store, [layer])


def import_features(store: FeatureStore, layer: str, path: str | Path, actor: Actor, **options: Any) -> ImportReport:
    """Import a file into a layer, all or nothing (see :func:`safemap.layers.transfer.import_file`)."""
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
