"""What the map's event stream (``GET /api/events``) says about changes in the store.

Two kinds of change travel on the stream:

* **features** — every create, edit and delete of any layer, read from the audit log, as one
  ``features`` event each (``layer``, ``id``, ``action``, ``actor``, ``version``), so every open
  map redraws what somebody else changed. The layers the panels follow closely (teams,
  dispatches, roads, incidents, warnings, alarms …, :data:`FOLLOWED`) also get an event named
  after the layer with the fields those panels read (:func:`change`).
* **live state** — sensor and vehicle states, read from the time series' state tables by their
  own sequence (they change thousands of times more often than features), see
  :func:`safemap.api.services.live_view.changes`.

:class:`AuditCursor` reads the audit log in order without skipping late commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from safemap.api.services import live_view
from safemap.layers import dispatching
from safemap.layers.enums import DELIVERY_STATE, INCIDENT_STATUS
from safemap.layers.store import FeatureStore

#: Layers with their own event (named after the layer) besides the general ``features`` one.
FOLLOWED = (
    "rescue_teams",
    "dispatches",
    "roads",
    "fire_lanes",
    "incidents",
    "warnings",
    "warning_deliveries",
    "incident_zones",
    "incident_events",
    "alarms",
)
#: Audit ids read again behind the newest sent (late commits), and rows read per page.
LOOKBACK = 200
PAGE = 500


class AuditCursor:
    """Reads the audit log after an id, in order, resending nothing and skipping nothing.

    PostgreSQL hands out audit ids when a row is written, not when its transaction commits: a
    long write (500 alarms at once) can become visible after a later, higher id was already
    sent. So the :data:`LOOKBACK` ids just behind the newest sent are read again and any not
    sent yet go out; a burst larger than one page is read to its end. Nothing from before
    ``after`` (the connection, or the browser's ``Last-Event-ID``) is replayed.
    """

    def __init__(self, after: int) -> None:
        self.after = after
        self._floor = after
        self._sent: set[int] = set()

    def rows(self, store: FeatureStore) -> Iterator[dict[str, Any]]:
        """Audit rows not sent yet, oldest first (``id``, ``layer``, ``feature_id``, ``action``, ``after`` …)."""
        cursor = max(self._floor, self.after - LOOKBACK)
        while True:
            page = dispatching.changes_since(store, cursor, None, PAGE)
            for row in page:
                rid = int(row["id"])
                if rid in self._sent:
                    continue
                self._sent.add(rid)
                self.after = max(self.after, rid)
                yield row
            if len(page) < PAGE:
                break
            cursor = int(page[-1]["id"])
        self._sent = {i for i in self._sent if i > self.after - LOOKBACK}


def events(row: dict[str, Any], store: FeatureStore) -> list[tuple[str, dict[str, Any]]]:
    """The stream's events for one audit row: ``(event name, data)`` pairs, maybe none."""
    # Account changes (and sign-in attempts) are audited too, but are nobody's map layer.
    if row["feature_id"] is None or row["layer"] not in store.layers:
        return []
    after = row.get("after") or {}
    props = after.get("properties") or {}
    out = [
        (
            "features",
            {
                "layer": row["layer"],
                "id": row["feature_id"],
                "action": row["action"],
                "actor": row["actor"],
                "version": props.get("version"),
            },
        )
    ]
    if row["layer"] in FOLLOWED:
        payload = alarm_change(row, store) if row["layer"] == "alarms" else change(row)
        if payload is not None:
            out.append((row["layer"], payload))
    return out


def alarm_change(row: dict[str, Any], store: FeatureStore) -> dict[str, Any] | None:
    """An alarm raised, acknowledged or cleared, as the 监测预警 panel lists it."""
    after = row.get("after")
    if row["feature_id"] is None or not after:
        return None
    feature = {"type": "Feature", "id": row["feature_id"], **after}
    present = live_view.present_alarm(feature, store.tz)
    return {"id": row["feature_id"], "action": row["action"], "actor": row["actor"], **present}


def change(row: dict[str, Any]) -> dict[str, Any] | None:
    """The fields a panel reads of a change to one of the :data:`FOLLOWED` layers.

    Kinds (the event name is the layer):

    * ``rescue_teams`` — ``status``, ``version``, ``name``;
    * ``dispatches`` — ``status``, ``team_id``, ``depot_id``, ``plan_id``, ``eta_s``, ``vehicle``,
      ``dispatcher``, ``geometry``;
    * ``roads`` / ``fire_lanes`` — ``status``, ``obstructed``, ``version``, ``name``;
    * ``incidents`` — an incident registered (``action`` create) or its status changed
      (``action`` status): ``status``, ``status_label``, ``kind``, ``name``, ``version``,
      ``reported_at``, ``geometry``;
    * ``incident_zones`` — a hazard zone (re-)modelled: ``incident_id``, ``seq``, ``model``,
      ``wind_from_deg``, ``stability``, ``geometry`` (the outline; the bands are at
      ``GET /api/incidents/{id}/zones``);
    * ``incident_events`` — any timeline entry (接警, status, note, zone, dispatch, warning …):
      ``incident_id``, ``kind``, ``text``, ``at``, ``ref``;
    * ``warnings`` — a warning sent (预警发布): ``incident_id``, ``title``, ``bands``, ``channels``,
      ``recipients``, ``created_by`` (deliveries at ``GET /api/incidents/{id}/warnings``);
    * ``warning_deliveries`` — ``warning_id``, ``incident_id``, ``channel``, ``state``,
      ``state_label``, ``attempts``, ``version``.

    Every kind also has ``id``, ``action`` and ``actor``.
    """
    after = row.get("after") or {}
    props = after.get("properties") or {}
    base = {"id": row["feature_id"], "action": row["action"], "actor": row["actor"]}
    if row["feature_id"] is None:
        return None
    layer = row["layer"]

    def pick(*keys: str) -> dict[str, Any]:
        return {k: props.get(k) for k in keys}

    if layer == "rescue_teams":
        return {**base, **pick("status", "version", "name")}
    if layer == "dispatches":
        keys = ("status", "team_id", "depot_id", "plan_id", "eta_s", "vehicle", "dispatcher")
        return {**base, **pick(*keys), "geometry": after.get("geometry")}
    if layer in ("roads", "fire_lanes"):
        return {**base, **pick("status", "obstructed", "version", "name")}
    if layer == "warnings":
        return {**base, **pick("incident_id", "title", "bands", "channels", "recipients", "created_by", "name")}
    if layer == "warning_deliveries":
        state = props.get("state")
        return {
            **base,
            **pick("warning_id", "incident_id", "channel", "state", "attempts", "version"),
            "state_label": DELIVERY_STATE.label(state) if state else None,
        }
    if layer == "incidents":
        return {
            **base,
            **pick("status", "kind", "name", "version", "reported_at"),
            "status_label": INCIDENT_STATUS.label(props.get("status")),
            "geometry": after.get("geometry"),
        }
    if layer == "incident_zones":
        return {
            **base,
            **pick("incident_id", "seq", "model", "wind_from_deg", "stability"),
            "geometry": after.get("geometry"),
        }
    if layer == "incident_events":
        return {**base, **pick("incident_id", "kind", "text", "at", "ref")}
    return {**base, **pick("status", "name")}


def team_statuses(store: FeatureStore) -> list[dict[str, Any]]:
    """Every rescue team's status and version (the stream's opening ``snapshot``)."""
    page = store.query("rescue_teams", limit=None, count=False, children=False)
    return [{"id": r["id"], "status": r["status"], "version": r["version"]} for r in page.rows]
