"""The routable road network: lines noded into junctions and segments, held as compressed arrays.

:func:`build_network` takes road and fire-lane lines (a GeoDataFrame in lon/lat, see
:func:`links_from_layers`) and

1. projects them to a local UTM zone chosen from the data (metres; never EPSG:3857),
2. merges line ends closer than ``snap_m`` into one junction, and snaps a line end that
   lies within ``snap_m`` of another line's interior onto it (a T-junction),
3. splits lines where they cross at grade: at every interior vertex two lines share, and
   at every geometric crossing of two hand-drawn lines. Lines flagged ``noded`` (imported
   from OpenStreetMap, where roads meeting at grade share a node and a bridge or tunnel
   crosses without one) are never split at a bare crossing — that would put a junction
   on a bridge,
4. turns each piece into one directed edge (one-way roads, in drawing order) or two.

The result, :class:`Network`, is plain numpy arrays (CSR adjacency sorted by tail, per
segment geometry, length, speed, limits, closure flag); nothing here reads a database.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely import STRtree

from safemap.gis.noding import length_of, linestrings, node_lines

#: Layer codes of a segment (``Network.seg_layer``).
ROADS, FIRE_LANES = 0, 1
LAYER_NAMES = ("roads", "fire_lanes")
#: Speed used when neither the line nor the defaults table gives one (km/h).
FALLBACK_SPEED_KMH = 30.0
LINK_COLUMNS = (
    "layer",
    "fid",
    "name",
    "ref",
    "kind",
    "speed_kmh",
    "oneway",
    "width_m",
    "max_height_m",
    "max_weight_t",
    "closed",
    "noded",
)


@functools.lru_cache(maxsize=16)
def _transformer(src: str, dst: str) -> Transformer:
    # Creating a pyproj Transformer costs ~1 ms: every route and snap would pay it.
    return Transformer.from_crs(src, dst, always_xy=True)


def utm_crs_for(lon: float, lat: float) -> str:
    """EPSG code of the UTM zone containing (lon, lat), e.g. ``EPSG:32644`` for 裕民县."""
    zone = min(max(math.floor((lon + 180.0) / 6.0) + 1, 1), 60)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


@dataclass
class Network:
    """A directed road network in a metric CRS.

    Segments are the undirected pieces between junctions (with geometry and attributes);
    edges are their directed traversals, sorted by tail node so that the edges leaving
    node ``n`` are ``indptr[n]:indptr[n+1]``.

    Attributes
    ----------
    crs
        The metric CRS of ``node_xy`` and ``coords`` (a UTM zone).
    node_xy
        ``(N, 2)`` junction coordinates in metres.
    seg_u, seg_v
        Start and end node of each segment, in drawing order.
    seg_offsets, coords
        Vertices of segment ``s`` are ``coords[seg_offsets[s]:seg_offsets[s+1]]`` (metres).
    seg_len
        Length in metres.
    seg_speed
        Free speed in km/h (the line's own, else the defaults table).
    seg_width, seg_height, seg_weight
        Carriageway or clear width (m), clear height (m), weight limit (t); NaN: no limit known.
    seg_closed
        Closed road or obstructed fire lane (changed in place by :meth:`set_closed`).
    seg_layer, seg_fid, seg_name, seg_ref, seg_kind
        Where the segment came from: layer code (0 roads, 1 fire lanes), feature id,
        name, route number, road class (``fire_lane`` for lanes).
    edge_seg, edge_fwd, edge_tail, edge_head
        Per directed edge: its segment, whether it runs in drawing order, its end nodes.
    indptr
        CSR row pointer over ``edge_tail`` (length N + 1).
    """

    crs: str
    node_xy: np.ndarray
    seg_u: np.ndarray
    seg_v: np.ndarray
    seg_offsets: np.ndarray
    coords: np.ndarray
    seg_len: np.ndarray
    seg_speed: np.ndarray
    seg_width: np.ndarray
    seg_height: np.ndarray
    seg_weight: np.ndarray
    seg_closed: np.ndarray
    seg_layer: np.ndarray
    seg_fid: np.ndarray
    seg_name: np.ndarray
    seg_ref: np.ndarray
    seg_kind: np.ndarray
    edge_seg: np.ndarray = field(init=False)
    edge_fwd: np.ndarray = field(init=False)
    edge_tail: np.ndarray = field(init=False)
    edge_head: np.ndarray = field(init=False)
    indptr: np.ndarray = field(init=False)
    seg_oneway: np.ndarray | None = None
    _tree: STRtree | None = field(default=None, init=False, repr=False)
    _rev: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        n_seg = len(self.seg_u)
        oneway = np.zeros(n_seg, bool) if self.seg_oneway is None else np.asarray(self.seg_oneway, bool)
        self.seg_oneway = oneway
        seg = np.arange(n_seg, dtype=np.int32)
        back = seg[~oneway]
        edge_seg = np.concatenate([seg, back])
        edge_fwd = np.concatenate([np.ones(n_seg, bool), np.zeros(len(back), bool)])
        tail = np.where(edge_fwd, self.seg_u[edge_seg], self.seg_v[edge_seg]).astype(np.int32)
        head = np.where(edge_fwd, self.seg_v[edge_seg], self.seg_u[edge_seg]).astype(np.int32)
        order = np.argsort(tail, kind="stable")
        self.edge_seg, self.edge_fwd = edge_seg[order], edge_fwd[order]
        self.edge_tail, self.edge_head = tail[order], head[order]
        counts = np.bincount(self.edge_tail, minlength=self.n_nodes)
        self.indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    # ------------------------------------------------------------------ sizes
    @property
    def n_nodes(self) -> int:
        """Number of junctions."""
        return len(self.node_xy)

    @property
    def oneway(self) -> np.ndarray:
        """``seg_oneway`` as set by ``__post_init__`` (never ``None`` there after)."""
        assert self.seg_oneway is not None  # __post_init__ fills it
        return self.seg_oneway

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.edge_seg)

    @property
    def n_segments(self) -> int:
        """Number of undirected segments."""
        return len(self.seg_u)

    # ------------------------------------------------------------------ derived
    def reverse_csr(self) -> tuple[np.ndarray, np.ndarray]:
        """``(indptr, edges)`` of the edges grouped by head node (for searches towards a target)."""
        if self._rev is None:
            order = np.argsort(self.edge_head, kind="stable").astype(np.int64)
            counts = np.bincount(self.edge_head, minlength=self.n_nodes)
            self._rev = (np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), order)
        return self._rev

    def segment_xy(self, s: int) -> np.ndarray:
        """Vertices of segment ``s`` in drawing order (metres)."""
        return self.coords[self.seg_offsets[s] : self.seg_offsets[s + 1]]

    def tree(self) -> STRtree:
        """Spatial index of the segments (metric CRS), built on first use."""
        if self._tree is None:
            lines = linestrings([self.segment_xy(s) for s in range(self.n_segments)])
            self._tree = STRtree(lines)
        return self._tree

    def segment_lines(self) -> np.ndarray:
        """Shapely LineStrings of all segments (metric CRS), in segment order."""
        return self.tree().geometries

    def to_lonlat(self, xy: np.ndarray) -> np.ndarray:
        """Metric coordinates ``(n, 2)`` to lon/lat."""
        lon, lat = _transformer(self.crs, "EPSG:4326").transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    def to_xy(self, lonlat: np.ndarray) -> np.ndarray:
        """Lon/lat ``(n, 2)`` to metric coordinates."""
        x, y = _transformer("EPSG:4326", self.crs).transform(lonlat[:, 0], lonlat[:, 1])
        return np.column_stack([x, y])

    def set_closed(self, closed: np.ndarray) -> None:
        """Replace the closure flags (a road closed or reopened) without rebuilding."""
        self.seg_closed = np.asarray(closed, bool).copy()

    def segment_label(self, s: int) -> str:
        """Name of segment ``s`` for messages: its name, else its route number, else its id."""
        name = self.seg_name[s]
        if isinstance(name, str) and name:
            return name
        ref = self.seg_ref[s]
        if isinstance(ref, str) and ref:
            return ref
        return f"{'道路' if self.seg_layer[s] == ROADS else '消防车道'} {self.seg_fid[s]}"


# ---------------------------------------------------------------------- input
def links_from_layers(roads: Any, fire_lanes: Any | None = None) -> Any:
    """One GeoDataFrame of routable lines from the ``roads`` and ``fire_lanes`` layers.

    Parameters
    ----------
    roads
        GeoDataFrame (EPSG:4326) with the catalogue's road fields (``road_class``,
        ``speed_kmh``, ``oneway``, ``width_m``, ``max_height_m``, ``max_weight_t``,
        ``status``, ``source``).
    fire_lanes
        GeoDataFrame with ``width_m``, ``clear_height_m``, ``max_weight_t``, ``obstructed``.

    Returns
    -------
    GeoDataFrame with :data:`LINK_COLUMNS` and geometry. ``noded`` is true for lines
    whose ``source`` says OpenStreetMap (junctions are shared nodes there).
    """
    import geopandas as gpd

    frames = []
    if roads is not None and len(roads):
        r = roads
        frames.append(
            gpd.GeoDataFrame(
                {
                    "layer": ROADS,
                    "fid": r["id"].astype("int64").to_numpy(),
                    "name": r.get("name"),
                    "ref": r.get("ref"),
                    "kind": r["road_class"].to_numpy(),
                    "speed_kmh": pd.to_numeric(r.get("speed_kmh"), errors="coerce"),
                    "oneway": r.get("oneway").fillna(False).astype(bool).to_numpy(),
                    "width_m": pd.to_numeric(r.get("width_m"), errors="coerce"),
                    "max_height_m": pd.to_numeric(r.get("max_height_m"), errors="coerce"),
                    "max_weight_t": pd.to_numeric(r.get("max_weight_t"), errors="coerce"),
                    "closed": (r["status"] == "closed").to_numpy(),
                    "noded": r.get("source", pd.Series("", index=r.index))
                    .fillna("")
                    .astype(str)
                    .str.startswith("OpenStreetMap")
                    .to_numpy(),
                },
                geometry=r.geometry.to_numpy(),
                crs=r.crs or "EPSG:4326",
            )
        )
    if fire_lanes is not None and len(fire_lanes):
        f = fire_lanes
        frames.append(
            gpd.GeoDataFrame(
                {
                    "layer": FIRE_LANES,
                    "fid": f["id"].astype("int64").to_numpy(),
                    "name": f.get("name"),
                    "ref": None,
                    "kind": "fire_lane",
                    "speed_kmh": np.nan,
                    "oneway": False,
                    "width_m": pd.to_numeric(f.get("width_m"), errors="coerce"),
                    "max_height_m": pd.to_numeric(f.get("clear_height_m"), errors="coerce"),
                    "max_weight_t": pd.to_numeric(f.get("max_weight_t"), errors="coerce"),
                    "closed": f.get("obstructed").fillna(False).astype(bool).to_numpy(),
                    "noded": False,
                },
                geometry=f.geometry.to_numpy(),
                crs=f.crs or "EPSG:4326",
            )
        )
    if not frames:
        return gpd.GeoDataFrame({c: [] for c in LINK_COLUMNS}, geometry=[], crs="EPSG:4326")
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")


# ---------------------------------------------------------------------- building
def build_network(
    links: Any,
    *,
    speeds: Mapping[str, float] | None = None,
    snap_m: float = 1.0,
    crs: str | None = None,
) -> Network:
    """Node the lines of ``links`` (see :func:`links_from_layers`) into a :class:`Network`.

    Parameters
    ----------
    links
        GeoDataFrame in lon/lat with :data:`LINK_COLUMNS`.
    speeds
        Default free speed (km/h) by ``kind`` (road class, ``fire_lane``) for lines
        without their own ``speed_kmh``.
    snap_m
        Junction tolerance in metres: line ends closer than this meet; an end this
        close to another line joins it there.
    crs
        Metric CRS; by default the UTM zone of the data's centre.
    """
    speeds = dict(speeds or {})
    geoms = links.geometry.to_numpy()
    keep = np.array([g is not None and not g.is_empty and g.geom_type == "LineString" for g in geoms], bool)
    links = links.loc[keep].reset_index(drop=True)
    if crs is None:
        if len(links):
            minx, miny, maxx, maxy = links.total_bounds
            crs = utm_crs_for((minx + maxx) / 2, (miny + maxy) / 2)
        else:
            crs = "EPSG:32644"
    metric = links.geometry.to_crs(crs).to_numpy() if len(links) else np.array([], dtype=object)
    lines = [np.asarray(shapely.get_coordinates(g), float) for g in metric]
    noded = links["noded"].fillna(False).astype(bool).to_numpy() if len(links) else np.zeros(0, bool)
    pieces = node_lines(lines, noded, snap_m)
    return _assemble(links, pieces, speeds, crs)


def _assemble(links: Any, pieces: list[tuple[int, np.ndarray]], speeds: dict[str, float], crs: str) -> Network:
    node_of: dict[tuple[float, float], int] = {}
    nodes: list[tuple[float, float]] = []

    def node(xy: np.ndarray) -> int:
        key = (float(xy[0]), float(xy[1]))
        n = node_of.get(key)
        if n is None:
            n = node_of[key] = len(nodes)
            nodes.append(key)
        return n

    src = np.array([i for i, _ in pieces], dtype=np.int64)
    seg_u = np.array([node(p[0]) for _, p in pieces], dtype=np.int32)
    seg_v = np.array([node(p[-1]) for _, p in pieces], dtype=np.int32)
    sizes = np.array([len(p) for _, p in pieces], dtype=np.int64)
    coords = np.vstack([p for _, p in pieces]) if pieces else np.zeros((0, 2))
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    seg_len = np.array([length_of(p) for _, p in pieces], float)

    def col(name: str, default: Any = np.nan) -> np.ndarray:
        if name not in links.columns:
            return np.full(len(src), default, dtype=object if default is None else float)
        return links[name].to_numpy()[src] if len(src) else np.array([])

    kind = col("kind", None)
    speed = pd.to_numeric(pd.Series(col("speed_kmh")), errors="coerce").to_numpy(float)
    default = np.array([speeds.get(k, FALLBACK_SPEED_KMH) if isinstance(k, str) else FALLBACK_SPEED_KMH for k in kind])
    speed = np.where(np.isfinite(speed) & (speed > 0), speed, default) if len(src) else speed

    def num(name: str) -> np.ndarray:
        return pd.to_numeric(pd.Series(col(name)), errors="coerce").to_numpy(float)

    return Network(
        crs=crs,
        node_xy=np.array(nodes, float).reshape(-1, 2),
        seg_u=seg_u,
        seg_v=seg_v,
        seg_offsets=offsets,
        coords=coords,
        seg_len=seg_len,
        seg_speed=speed.astype(float),
        seg_width=num("width_m"),
        seg_height=num("max_height_m"),
        seg_weight=num("max_weight_t"),
        seg_closed=pd.Series(col("closed", False)).fillna(False).astype(bool).to_numpy(),
        seg_layer=np.asarray(col("layer", 0), dtype=np.int8),
        seg_fid=np.asarray(col("fid", 0), dtype=np.int64),
        seg_name=np.asarray(col("name", None), dtype=object),
        seg_ref=np.asarray(col("ref", None), dtype=object),
        seg_kind=np.asarray(kind, dtype=object),
        seg_oneway=pd.Series(col("oneway", False)).fillna(False).astype(bool).to_numpy(),
    )
