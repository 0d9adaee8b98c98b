"""Exact MCLP by Lagrangian branch-and-bound, and the reductions and heuristics it shares with p-center.

The covering problem on merged demand rows ``a`` (0/1, demand × candidates) with weights
``w``: choose at most ``k`` columns, maximise the weight of rows with a chosen column.

Bound (Lagrangian relaxation of the links ``y_i ≤ Σ_j a_ij x_j`` with multipliers
``0 ≤ u_i ≤ w_i``): for any such ``u``,

    covered weight ≤ Σ_i (w_i − u_i) + (sum of the k largest column scores s_j = Σ_i a_ij u_i),

and its minimum over ``u`` equals the LP relaxation's bound (the relaxed problem has the
integrality property). It costs two sparse matrix–vector products, so a node of the search
needs milliseconds where the LP (degenerate at 500 × 10,000: simplex takes 15–45 s) needs
seconds; this is the point of Cordeau, Furini & Ljubić (2019, EJOR 275:882–896), whose
Benders cuts give the same bound from a small master problem. ``u`` is improved by projected
subgradient steps (Polyak step towards the incumbent), warm-started from the parent node.

Search: best bound first, plunging into the "open" child after each branching; branching on
the free site with the largest score among the ``k`` best (closing it costs the bound most).
At each node, sites are fixed from the bound: a site outside the best ``k`` whose forced
opening, or one inside whose forced closing, would push the bound below "better than the
incumbent" is closed or opened for the subtree (Lagrangian reduced-cost fixing); opened
sites' rows are counted and dropped. Every relaxed solution (the ``k`` best sites) is a
feasible answer and is tried as an incumbent, improved by interchange when it wins.

Exactness: with integer weights (people) a node is pruned when its bound, plus a float
allowance (``1e-11`` × total weight), is below ``incumbent + 1``; a finished search therefore
proves that no answer covers more: the gap is 0. With other weights it proves a relative
gap of at most ``1e-9`` (or ``2e-11`` × total weight / answer, if larger).
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import sparse


# ---------------------------------------------------------------------------- reductions, heuristics
def merge_rows(cover: sparse.csr_matrix, w: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Merge demand rows with the same set of covering candidates, adding their weights."""
    if cover.shape[0] == 0:
        return cover, w
    cover.sort_indices()
    keys = [cover.indices[cover.indptr[i] : cover.indptr[i + 1]].tobytes() for i in range(cover.shape[0])]
    _, first, inverse = np.unique(np.array(keys, dtype=object), return_index=True, return_inverse=True)
    merged_w = np.bincount(inverse, weights=w, minlength=len(first))
    return cover[first], merged_w


def undominated(rows: sparse.csr_matrix, k: int) -> np.ndarray:
    """Columns whose covered set is not contained in another column's (ties: the first kept).

    At least ``k`` columns are kept (dominated ones fill up, best coverage first), so a
    solution with ``k`` distinct sites always exists.
    """
    a = (rows > 0).astype(np.float64).tocsc()
    size = np.asarray(a.sum(axis=0)).ravel()
    inter = (a.T @ a).tocoo()
    dominated = np.zeros(a.shape[1], bool)
    i, j, v = inter.row, inter.col, inter.data
    # Column i is inside column j when they share all of i's rows; equal sets: the later one goes.
    inside = (i != j) & (v >= size[i]) & ((size[j] > size[i]) | (j < i))
    dominated[i[inside]] = True
    dominated[size == 0] = True
    keep = np.nonzero(~dominated)[0]
    if len(keep) < k:
        extra = [c for c in np.argsort(-size, kind="stable") if dominated[c]][: k - len(keep)]
        keep = np.sort(np.concatenate([keep, np.array(extra, dtype=np.int64)]))
    return keep


def covered_weight(rows: sparse.csr_matrix, w: np.ndarray, chosen: Sequence[int]) -> float:
    """Weight of the rows that at least one of the ``chosen`` columns covers."""
    if not len(chosen) or rows.shape[0] == 0:
        return 0.0
    hit = np.asarray(rows[:, list(chosen)].sum(axis=1)).ravel() > 0
    return float(w[hit].sum())


