"""Fire lanes (消防车道) inside the industrial park and residential compounds.

A lane is drafted from a street point into its site. Its connected ends are
registered as road nodes, so the network builder splits the street there and the
lane's end gets the street node's exact coordinate: lanes and roads form one
routable network.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from shapely.geometry import LineString

from safemap.layers.demo.county import County
from safemap.layers.demo.plan import Draft, Plan
from safemap.layers.demo.shapes import XY

SOURCE = "synthetic: 虚构消防车道（位置、宽度、净空、回车场与占用情况均为演示数据）"


class Lanes:
    """Drafts fire lanes and remembers which of their ends join the road network."""

    def __init__(self, plan: Plan, county: County, rng: np.random.Generator) -> None:
        self.plan = plan
        self.county = county
        self.rng = rng

    def add(
        self,
        key: str,
        coords: list[XY],
        *,
        site_layer: str,
        site_key: str,
        name: str,
        connected: tuple[bool, bool],
        **attrs: Any,
    ) -> Draft:
        """Draft a lane along ``coords`` (metres) belonging to the site ``site_key``.

        Parameters
        ----------
        connected
            Whether the first / last vertex joins a street (must lie on its centreline).
        attrs
            Lane properties: ``width_m`` and ``clear_height_m`` (metres), ``slope_pct``,
            ``dead_end``, ``turnaround_length_m``/``turnaround_width_m`` (metres),
            ``max_weight_t`` (tonnes), ``obstructed``.
        """
        inspected = dt.date(2025, 3, 1) + dt.timedelta(days=int(self.rng.integers(0, 270)))
        props: dict[str, Any] = {
            "width_m": 6.0,
            "clear_height_m": round(float(self.rng.uniform(4.5, 8.0)), 1),
            "dead_end": not all(connected),
            "max_weight_t": 30.0,
            "obstructed": False,
            "inspected_at": inspected.isoformat(),
        }
        props.update(attrs)
        mid = LineString(coords).interpolate(0.5, normalized=True)
        draft = self.plan.new(
            "fire_lanes",
            key,
            LineString(coords),
            name=name,
            township=self.county.township_at((mid.x, mid.y)),
            source=SOURCE,
            site_layer=site_layer,
            **props,
        )
        draft.refs["site_id"] = site_key
        for end, joined in ((0, connected[0]), (len(coords) - 1, connected[1])):
            if joined:
                self.plan.lane_ends.append((draft, end, len(self.plan.road_nodes)))
                self.plan.road_nodes.append(coords[end])
        return draft

    def loop(
        self,
        key: str,
        street_y: float,
        x_from: float,
        x_to: float,
        depth: float,
        *,
        north: bool = True,
        **kw: Any,
    ) -> Draft:
        """Draft a U-shaped lane from an east-west street at ``x_from`` back to it at ``x_to``.

        Parameters
        ----------
        street_y
            Northing of the street centreline (metres).
        depth
            How far the lane reaches into the site (metres).
        north
            The site lies north of the street (else south).
        """
        sign = 1.0 if north else -1.0
        y_in = street_y + sign * depth
        coords = [(x_from, street_y), (x_from, y_in), (x_to, y_in), (x_to, street_y)]
        return self.add(key, coords, connected=(True, True), **kw)

    def spur(self, key: str, start: XY, path: list[XY], **kw: Any) -> Draft:
        """Draft a dead-end lane from street point ``start`` along ``path`` (metres)."""
        kw.setdefault("dead_end", True)
        return self.add(key, [start, *path], connected=(True, False), **kw)


def resolve_lane_ends(plan: Plan, node_coords: list[XY]) -> None:
    """Move each connected lane end onto the exact coordinate of the road node it became."""
    for draft, vertex, node in plan.lane_ends:
        coords = list(draft.geom.coords)
        coords[vertex] = node_coords[node]
        draft.geom = LineString(coords)
