"""Material allocation plans (物资分配方案, issue 18): plans, demand points, flows, unit weights.

* ``allocation_plans`` 物资分配方案 (attribute table) — a plan for a large emergency: status
  草稿 → 已确认 / 已取消, the truck model it was computed with and its objective summary.
  Written only by ``api/services/allocation.py``; its ``version`` is the version every edit of
  the plan's demands or flows quotes (a stale edit is a 409).
* ``allocation_demands`` 需求点 (points) — one row per demand point and item, with priority.
* ``allocation_flows`` 调拨明细 (lines along the road route) — depot → demand row quantities.
* ``material_weights`` 物资单位重量 (attribute table, seeded from
  ``data/standards/material_weights.csv``) — kg per unit of an inventory item, for the trucks'
  capacity; an admin edits it like any standards table.

The plan's writes (lock a draft at its version, replace its rows, hand edits of flows) are in
:mod:`layers.dispatching` beside the confirmation they end in. Confirming a plan writes
``dispatches`` rows (one per depot → demand point) and reserves stock through
:func:`layers.dispatching.confirm`, in the same transaction as the plan's status.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from typing import Any

from safemap.layers.catalogue import EnumType, Field, Layer, Member, Style, common_fields
from safemap.layers.errors import Problem, Unprocessable

EVENTS = "应急事件"
STANDARDS = "标准与参数"
#: Plans, demands and flows change only through the allocation service (roles checked there).
SERVICE_ONLY = frozenset({"admin"})

ALLOCATION_STATUS = EnumType(
    "allocation_status",
    (
        Member("draft", "草稿", "#1565c0"),
        Member("confirmed", "已确认", "#2e7d32"),
        Member("cancelled", "已取消", "#9e9e9e"),
    ),
)

ALLOCATION_PLANS = Layer(
    name="allocation_plans",
    label="物资分配方案",
    group=EVENTS,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("status", "enum", "方案状态", required=True, enum=ALLOCATION_STATUS),
        Field("incident_id", "int", "事件编号", references="incidents"),
        Field("note", "str", "备注", max_length=1000),
        Field("created_by", "str", "编制人", max_length=100),
        Field("confirmed_by", "str", "确认人", max_length=100),
        Field("confirmed_at", "datetime", "确认时间"),
        Field(
            "dispatch_plan_id", "str", "调度单号", max_length=40, description="dispatches.plan_id written on confirm"
        ),
        Field("vehicle", "str", "运输车辆类型", max_length=50),
        Field("trucks", "int", "每库车辆数", unit="辆", minimum=0, maximum=1000),
        Field("trips", "int", "每车趟数", unit="趟", minimum=1, maximum=100),
        Field("payload_t", "float", "单车载重", unit="t", minimum=0, maximum=100),
        Field("time_limit_s", "float", "送达时限", unit="s", minimum=0, maximum=864_000),
        Field("loading_s", "float", "装车时间", unit="s", minimum=0, maximum=86_400),
        Field("demand_total", "float", "需求总量", computed=True, description="Σ demand quantities (mixed units)."),
        Field("shipped_total", "float", "调拨总量", computed=True),
        Field("unmet_total", "float", "缺口总量", computed=True),
        Field("weighted_unmet", "float", "加权缺口", computed=True, description="Σ priority weight × unmet."),
        Field("latest_eta_s", "float", "最晚送达时间", unit="s", computed=True),
        Field("solve_ms", "float", "求解用时", unit="ms", computed=True),
        Field("computed_at", "datetime", "计算时间", computed=True),
        Field(
            "shortfalls",
            "str",
            "缺口说明",
            computed=True,
            description="JSON list of {demand_id, item, unit, quantity, reasons: [{code, quantity, text}]}.",
        ),
    ),
    style=None,
    editors=SERVICE_ONLY,
    description="A material allocation plan for many demand points (draft → confirmed / cancelled).",
)

ALLOCATION_DEMANDS = Layer(
    name="allocation_demands",
    label="需求点",
    group=EVENTS,
    geometry_types=("Point",),
    fields=(
        *common_fields(),
        Field("plan_id", "int", "分配方案编号", required=True, references="allocation_plans"),
        Field("item", "str", "物资", required=True, max_length=100),
        Field("unit", "str", "单位", max_length=20),
        Field("quantity", "float", "需求数量", required=True, minimum=0, maximum=1e9),
        Field(
            "priority",
            "int",
            "优先级",
            required=True,
            minimum=1,
            maximum=3,
            description="1 最高 … 3; weights 100/10/1 per unmet unit (gis/allocation.PRIORITY_WEIGHTS).",
        ),
        Field("settlement_id", "int", "居民点编号", references="settlements"),
        Field("served", "float", "已安排数量", computed=True),
        Field("unmet", "float", "缺口数量", computed=True),
    ),
    style=Style("circle", "#6a1b9a", radius=7),
    editors=SERVICE_ONLY,
    description="Demand rows of an allocation plan: one per point and item.",
)

ALLOCATION_FLOWS = Layer(
    name="allocation_flows",
    label="调拨明细",
    group=EVENTS,
    geometry_types=("LineString",),
    fields=(
        *common_fields(),
        Field("plan_id", "int", "分配方案编号", required=True, references="allocation_plans"),
        Field("demand_id", "int", "需求点编号", required=True, references="allocation_demands"),
        Field("depot_id", "int", "储备库编号", required=True, references="material_depots"),
        Field("item", "str", "物资", required=True, max_length=100),
        Field("unit", "str", "单位", max_length=20),
        Field("quantity", "float", "调拨数量", required=True, minimum=0, maximum=1e9),
        Field("eta_s", "float", "预计送达时间", unit="s", minimum=0, maximum=1e7),
        Field("distance_m", "float", "路程", unit="m", minimum=0, maximum=1e8),
        Field("edited", "bool", "人工调整"),
    ),
    style=Style("line", "#6a1b9a", weight=3),
    editors=SERVICE_ONLY,
    description="Depot → demand quantities of an allocation plan, drawn along the road route.",
)

MATERIAL_WEIGHTS = Layer(
    name="material_weights",
    label="物资单位重量",
    group=STANDARDS,
    geometry_types=(),
    fields=(
        *common_fields(),
        Field("unit", "str", "单位", required=True, max_length=20),
        Field("kg_per_unit", "float", "单位重量", required=True, unit="kg", minimum=0, maximum=100_000),
        Field("note", "str", "说明", max_length=500),
    ),
    style=None,
    editors=frozenset({"admin"}),
    description="Mass of one unit of an inventory item (name = item), for truck capacity.",
    seed="standards/material_weights.csv",
)

ALLOCATION_TABLES: tuple[Layer, ...] = (ALLOCATION_PLANS, ALLOCATION_DEMANDS, ALLOCATION_FLOWS, MATERIAL_WEIGHTS)


# ---------------------------------------------------------------------- demand CSV (safemap allocation plan --demands)
#: Columns of a demand CSV: Chinese header → key. 单位 and 优先级 may be empty (stock's unit, 二级).
DEMAND_COLUMNS = {
    "需求点": "name",
    "经度": "lon",
    "纬度": "lat",
    "物资": "item",
    "数量": "quantity",
    "单位": "unit",
    "优先级": "priority",
}
_PRIORITY_WORDS = {"一": 1, "二": 2, "三": 3, "高": 1, "中": 2, "低": 3, "最高": 1}


def _number(text: str) -> float | None:
    """A number as people type it: full-width digits, spaces, thousands separators (``１，２００``)."""
    clean = "".join(unicodedata.normalize("NFKC", text).split()).replace(",", "")
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", clean):
        return None
    value = float(clean)
    return value if math.isfinite(value) else None


def _priority(text: str) -> int | None:
    clean = "".join(unicodedata.normalize("NFKC", text).split()).removesuffix("级").removesuffix("优先")
    if not clean:
        return 2
    if clean in _PRIORITY_WORDS:
        return _PRIORITY_WORDS[clean]
    n = _number(clean)
    return int(n) if n is not None and n in (1, 2, 3) else None


def parse_demand_csv(text: str) -> list[dict[str, Any]]:
    """Demand rows of a CSV with the headers of :data:`DEMAND_COLUMNS` (others, e.g. ``source``, are ignored).

    Returns dicts with ``name``, ``lonlat``, ``item``, ``quantity``, ``unit``, ``priority``.
    Raises :class:`Unprocessable` listing every bad cell by row (the header is row 1) and column.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    lines = [r for r in reader if any(c.strip() for c in r) and not r[0].lstrip().startswith("#")]
    if not lines:
        raise Unprocessable("需求文件为空", [Problem("demands", "需求文件为空")])
    header = ["".join(unicodedata.normalize("NFKC", h).split()) for h in lines[0]]
    missing = [h for h in DEMAND_COLUMNS if h not in header and h not in ("单位", "优先级")]
    if missing:
        msg = f"缺少列：{'、'.join(missing)}（应有 {','.join(DEMAND_COLUMNS)}）"
        raise Unprocessable(msg, [Problem("demands", msg)])
    col = {DEMAND_COLUMNS[h]: i for i, h in enumerate(header) if h in DEMAND_COLUMNS}
    rows, problems = [], []
    for n, line in enumerate(lines[1:], start=2):
        cell = {k: (line[i].strip() if i < len(line) else "") for k, i in col.items()}
        lon, lat, qty = _number(cell["lon"]), _number(cell["lat"]), _number(cell["quantity"])
        prio = _priority(cell.get("priority", ""))
        for ok, label, why in (
            (bool(cell["name"]), "需求点", "不能为空"),
            (bool(cell["item"]), "物资", "不能为空"),
            (lon is not None and -180 <= lon <= 180, "经度", f"“{cell['lon']}”不是有效经度"),
            (lat is not None and -90 <= lat <= 90, "纬度", f"“{cell['lat']}”不是有效纬度"),
            (qty is not None and qty > 0, "数量", f"“{cell['quantity']}”应为正数"),
            (prio is not None, "优先级", f"“{cell.get('priority', '')}”应为 1（最高）、2 或 3"),
        ):
            if not ok:
                problems.append(Problem(label, f"第{n}行·{label}：{why}", n))
        if problems and problems[-1].row == n:
            continue
        unit = unicodedata.normalize("NFKC", cell.get("unit", "")).strip() or None
        assert lon is not None and lat is not None and qty is not None and prio is not None
        rows.append(
            {"name": cell["name"], "lonlat": (lon, lat), "item": cell["item"], "quantity": qty, "unit": unit}
            | {"priority": prio}
        )
    if problems:
        raise Unprocessable(f"需求文件有 {len(problems)} 处错误：{problems[0].message}", problems)
    return rows
