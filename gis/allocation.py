"""Material allocation for a large emergency: a lexicographic transportation LP solved by HiGHS.

Many demand points each ask for items (one *demand row* per point and item) with a priority;
depots hold stock; trucks carry a limited mass per depot; road times come from the network.
The plan is a transportation problem with unmet-demand slacks:

    variables   x[i, j] ≥ 0  quantity of row j's item sent from depot i (only on usable arcs:
                             the depot holds the item, the point is reachable and, with a
                             time limit, reached in time)
                u[j] ≥ 0     unmet quantity of row j
    rows        Σ_i x[i, j] + u[j] = d[j]                 (each row served or left unmet)
                Σ_{j: item(j)=k} x[i, j] ≤ s[i, k]        (stock of depot i)
                Σ_j m[j] · x[i, j] ≤ C[i]                 (truck capacity of depot i, tonnes)

Stage 1 minimises Σ w[j] u[j] (priority-weighted unmet demand). Stage 2 adds Σ w[j] u[j] ≤ z₁ +
τ (τ = 1e-9·max(1, z₁); HiGHS's own primal feasibility tolerance, 1e-7, may add to it, so
quantities are rounded to 1e-6 of a unit afterwards) and minimises Σ t[i, j] x[i, j] (quantity-
weighted delivery time), so among the plans that leave the least weighted demand unmet the
nearest depots are used. This is the lexicographic (pre-emptive) goal-programming method
(Ignizio, 1976, *Goal Programming and Extensions*, Lexington Books, ch. 4): solve each goal in
order, fixing the optimum of the previous one as a constraint.

Items counted in whole units (:attr:`AllocationProblem.integral`: tents, generators) get whole
flows. Without the capacity rows the constraint matrix is a transportation matrix, totally
unimodular, so the LP optimum is already integral for integral data (Dantzig 1963, *Linear
Programming and Extensions*, Princeton, §15). Capacity rows can make it fractional; then every
fractional flow of such an item is rounded *down* — always feasible, since every constraint is
``≤`` with non-negative coefficients and the unmet slack absorbs the rest — and the freed units
are handed back greedily (highest weight first, nearest depot first) where stock and capacity
still allow a whole unit. A branch-and-bound MIP would be exact but its time grows with the
problem (thousands of rows for 200 points × 30 items); the loss of the rounding is below one
unit per flow and is reported as part of the capacity shortfall.

Solver: ``scipy.optimize.linprog(method="highs")`` (HiGHS dual simplex; Huangfu & Hall 2018,
*Math. Prog. Comp.* 10:119–142). scipy is already the network's dependency (scipy.sparse),
takes the sparse constraint matrix directly and reports the status cleanly; highspy would let
stage 2 warm-start from stage 1, which the sizes here (a few thousand arcs solve in
milliseconds) do not need.

Why a row is short (:func:`solve` → :attr:`Shortfall.reasons`) is found by *re-solves*, not by
reading duals (a dual says what one more unit of a resource is worth, not which cause a given
row's shortfall belongs to, and it is not unique at degenerate optima):

1. the plan's unmet ``u₀``;
2. re-solve stage 1 with every truck capacity removed → ``u₁``; ``u₀ − u₁`` is **capacity**
   (stock exists within reach, the trucks are full);
3. re-solve also without the time limit → ``u₂``; ``u₁ − u₂`` is **time_limit**;
4. what remains, ``u₂``, is **no_stock** when no depot holds the item, **unreachable** when
   no depot holding it can reach the point by road, otherwise **stock_short** (the stock
   within reach is used up by rows of higher or equal priority).

Negative differences (the relaxed LP may move unmet quantity among rows of equal weight)
are clipped to zero and the remainder is assigned to the last applicable cause, so the parts
always add up to the row's unmet quantity.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

#: Priority → weight of one unmet unit. A policy choice of SafeMap (no standard sets it),
#: editable per plan: 1 (最高) counts 100×, 2 counts 10×, 3 counts 1×. Within one item any
#: decreasing weights serve the higher priority first (each stock unit serves one unit of
#: demand); the 10× steps also make capacity go to higher priorities unless the lower-priority
#: items are more than 10× lighter per unit.
PRIORITY_WEIGHTS: dict[int, float] = {1: 100.0, 2: 10.0, 3: 1.0}
#: Quantities below this are treated as zero (units of the item).
EPS = 1e-6
REASON_ORDER = ("no_stock", "unreachable", "time_limit", "capacity", "stock_short")


@dataclass(frozen=True)
class AllocationProblem:
    """Arrays of one allocation problem.

    Attributes
    ----------
    row_item, row_point : ndarray of int, shape (n_rows,)
        Item index and demand-point index of each demand row.
    quantity : ndarray of float, shape (n_rows,)
        Quantity wanted (the item's unit).
    weight : ndarray of float, shape (n_rows,)
        Weight of one unmet unit (see :data:`PRIORITY_WEIGHTS`).
    stock : ndarray of float, shape (n_depots, n_items)
        Stock of each depot (the item's unit).
    time_s : ndarray of float, shape (n_depots, n_points)
        Delivery time in seconds; ``inf`` when there is no road.
    unit_kg : ndarray of float, shape (n_items,)
        Mass of one unit in kg; ``nan`` when unknown (the item then takes no capacity).
    capacity_t : ndarray of float, shape (n_depots,)
        Mass the depot's trucks can carry within the horizon, tonnes; ``inf`` = unlimited.
    time_limit_s : float or None
        Latest acceptable delivery time in seconds.
    integral : ndarray of bool, shape (n_items,), or None
        Items counted in whole units (tents, generators): their flows are whole numbers.
    """

    row_item: np.ndarray
    row_point: np.ndarray
    quantity: np.ndarray
    weight: np.ndarray
    stock: np.ndarray
    time_s: np.ndarray
    unit_kg: np.ndarray
    capacity_t: np.ndarray
    time_limit_s: float | None = None
    integral: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        """Number of demand rows."""
        return len(self.quantity)


@dataclass(frozen=True)
class Flow:
    """``quantity`` of row ``row``'s item from depot ``depot`` arriving after ``time_s`` seconds."""

    depot: int
    row: int
    quantity: float
    time_s: float


@dataclass
class Shortfall:
    """Unmet quantity of one row and its parts by cause ``{code: quantity}`` (codes of :data:`REASON_ORDER`)."""

    row: int
    quantity: float
    reasons: dict[str, float] = field(default_factory=dict)


@dataclass
class AllocationResult:
    """The plan: flows, unmet quantity per row, shortfalls with causes, both objectives, solve time (s)."""

    flows: list[Flow]
    unmet: np.ndarray
    shortfalls: list[Shortfall]
    weighted_unmet: float
    time_quantity_s: float
    solve_s: float
    n_arcs: int


class AllocationError(ValueError):
    """The arrays are inconsistent or the solver failed (message in Chinese)."""


def weight_of(priority: int, weights: dict[int, float] | None = None) -> float:
    """Weight of one unmet unit at ``priority`` (1 最高 … 3)."""
    table = weights or PRIORITY_WEIGHTS
    if priority not in table:
        raise AllocationError(f"优先级应为 {min(table)}–{max(table)}")
    return float(table[priority])


def _arcs(p: AllocationProblem, *, with_limit: bool) -> tuple[np.ndarray, np.ndarray]:
    """Usable (depot, row) pairs: stock held, road exists and, optionally, within the time limit."""
    held = p.stock[:, p.row_item] > EPS  # (n_depots, n_rows)
    t = p.time_s[:, p.row_point]
    ok = held & np.isfinite(t)
    if with_limit and p.time_limit_s is not None:
        ok &= t <= p.time_limit_s
    depot, row = np.nonzero(ok)
    return depot, row


def _check(p: AllocationProblem) -> None:
    n_dep, n_items = p.stock.shape
    if p.time_s.shape[0] != n_dep or len(p.capacity_t) != n_dep or len(p.unit_kg) != n_items:
        raise AllocationError("储备库、物资或行车时间的数组维数不一致")
    for name, arr in (("quantity", p.quantity), ("weight", p.weight), ("stock", p.stock)):
        if np.any(~np.isfinite(arr)) or np.any(arr < 0):
            raise AllocationError(f"{name} 含负数或非数值")
    if p.n_rows and (p.row_item.max() >= n_items or p.row_point.max() >= p.time_s.shape[1]):
        raise AllocationError("需求行引用了不存在的物资或需求点")


def _solve_lp(
    p: AllocationProblem, depot: np.ndarray, row: np.ndarray, *, capacity: bool, stage2: bool
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Solve stage 1 (and stage 2); return x per arc, u per row, Σ w·u, Σ t·x."""
    n_arc, n_row = len(depot), p.n_rows
    n_items = p.stock.shape[1]
    n_var = n_arc + n_row
    arc_cols = np.arange(n_arc)
    # Equalities: Σ_i x[i, j] + u[j] = d[j].
    a_eq = sp.csr_matrix(
        (
            np.ones(n_arc + n_row),
            (np.concatenate([row, np.arange(n_row)]), np.concatenate([arc_cols, n_arc + np.arange(n_row)])),
        ),
        shape=(n_row, n_var),
    )
    # Stock: one row per (depot, item) that has arcs.
    key = depot * n_items + p.row_item[row]
    keys, stock_row = np.unique(key, return_inverse=True)
    a_stock = sp.csr_matrix((np.ones(n_arc), (stock_row, arc_cols)), shape=(len(keys), n_var))
    b_stock = p.stock.reshape(-1)[keys]
    blocks, rhs = [a_stock], [b_stock]
    if capacity:
        kg = np.nan_to_num(p.unit_kg[p.row_item[row]], nan=0.0)
        limited = np.isfinite(p.capacity_t[depot]) & (kg > 0)
        deps = np.unique(depot[limited])
        if len(deps):
            pos = np.searchsorted(deps, depot[limited])
            a_cap = sp.csr_matrix((kg[limited] / 1000.0, (pos, arc_cols[limited])), shape=(len(deps), n_var))
            blocks.append(a_cap)
            rhs.append(p.capacity_t[deps])
    a_ub = sp.vstack(blocks, format="csr")
    b_ub = np.concatenate(rhs)
    c1 = np.concatenate([np.zeros(n_arc), p.weight])
    has_ub = a_ub.shape[0] > 0
    # scipy-stubs list dense arrays only; linprog(method="highs") takes sparse matrices as documented.
    res = linprog(  # type: ignore[call-overload]
        c1,
        A_ub=a_ub if has_ub else None,
        b_ub=b_ub if has_ub else None,
        A_eq=a_eq,
        b_eq=p.quantity,
        bounds=(0, None),
        method="highs",
    )
    if res.status != 0:
        raise AllocationError(f"线性规划求解失败：{res.message}")
    z1 = float(res.fun)
    sol = res.x
    if stage2 and n_arc:
        t = p.time_s[depot, p.row_point[row]]
        c2 = np.concatenate([t, np.zeros(n_row)])
        a2 = sp.vstack([a_ub, sp.csr_matrix(c1.reshape(1, -1))], format="csr")
        b2 = np.concatenate([b_ub, [z1 + 1e-9 * max(1.0, abs(z1))]])
        res2 = linprog(  # type: ignore[call-overload]
            c2,
            A_ub=a2,
            b_ub=b2,
            A_eq=a_eq,
            b_eq=p.quantity,
            bounds=(0, None),
            method="highs",
        )
        if res2.status != 0:
            raise AllocationError(f"第二阶段（用时最短）求解失败：{res2.message}")
        sol = res2.x
    x = np.round(np.clip(sol[:n_arc], 0.0, None), 6)
    u = np.round(np.clip(sol[n_arc:], 0.0, None), 6)
    tq = float(np.sum(p.time_s[depot, p.row_point[row]] * x)) if n_arc else 0.0
    return x, u, float(np.dot(p.weight, u)), tq


def solve(p: AllocationProblem, *, explain: bool = True) -> AllocationResult:
    """Allocate stock to demand rows: least weighted unmet demand first, then least time × quantity.

    Parameters
    ----------
    p
        The arrays (see :class:`AllocationProblem`).
    explain
        Also split each shortfall into causes by re-solving without capacity and without the
        time limit (module docstring).

    Returns
    -------
    AllocationResult
        Flows (quantity > 1e-6), unmet per row, shortfalls and objectives; ``solve_s`` is the
        wall time of all LPs in seconds.
    """
    _check(p)
    started = time.perf_counter()
    if p.n_rows == 0:
        return AllocationResult([], np.zeros(0), [], 0.0, 0.0, 0.0, 0)
    depot, row = _arcs(p, with_limit=True)
    x, u, z1, tq = _solve_lp(p, depot, row, capacity=True, stage2=True)
    if p.integral is not None and np.any(p.integral[p.row_item[row]] & (np.abs(x - np.round(x)) > EPS)):
        x, u = _whole_units(p, depot, row, x)
        z1 = float(np.dot(p.weight, u))
        tq = float(np.sum(p.time_s[depot, p.row_point[row]] * x))
    flows = [
        Flow(int(d), int(r), float(q), float(p.time_s[d, p.row_point[r]]))
        for d, r, q in zip(depot, row, x, strict=True)
        if q > EPS
    ]
    short_rows = np.nonzero(u > EPS)[0]
    shortfalls = [Shortfall(int(j), float(u[j])) for j in short_rows]
    if explain and len(shortfalls):
        _explain(p, u, depot, row, shortfalls)
    return AllocationResult(flows, u, shortfalls, z1, tq, time.perf_counter() - started, len(depot))


def _whole_units(
    p: AllocationProblem, depot: np.ndarray, row: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Round fractional flows of whole-unit items down, then refill whole units greedily (module docstring)."""
    assert p.integral is not None
    whole = p.integral[p.row_item[row]]
    x = np.where(whole, np.floor(x + EPS), x)
    kg = np.nan_to_num(p.unit_kg, nan=0.0)
    left_stock = p.stock.copy()
    np.subtract.at(left_stock, (depot, p.row_item[row]), x)
    load_t = np.zeros(len(p.capacity_t))
    np.add.at(load_t, depot, x * kg[p.row_item[row]] / 1000.0)
    served = np.zeros(p.n_rows)
    np.add.at(served, row, x)
    t = p.time_s[depot, p.row_point[row]]
    for a in sorted(np.nonzero(whole)[0], key=lambda a: (-p.weight[row[a]], t[a])):
        j, i, k = row[a], depot[a], p.row_item[row[a]]
        per_t = kg[k] / 1000.0
        room = (p.capacity_t[i] - load_t[i]) / per_t if per_t > 0 else np.inf
        extra = np.floor(min(p.quantity[j] - served[j], left_stock[i, k], room) + EPS)
        if extra >= 1:
            x[a] += extra
            served[j] += extra
            left_stock[i, k] -= extra
            load_t[i] += extra * per_t
    u = np.round(np.clip(p.quantity - served, 0.0, None), 6)
    return x, u


def _explain(
    p: AllocationProblem, u0: np.ndarray, depot: np.ndarray, row: np.ndarray, shortfalls: list[Shortfall]
) -> None:
    """Split every shortfall into causes by the re-solves of the module docstring."""
    has_cap = bool(np.any(np.isfinite(p.capacity_t)))
    u1 = _solve_lp(p, depot, row, capacity=False, stage2=False)[1] if has_cap else u0
    if p.time_limit_s is not None:
        d2, r2 = _arcs(p, with_limit=False)
        u2 = _solve_lp(p, d2, r2, capacity=False, stage2=False)[1]
    else:
        u2 = u1
    total_stock = p.stock.sum(axis=0)
    reach = np.isfinite(p.time_s)
    for s in shortfalls:
        j = s.row
        k, pt = int(p.row_item[j]), int(p.row_point[j])
        parts: dict[str, float] = {}
        cap = max(0.0, min(s.quantity, s.quantity - u1[j]))
        lim = max(0.0, min(s.quantity - cap, u1[j] - u2[j]))
        rest = s.quantity - cap - lim
        if total_stock[k] <= EPS:
            cause = "no_stock"
        elif not np.any((p.stock[:, k] > EPS) & reach[:, pt]):
            cause = "unreachable"
        else:
            cause = "stock_short"
        for code, qty in (("capacity", cap), ("time_limit", lim), (cause, rest)):
            if qty > EPS:
                parts[code] = parts.get(code, 0.0) + qty
        if not parts:  # rounding: the whole shortfall goes to the structural cause
            parts[cause] = s.quantity
        s.reasons = parts