def greedy_cover(rows: sparse.csr_matrix, w: np.ndarray, k: int, start: Sequence[int] = ()) -> list[int]:
    """Pick, until there are ``k`` (``start`` first), the site covering the most still-uncovered weight."""
    n = rows.shape[1]
    chosen: list[int] = [int(j) for j in start]
    left = np.asarray(w, np.float64).copy()
    csc = rows.tocsc()
    if chosen and rows.shape[0]:
        left[np.asarray(csc[:, chosen].sum(axis=1)).ravel() > 0] = 0.0
    for _ in range(k - len(chosen)):
        gain = np.asarray(csc.T @ left if rows.shape[0] else np.zeros(n), dtype="float64").ravel()
        gain[chosen] = -1.0
        j = int(np.argmax(gain))
        chosen.append(j)
        if rows.shape[0]:
            left[csc[:, j].toarray().ravel() > 0] = 0.0
    return chosen


def swap_improve(rows: sparse.csr_matrix, w: np.ndarray, chosen: list[int], rounds: int = 50) -> list[int]:
    """Teitz–Bart interchange: swap a chosen site for another while that covers more weight."""
    if rows.shape[0] == 0 or not chosen or len(chosen) >= rows.shape[1]:
        return chosen
    a = (rows > 0).astype(np.float64).tocsc()
    chosen = list(chosen)
    for _ in range(rounds):
        count = np.asarray(a[:, chosen].sum(axis=1)).ravel()
        gain_in = np.asarray(a.T @ (w * (count == 0))).ravel()  # weight a newcomer would add
        only = a[:, chosen].multiply((count == 1)[:, None]).multiply(w[:, None]).tocsc()  # weight only j covers
        loss = np.asarray(only.sum(axis=0)).ravel()
        kept_back = (a.T @ only).toarray()  # of j's sole weight, what newcomer j' also covers
        delta = gain_in[:, None] + kept_back - loss[None, :]
        delta[chosen, :] = -np.inf
        jn, jo = np.unravel_index(int(np.argmax(delta)), delta.shape)
        if delta[jn, jo] <= 1e-9:
            break
        chosen[jo] = int(jn)
    return chosen


# ---------------------------------------------------------------------------- branch-and-bound
@dataclass
class Search:
    """Outcome of :func:`branch_and_bound` (weights in the units of ``w``).

    Attributes
    ----------
    chosen
        ``k`` distinct columns of the best answer found.
    value
        Its covered weight.
    bound
        Proven upper bound on the optimum (``value`` when ``proven``).
    proven
        The search finished: no answer covers more than ``value`` (see the module docstring).
    trajectory
        ``(seconds, best value, bound)`` each time either moved noticeably, and at the end.
    stats
        Nodes searched, sites fixed at the root, subgradient steps.
    """

    chosen: list[int]
    value: float
    bound: float
    proven: bool
    trajectory: list[tuple[float, float, float]] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)


MAX_KEPT = 4000  # waiting nodes that keep their own multipliers (4000 × 10,000 rows × 4 B = 160 MB)


class _Node(NamedTuple):
    opened: tuple[int, ...]  # sites fixed open
    closed: np.ndarray  # bool per column: fixed closed
    u: np.ndarray  # multipliers to start from (the parent's)
    ub: float  # the parent's bound, valid for this subtree


