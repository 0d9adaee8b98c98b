"""The printable call list of a warning (电话通知清单): every recipient to phone, most urgent first.

Rendered from ``templates/call_list.html.j2`` (on ``base.html.j2``); no network needed, so
it works when neither SMTP nor a webhook is set up. One row per recipient (the call-list
delivery when there is one, else the first delivery of that person), with the phone, the
band, the population concerned, the states of the other channels, and a box to tick.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from safemap.api.reports._jinja import render

NO_PHONE = "无登记电话：请经乡镇、村委会或网格员上门通知"


def _local(value: Any, tz: dt.tzinfo) -> str:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    return ""


def call_list_rows(deliveries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per recipient, in the order the warning listed them, with the states of every channel."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for d in deliveries:
        who = (d["name"], d.get("organisation"), d.get("phone"), d.get("email"), d.get("target_id"))
        row = rows.setdefault(who, {**d, "states": [], "call": None})
        row["states"].append(f"{d['channel_label']}：{d['state_label']}")
        if d["channel"] == "call_list":
            row["call"] = d
    return list(rows.values())


def call_list_html(result: dict[str, Any], incident: dict[str, Any], tz: dt.tzinfo) -> str:
    """The call list of one warning (``warnings.get_warning`` result) as a standalone HTML page."""
    warning = result["warning"]
    rows = call_list_rows(result["deliveries"])
    return render(
        "call_list.html.j2",
        warning=warning,
        incident=incident["properties"],
        incident_id=incident["id"],
        rows=rows,
        counts=result["counts"],
        sent_at=_local(warning.get("created_at"), tz),
        printed_at=dt.datetime.now(tz).strftime("%Y-%m-%d %H:%M"),
        no_phone=NO_PHONE,
    )
