"""Overdue findings become alarms: one 隐患整改逾期 alarm per open finding past its deadline.

Run every minute by the live worker inside ``safemap serve`` (and by ``safemap dangers sweep``
or ``POST /api/dangers/sweep``). The alarm appears in the 监测预警 panel with the others; a
finding with an open overdue alarm gets no second one, and closing the finding (销号) closes
its alarm (:func:`api.services.dangers.transition`).
"""

from __future__ import annotations

import datetime as dt

from safemap.api.services.dangers import OPEN_STATUSES, as_date, is_overdue, record_event, today
from safemap.api.services.live_alarms import AlarmInput, open_alarms, raise_alarm
from safemap.layers.model import Actor, utc_now
from safemap.layers.prevention_enums import DANGER_GRADE
from safemap.layers.store import FeatureStore

#: Who the timeline names for an overdue alarm.
SWEEPER = Actor("system:overdue", "admin")


def sweep_overdue(store: FeatureStore, now: dt.datetime | None = None) -> list[int]:
    """Raise one 隐患整改逾期 alarm for each open finding past its deadline; return the new alarms' ids.

    A finding with an open overdue alarm gets no second one; closing the finding closes it.
    """
    on = today(store, now)
    rows = store.query(
        "hidden_dangers", filters={"status": list(OPEN_STATUSES)}, limit=None, count=False, children=False
    ).features()
    raised: list[int] = []
    at = now or utc_now()
    for f in rows:
        props = f["properties"]
        if not is_overdue(props, on) or f["geometry"] is None:
            continue
        if open_alarms(store, "danger_overdue", danger_id=int(f["id"])):
            continue
        lon, lat = f["geometry"]["coordinates"][:2]
        days = (on - (as_date(props["deadline"]) or on)).days
        message = (
            f"{DANGER_GRADE.label(props['grade'])}“{props['name']}”已超过整改期限 {props['deadline']} {days} 天"
            f"（责任人：{props.get('responsible') or '未填'}）"
        )
        alarm_id, created = raise_alarm(
            store,
            AlarmInput(
                kind="danger_overdue",
                at=at,
                lon=float(lon),
                lat=float(lat),
                message=message,
                enterprise_id=props.get("enterprise_id"),
                level=2 if props.get("grade") == "major" else 1,
                danger_id=int(f["id"]),
            ),
        )
        if created:
            raised.append(alarm_id)
            with store.transaction() as tx:
                record_event(tx, int(f["id"]), "overdue", SWEEPER, message, [])
                tx.bump_generation()
    return raised
