"""The 物资分配方案 in words: why each demand is short (Chinese sentences) and the printable plan (HTML).

:func:`shortfall` turns the causes :func:`safemap.gis.allocation.solve` found by re-solving
(no stock, unreachable, beyond the time limit, trucks full, stock used by other points) into
one sentence each, naming the item, the quantity and the depots concerned.
:func:`sheet_html` renders ``allocation_plan.html.j2``: the plan, every flow with its time as
分秒 and its distance, the shortfalls, and signature lines; times in the store's zone.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from safemap.api.reports._jinja import render
from safemap.api.reports.clock import local_text as _local
from safemap.gis import allocation as lp
from safemap.gis import routes
from safemap.gis.routing import NoRoute
from safemap.layers import labels

#: How people say a priority.
PRIORITY_WORDS = {1: "一级（最高）", 2: "二级", 3: "三级"}
REASON_WORDS = {
    "no_stock": "无库存",
    "unreachable": "道路不通",
    "time_limit": "超出送达时限",
    "capacity": "运力不足",
    "stock_short": "库存不足",
}


@dataclass
class Context:
    """What the shortfall sentences need from a computed plan."""

    depots: list[tuple[dict[str, Any], Any]]
    problem: lp.AllocationProblem
    item_name: list[str]
    units: list[str | None]
    legs: list[list[routes.Leg]]
    points: list[tuple[float, float]]
    time_limit_s: float | None
    weights: dict[str, float]
    capacity_t: float
    loads_t: np.ndarray | None = None


def shortfall(ctx: Context, s: lp.Shortfall, demand: dict[str, Any], result: lp.AllocationResult) -> dict[str, Any]:
    """One shortfall with a Chinese sentence per cause."""
    p = ctx.problem
    k, pt = int(p.row_item[s.row]), int(p.row_point[s.row])
    unit = demand["unit"] or ""
    item = demand["item"]
    holders = [i for i in range(len(ctx.depots)) if p.stock[i, k] > lp.EPS]
    names = lambda ids: "、".join(ctx.depots[i][0]["name"] for i in ids) or "—"  # noqa: E731
    out = []
    for code in lp.REASON_ORDER:
        qty = s.reasons.get(code)
        if not qty:
            continue
        q = f"{labels.number_text(qty)}{unit}"
        if code == "no_stock":
            text = f"{q}：各储备库均无“{item}”库存"
        elif code == "unreachable":
            why = []
            for i in holders[:1]:
                try:
                    ctx.legs[i][pt].route()
                except NoRoute as exc:
                    why = exc.reasons
            text = f"{q}：持有“{item}”的储备库（{names(holders)}）均无法经道路到达" + (
                f"（{'；'.join(why[:2])}）" if why else ""
            )
        elif code == "time_limit":
            near = min(holders, key=lambda i: p.time_s[i, pt])
            text = (
                f"{q}：送达时限 {labels.duration_text(ctx.time_limit_s)} 内送不到；"
                f"最近的有库存储备库{ctx.depots[near][0]['name']}需 {labels.duration_text(p.time_s[near, pt])}"
            )
        elif code == "capacity":
            full = [i for i in holders if _load_t(ctx, result, i) >= ctx.capacity_t - 1e-6]
            text = (
                f"{q}：库存充足但运力已满（{names(full)}的车辆运力各 "
                f"{labels.number_text(ctx.capacity_t)} t 已全部使用）"
            )
        else:
            reach = [i for i in holders if math.isfinite(p.time_s[i, pt])]
            have = float(p.stock[reach, k].sum()) if reach else 0.0
            text = f"{q}：可达储备库的“{item}”库存共 {labels.number_text(have)}{unit}，已分配给优先级更高或同级的需求点"
        out.append({"code": code, "label": REASON_WORDS[code], "quantity": round(qty, 6), "text": text})
    return {"row": s.row, "item": item, "unit": unit, "quantity": round(s.quantity, 6), "reasons": out}


def _load_t(ctx: Context, result: lp.AllocationResult, depot: int) -> float:
    """Tonnes the plan loads on ``depot``'s trucks (computed once per plan)."""
    if ctx.loads_t is None:
        kg = np.nan_to_num(ctx.problem.unit_kg, nan=0.0)
        ctx.loads_t = np.zeros(len(ctx.depots))
        for f in result.flows:
            ctx.loads_t[f.depot] += f.quantity * kg[int(ctx.problem.row_item[f.row])] / 1000.0
    return float(ctx.loads_t[depot])


def sheet_html(plan: dict[str, Any], tz: dt.tzinfo, *, map_unit: str = "", tz_name: str = "") -> str:
    """The printable plan (A4 HTML) from :func:`safemap.api.services.allocation.get`'s result.

    Parameters
    ----------
    plan
        ``plan``, ``demands``, ``flows`` (GeoJSON) and ``shortfalls`` of one plan.
    tz
        The store's zone: every time is printed in it.
    map_unit, tz_name
        制图单位 and the zone's name for the footer.
    """
    p = plan["plan"]
    demands = {f["id"]: f["properties"] for f in plan["demands"]["features"]}
    flows = []
    for n, f in enumerate(
        sorted(plan["flows"]["features"], key=lambda f: (f["properties"]["depot_id"], f["properties"]["demand_id"]))
    ):
        fp = f["properties"]
        d = demands.get(fp["demand_id"], {})
        flows.append(
            {
                "n": n + 1,
                "depot": fp["name"].split(" → ")[0],
                "to": d.get("name", "—"),
                "item": fp["item"],
                "quantity": labels.number_text(fp["quantity"]),
                "unit": fp.get("unit") or "",
                "eta": labels.duration_text(fp.get("eta_s")),
                "distance": labels.distance_text(fp.get("distance_m")),
                "edited": "是" if fp.get("edited") else "",
            }
        )
    rows = [
        {
            "name": d["name"],
            "item": d["item"],
            "unit": d.get("unit") or "",
            "quantity": labels.number_text(d["quantity"]),
            "priority": PRIORITY_WORDS.get(int(d["priority"]), str(d["priority"])),
            "served": labels.number_text(d.get("served")),
            "unmet": labels.number_text(d.get("unmet")),
            "short": (d.get("unmet") or 0) > 1e-6,
        }
        for d in demands.values()
    ]
    shortfalls = [
        {"item": s["item"], "point": demands.get(s.get("demand_id"), {}).get("name", "—"), "reasons": s["reasons"]}
        for s in plan["shortfalls"]
    ]
    return render(
        "allocation_plan.html.j2",
        plan=p,
        created_at=_local(p.get("computed_at") or p.get("updated_at"), tz),
        confirmed_at=_local(p.get("confirmed_at"), tz),
        latest=labels.duration_text(p.get("latest_eta_s")),
        limit=labels.duration_text(p.get("time_limit_s")) if p.get("time_limit_s") else "不限",
        demands=rows,
        flows=flows,
        shortfalls=shortfalls,
        map_unit=map_unit,
        timezone=tz_name or str(tz),
        printed_at=_local(dt.datetime.now(dt.UTC), tz),
    )
