"""Accidents: severity by 国务院令第493号, import from the office's spreadsheets, and their density.

The severity (一般/较大/重大/特别重大) is derived on every write from ``deaths``,
``serious_injuries`` and ``direct_loss_wan`` by the rows of ``accident_severity_rules``
(第三条: an accident is of the highest class any of its three figures reaches; “以上”包括本数).
"""

from __future__ import annotations

from typing import Any

from safemap.gis.accident_severity import severity_of
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore

#: The actor recorded in the audit log for derived severities.
GRADER = Actor("system:493", "admin")


def recompute_severity(store: FeatureStore, actor: Actor = GRADER) -> int:
    """Set every accident's ``severity`` from the rules; return how many changed."""
    rules = store.query("accident_severity_rules", limit=None, count=False, children=False).rows
    changes: dict[int, dict[str, Any]] = {}
    for row in store.query("accidents", limit=None, count=False, children=False).rows:
        grade = severity_of(row.get("deaths"), row.get("serious_injuries"), row.get("direct_loss_wan"), rules)
        if row.get("severity") != grade:
            changes[int(row["id"])] = {"severity": grade}
    if changes:
        store.set_computed("accidents", changes, actor, note=f"事故等级（493号令，{len(changes)} 起）")
    return len(changes)