class _Searcher:
    """State of one branch-and-bound run (see the module docstring)."""

    def __init__(self, rows: sparse.csr_matrix, w: np.ndarray, k: int, t0: float) -> None:
        self.a = sparse.csr_matrix((rows > 0).astype(np.float64))
        self.at = self.a.T.tocsr()
        self.w = np.asarray(w, np.float64)
        self.k, self.t0 = k, t0
        self.integral = bool(np.all(self.w == np.round(self.w)))
        self.slack = 1e-11 * float(self.w.sum()) + 1e-12  # float allowance on a computed bound
        self.best: list[int] = []
        self.value = -np.inf
        self.node_open: list[int] = []  # sites open at the node being bounded
        self.waiting = 0  # nodes waiting in the queue
        self.root_u = np.zeros(0, np.float32)
        self.stats = {"nodes": 0, "subgradient_steps": 0, "fixed_open_root": 0, "fixed_closed_root": 0}

    def level(self) -> float:
        """A bound below this shows that no answer beats the incumbent (by 1 / by 1e-9 relative)."""
        if self.integral:
            return self.value + 1.0 - self.slack
        return self.value + max(1e-9 * abs(self.value), 2.0 * self.slack) - self.slack

    def covers(self, cols: Sequence[int]) -> np.ndarray:
        ind = np.zeros(self.a.shape[1])
        ind[list(cols)] = 1.0
        return np.asarray(self.a @ ind).ravel() > 0.5

    def consider(self, cols: Sequence[int], improve: bool = False) -> bool:
        """Take ``cols`` as the incumbent if it covers more (then improved by interchange)."""
        cols = list(dict.fromkeys(int(j) for j in cols))
        value = float(self.w[self.covers(cols)].sum())
        if value <= self.value:
            return False
        if improve:
            cols = swap_improve(self.a, self.w, greedy_cover(self.a, self.w, self.k, cols))
            value = max(value, float(self.w[self.covers(cols)].sum()))
        self.best, self.value = cols, value
        return True

    def lagrange(
        self, u: np.ndarray, active: np.ndarray, fidx: np.ndarray, kk: int, c1: float, steps: int, patience: int
    ) -> tuple[float, np.ndarray]:
        """Subgradient descent on ``u`` for the node; returns the best bound and its multipliers."""
        wr = np.where(active, self.w, 0.0)
        base = c1 + float(wr.sum())
        best_ub, best_u = np.inf, u
        alpha, stall = 2.0, 0
        ind = np.zeros(self.a.shape[1])
        for it in range(steps):
            sf = (self.at @ u)[fidx]
            top = np.argpartition(-sf, kk - 1)[:kk]
            ub = base - float(u.sum()) + float(sf[top].sum())
            if ub < best_ub - 1e-12 * abs(ub):
                best_ub, best_u, stall = ub, u, 0
            else:
                stall += 1
                if stall >= patience:
                    alpha, stall = alpha / 2, 0
            if best_ub < self.level() or alpha < 1e-3:
                break
            ind[:] = 0.0
            ind[fidx[top]] = 1.0
            count = np.asarray(self.a @ ind).ravel()
            if it % 5 == 0 and c1 + float(wr[count > 0.5].sum()) > self.value:
                self.consider(list(self.node_open) + [int(j) for j in fidx[top]], improve=True)
                if best_ub < self.level():
                    break
            g = np.where(active, count - 1.0, 0.0)
            g[((u <= 0) & (g > 0)) | ((u >= wr) & (g < 0))] = 0.0  # projected: no step out of [0, w]
            norm = float(g @ g)
            if norm == 0.0:
                break
            u = np.clip(u - alpha * (ub - self.value) / norm * g, 0.0, wr)
            self.stats["subgradient_steps"] += 1
        return best_ub, best_u

    def process(self, node: _Node, root: bool) -> tuple[float, _Node, _Node] | None:
        """Bound, fix and branch one node: ``None`` when it is settled, else its bound and children."""
        opened, closed, u = list(node.opened), node.closed, node.u
        while True:
            self.node_open = opened
            kk = self.k - len(opened)
            cov1 = self.covers(opened)
            free = ~closed
            free[opened] = False
            fidx = np.nonzero(free)[0]
            active = ~cov1 & (np.asarray(self.a @ free.astype(np.float64)).ravel() > 0.5)
            if kk <= 0 or not active.any() or len(fidx) <= kk:
                self.consider(opened + [int(j) for j in fidx[: max(kk, 0)]])
                return None
            u = np.where(active, np.minimum(np.asarray(u, np.float64), self.w), 0.0)
            c1 = float(self.w[cov1].sum())
            # Every row still coverable, covered: a bound too (u = 0), better than an unconverged Lagrangian one.
            trivial = c1 + float(self.w[active].sum())
            ub, u = self.lagrange(u, active, fidx, kk, c1, 2000 if root else 60, 50 if root else 8)
            if min(ub, node.ub, trivial) < self.level():  # the parent's bound holds here too
                return None
            # Lagrangian reduced-cost fixing against the incumbent.
            sf = (self.at @ u)[fidx]
            order = np.argsort(-sf, kind="stable")
            s_kth = sf[order[kk - 1]]
            s_next = sf[order[kk]] if len(order) > kk else 0.0
            top = np.zeros(len(fidx), bool)
            top[order[:kk]] = True
            shut = ~top & (ub - s_kth + sf < self.level())
            must = top & (ub - sf + s_next < self.level())
            if root:
                self.stats["fixed_closed_root"] += int(shut.sum())
                self.stats["fixed_open_root"] += int(must.sum())
            if shut.any():
                closed = closed.copy()
                closed[fidx[shut]] = True
            if not must.any():
                break
            opened = opened + [int(j) for j in fidx[must]]
            if len(opened) > self.k:  # a better answer would need more than k sites
                return None
        j = int(fidx[order[0]])  # the free site with the largest score
        shut_j = closed.copy()
        shut_j[j] = True
        # Kept in float32 (any u in [0, w] gives a valid bound); past MAX_KEPT waiting nodes,
        # children restart from the root's multipliers, so memory stays bounded.
        keep = u.astype(np.float32) if self.waiting < MAX_KEPT else self.root_u
        if root:
            self.root_u = keep
        ub = min(ub, node.ub, trivial)  # (after fixing, which needs the bound of ``u`` itself)
        return ub, _Node((*opened, j), closed, keep, ub), _Node(tuple(opened), shut_j, keep, ub)


