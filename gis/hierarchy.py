"""Customizable contraction hierarchies (CCH) for many-to-one and one-to-many travel times on large networks.

A dispatch asks for the travel time of every team to one incident. Dijkstra must settle
every junction closer than the farthest team, which on two million directed edges with
teams spread over the network is the whole graph (~200 ms here). A contraction hierarchy
answers the same question by sweeping only the teams' and the incident's search spaces
in a precomputed hierarchy (Dibbelt, Strasser & Wagner, "Customizable Contraction
Hierarchies", ACM JEA 21, 2016). The *customizable* variant keeps what SafeMap needs per
query: the node order and the shortcut structure depend on the network's shape only,
while the metric (each edge's seconds for one vehicle under the current closures) is
filled in afterwards, and a few changed edges (a road closed, a bridge too low for this
vehicle) are updated in place in well under a millisecond.

The engine is RoutingKit's C++ CCH through the ``routingkit-cch`` bindings
(``CCHManyToOne`` / ``CCHOneToMany``: all pinned teams in one sweep). RoutingKit's
weights are 32-bit integers, so seconds are counted in ticks: ``tick_s`` is the larger
of 10 µs and what keeps a corner-to-corner trip on this network within 31 bits; a trip
time is off by at most half a tick per edge (under 1e-6 relative on real trips), and an
answer near the 31-bit limit is refused so the caller falls back to Dijkstra. Routes
(geometry, roads, exact float seconds) still come from a Dijkstra search bounded by the
times found here (:mod:`gis.routes`). The sweep costs what the union of the pinned
junctions' search spaces holds: small on road networks, large on a uniform street grid
(the worst case for hierarchies: every separator is a full row of junctions).

A metric for a new cost array is made from the closest one held when few edges differ
(in-place partial customization); otherwise it is customized in a background thread and
the callers use Dijkstra until it is ready — customizing two million edges takes
seconds, which a dispatch must not wait for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import routingkit_cch as rk

from safemap.gis.network import Network

#: RoutingKit's "no arc" weight (``inf_weight``).
INF_TICKS = 2**31 - 1
#: Answers at or above this many ticks are not trusted (RoutingKit treats ≥ 2³¹ − 1 as no path).
MAX_TICKS = 2**31 - 2**27
#: Finest time unit, seconds.
FINEST_TICK_S = 1e-5
#: A cost array differing from a held metric on at most this share of arcs (or this many) is updated in place.
PARTIAL_SHARE = 0.02
PARTIAL_ARCS = 2000
#: Metrics held at once (each is a few hundred bytes per arc).
MAX_METRICS = 3


@dataclass
class _Metric:
    weights: np.ndarray
    metric: Any
    source: Any = None  # the cost array this metric currently answers (identity)
    last_used: float = field(default_factory=time.monotonic)


class Hierarchy:
    """A CCH over a network's directed edges (arc ``e`` = the network's CSR edge ``e``).

    Parameters
    ----------
    net
        The network; its node order comes from RoutingKit's inertial nested dissection on
        the junctions' longitude and latitude.
    background
        Customize metrics for new cost arrays in a background thread (the server); when
        False they are customized in the calling thread (benchmarks, tests).

    Attributes
    ----------
    tick_s
        Seconds per integer weight unit.
    build_s
        Seconds spent on the order and the hierarchy.
    """

    def __init__(self, net: Network, *, background: bool = True) -> None:
        t0 = time.perf_counter()
        self.net = net
        self.background = background
        tail = np.repeat(np.arange(net.n_nodes, dtype=np.int64), np.diff(net.indptr)).tolist()
        head = net.edge_head.astype(np.int64).tolist()
        lonlat = net.to_lonlat(net.node_xy)
        order = rk.compute_order_inertial(net.n_nodes, tail, head, lonlat[:, 1].tolist(), lonlat[:, 0].tolist())
        self._cch = rk.CCH(order, tail, head, False)
        self.tick_s = self._tick(net)
        self._lock = threading.Lock()
        self._metrics: list[_Metric] = []
        self._pending: set[int] = set()
        self.build_s = time.perf_counter() - t0
        self.customizations = 0
        self.partial_updates = 0

    @staticmethod
    def _tick(net: Network) -> float:
        """Seconds per tick: 10 µs, or coarser if a long trip at the network's median pace would not fit.

        "Long" is the half-perimeter of the network's box at its median free-flow pace, the
        corner-to-corner trip on a street grid; longer answers are refused (:meth:`times`)
        and Dijkstra answers them. The finer the tick, the closer the times are to
        Dijkstra's (half a tick per edge at most, about 1e-7 relative on real trips).
        """
        if not net.n_nodes or not net.n_segments:
            return FINEST_TICK_S
        span = np.ptp(net.node_xy, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            pace = net.seg_len / (net.seg_speed / 3.6)
        pace = pace[np.isfinite(pace) & (net.seg_len > 0)] / net.seg_len[np.isfinite(pace) & (net.seg_len > 0)]
        median_pace = float(np.median(pace)) if len(pace) else 1.0
        longest_s = float(span.sum()) * median_pace
        return max(FINEST_TICK_S, longest_s / MAX_TICKS)

    # ------------------------------------------------------------------ metrics
    def _weights(self, seg_cost: np.ndarray) -> np.ndarray:
        ticks = seg_cost[self.net.edge_seg] / self.tick_s
        out = np.full(len(ticks), INF_TICKS, dtype=np.int64)
        ok = np.isfinite(ticks)
        out[ok] = np.minimum(np.rint(ticks[ok]), INF_TICKS - 1)
        return out

    def ready(self, seg_cost: np.ndarray) -> bool:
        """Whether a metric for this cost array is held (no waiting)."""
        with self._lock:
            return any(m.source is seg_cost for m in self._metrics)

    def _metric_for(self, seg_cost: np.ndarray) -> _Metric | None:
        """The held metric for ``seg_cost``, made now if cheap; ``None`` while it is customized. Lock held."""
        for m in self._metrics:
            if m.source is seg_cost:
                m.last_used = time.monotonic()
                return m
        weights = self._weights(seg_cost)
        best, best_diff = None, None
        for m in self._metrics:
            diff = np.nonzero(m.weights != weights)[0]
            if best_diff is None or len(diff) < len(best_diff):
                best, best_diff = m, diff
        if (
            best is not None
            and best_diff is not None
            and len(best_diff) <= max(PARTIAL_SHARE * len(weights), PARTIAL_ARCS)
        ):
            if len(best_diff):
                changed = dict(zip(best_diff.tolist(), weights[best_diff].tolist(), strict=True))
                # The updater is bound to the thread that made it (pyo3 "unsendable"): one per update.
                rk.CCHMetricPartialUpdater(self._cch).apply(best.metric, changed)
                self.partial_updates += 1
            best.weights, best.source, best.last_used = weights, seg_cost, time.monotonic()
            return best
        if not self.background:
            return self._add(seg_cost, weights)
        if id(seg_cost) not in self._pending:
            self._pending.add(id(seg_cost))
            threading.Thread(target=self._customize, args=(seg_cost, weights), daemon=True).start()
        return None

    def _add(self, seg_cost: np.ndarray, weights: np.ndarray) -> _Metric:
        return self._hold(seg_cost, weights, rk.CCHMetric(self._cch, weights.tolist()))

    def _hold(self, seg_cost: np.ndarray, weights: np.ndarray, metric: Any) -> _Metric:
        """Keep a customized metric for ``seg_cost``, dropping the least recently used past :data:`MAX_METRICS`."""
        self.customizations += 1
        held = _Metric(weights, metric, seg_cost)
        self._metrics.append(held)
        if len(self._metrics) > MAX_METRICS:
            self._metrics.remove(min(self._metrics, key=lambda m: m.last_used))
        return held

    def _customize(self, seg_cost: np.ndarray, weights: np.ndarray) -> None:
        metric = rk.CCHMetric(self._cch, weights.tolist())  # the slow part, outside the lock
        with self._lock:
            self._pending.discard(id(seg_cost))
            self._hold(seg_cost, weights, metric)

    def prepare(self, seg_cost: np.ndarray) -> None:
        """Customize a metric for ``seg_cost`` now, in this thread (warm-up)."""
        with self._lock:
            if self._metric_for(seg_cost) is None:
                self._pending.discard(id(seg_cost))
                self._add(seg_cost, self._weights(seg_cost))

    # ------------------------------------------------------------------ queries
    def times(
        self,
        seg_cost: np.ndarray,
        direction: str,
        anchor_seeds: Sequence[tuple[int, float]],
        nodes: np.ndarray,
    ) -> np.ndarray | None:
        """Seconds between the anchor and each of ``nodes``, or ``None`` (use Dijkstra).

        Parameters
        ----------
        seg_cost
            Seconds per segment for this vehicle and these restrictions (``inf``: unusable).
        direction
            ``in``: from each node to the anchor (many-to-one); ``out``: from the anchor to each.
        anchor_seeds
            ``(node, seconds)`` pairs linking the anchor to the network, as
            :meth:`gis.routing.Router.search` seeds them.
        nodes
            Junctions wanted.

        Returns
        -------
        numpy.ndarray or None
            Seconds per node (``inf``: unreachable); ``None`` when no metric is ready yet
            or an answer is too long to trust.
        """
        if direction not in ("in", "out"):
            raise ValueError(direction)
        seeds = [(int(v), round(d / self.tick_s)) for v, d in anchor_seeds if np.isfinite(d)]
        if not seeds:
            return np.full(len(nodes), np.inf)
        pins = [int(v) for v in nodes]
        with self._lock:
            held = self._metric_for(seg_cost)
            if held is None:
                return None
            if direction == "in":
                many_to_one = rk.CCHManyToOne(held.metric, pins)
                raw = many_to_one.distances_to_multi(seeds)
                del many_to_one  # RoutingKit needs every query object gone before a metric update
            else:
                one_to_many = rk.CCHOneToMany(held.metric, pins)
                raw = one_to_many.distances_from_multi(seeds)
                del one_to_many
        ticks = np.array([np.inf if d is None else d for d in raw], dtype="float64")
        if np.any(np.isfinite(ticks) & (ticks >= MAX_TICKS)):
            return None
        return ticks * self.tick_s