def branch_and_bound(
    rows: sparse.csr_matrix,
    w: np.ndarray,
    k: int,
    incumbent: Sequence[int],
    *,
    time_limit_s: float,
    t0: float | None = None,
    on_progress: Callable[[float, float, float], None] | None = None,
) -> Search:
    """Exact MCLP on merged rows by Lagrangian branch-and-bound (see the module docstring).

    Parameters
    ----------
    rows
        ``(n_rows, n_columns)`` 0/1 coverage, demand rows × candidate sites.
    w
        Weight of each row (people), non-negative.
    k
        Number of sites to open, ``1 ≤ k ≤ n_columns``.
    incumbent
        A starting answer (e.g. greedy + interchange), completed greedily to ``k`` sites.
    time_limit_s
        Seconds from ``t0`` after which the search stops with its best answer and bound.
    t0
        ``time.perf_counter()`` the time limit and the trajectory count from (default: now).
    on_progress
        Called with ``(seconds, value, bound)`` at each trajectory point.
    """
    t0 = time.perf_counter() if t0 is None else t0
    s = _Searcher(rows, w, k, t0)
    s.consider(greedy_cover(s.a, s.w, k, list(dict.fromkeys(int(j) for j in incumbent))[:k]))
    trajectory: list[tuple[float, float, float]] = []

    def mark(bound: float, force: bool = False) -> None:
        bound = max(bound, s.value)
        if s.integral:
            bound = float(np.floor(bound + s.slack))
        last = trajectory[-1] if trajectory else None
        if force or last is None or last[1] != s.value or last[2] - bound > 1e-4 * max(bound, 1.0):
            trajectory.append((round(time.perf_counter() - t0, 3), s.value, bound))
            if on_progress is not None:
                on_progress(*trajectory[-1])

    n = s.a.shape[1]
    heap: list[tuple[float, int, _Node]] = []
    tie = itertools.count()
    plunge: _Node | None = _Node((), np.zeros(n, bool), s.w * 0.5, np.inf)
    first = True
    while plunge is not None or heap:
        if not first and time.perf_counter() - t0 > time_limit_s:  # the root always runs: a finite bound
            break
        node = plunge if plunge is not None else heapq.heappop(heap)[2]
        plunge = None
        if node.ub < s.level():
            continue
        s.stats["nodes"] += 1
        out = s.process(node, first)
        if out is not None:
            _ub, open_child, closed_child = out
            heapq.heappush(heap, (-closed_child.ub, next(tie), closed_child))
            s.waiting = len(heap)
            plunge = open_child
        first = False
        mark(max(-heap[0][0] if heap else -np.inf, plunge.ub if plunge is not None else -np.inf))
    proven = plunge is None and not any(e[2].ub >= s.level() for e in heap)
    open_ub = max([e[2].ub for e in heap] + ([plunge.ub] if plunge is not None else []), default=-np.inf)
    bound = s.value if proven else max(open_ub, s.value)
    mark(bound, force=True)
    return Search(s.best, s.value, trajectory[-1][2], proven, trajectory, s.stats)
