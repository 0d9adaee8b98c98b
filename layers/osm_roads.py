"""Drivable roads from an OpenStreetMap extract (``.osm.pbf``/``.osm``) as ``roads`` features.

Read with pyosmium. Each drivable way (``highway`` motorway … service) is cut at every
node it shares with another drivable way, so every junction is a segment end and the
network builder never has to guess: ways crossing without a shared node (bridges,
tunnels) stay unconnected. ``oneway=-1`` ways are reversed; motorways and roundabouts
are one-way by default. ``maxspeed``, ``maxheight``, ``maxweight``, ``maxwidth`` (or
``width``) are parsed with their units (mph, ft/in, kg, st). ``source`` names the way
(``OpenStreetMap way 123 (ODbL)``), which also tells the network builder the lines are
already noded.

An extract cut from a larger file holds ways whose nodes lie partly outside it (their
locations are missing). Such a way is kept in the parts whose nodes are present — each
run of consecutive present nodes is a way of its own, never joined across the gap — and
:class:`OsmReport` counts the ways cut, the ways dropped (fewer than two nodes present) and
the nodes missing, so the import can say what it did.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from safemap.layers import progress

#: OSM highway -> road class of the catalogue.
HIGHWAY_CLASS = {
    "motorway": "national",
    "trunk": "national",
    "primary": "provincial",
    "secondary": "county",
    "tertiary": "township",
    "unclassified": "village",
    "residential": "urban_branch",
    "living_street": "urban_branch",
    "service": "service",
}
HIGHWAY_CLASS.update(
    {
        f"{k}_link": v
        for k, v in list(HIGHWAY_CLASS.items())
        if k in ("motorway", "trunk", "primary", "secondary", "tertiary")
    }
)
_NUMBER = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*([a-zA-Z'\"]*)")


def parse_speed(text: str | None) -> float | None:
    """``maxspeed`` in km/h (``50``, ``30 mph``); ``None`` for ``none``, ``signals``, zone codes."""
    if not text:
        return None
    m = _NUMBER.match(text)
    if not m:
        return None
    value = float(m.group(1).replace(",", "."))
    return round(value * 1.609344, 1) if m.group(2).lower() == "mph" else value


def parse_metres(text: str | None) -> float | None:
    """``maxheight``/``maxwidth`` in metres (``3.6``, ``3.6 m``, ``12'6"``)."""
    if not text:
        return None
    feet = re.match(r"^\s*(\d+)\s*'\s*(?:(\d+)\s*\")?", text)
    if feet:
        return round(int(feet.group(1)) * 0.3048 + int(feet.group(2) or 0) * 0.0254, 2)
    m = _NUMBER.match(text)
    if not m:
        return None
    value = float(m.group(1).replace(",", "."))
    unit = m.group(2).lower()
    return value / 100 if unit == "cm" else value * 0.3048 if unit in ("ft", "feet") else value


def parse_tonnes(text: str | None) -> float | None:
    """``maxweight`` in tonnes (``20``, ``20 t``, ``7500 kg``, ``10 st`` short tons)."""
    if not text:
        return None
    m = _NUMBER.match(text)
    if not m:
        return None
    value = float(m.group(1).replace(",", "."))
    unit = m.group(2).lower()
    return value / 1000 if unit == "kg" else value * 0.90718474 if unit == "st" else value


@dataclass
class OsmReport:
    """What reading an extract did with its drivable ways (filled by :func:`read_osm_roads`)."""

    #: Drivable ways read.
    ways: int = 0
    #: Ways with nodes outside the extract, kept in the parts present.
    cut: int = 0
    #: Ways with fewer than two nodes in the extract: nothing to keep.
    dropped: int = 0
    #: Node references whose location the extract lacks.
    missing_nodes: int = 0

    def text(self) -> str:
        """One Chinese sentence for people (empty when every way was whole)."""
        if not self.cut and not self.dropped:
            return ""
        parts = []
        if self.cut:
            parts.append(f"{self.cut} 条道路部分节点不在数据范围内，已保留范围内的部分")
        if self.dropped:
            parts.append(f"{self.dropped} 条道路范围内不足两个节点，未导入")
        return (
            "；".join(parts)
            + f"（共缺 {self.missing_nodes} 个节点位置，通常因提取范围边界截断；共读取 {self.ways} 条道路）"
        )


def read_osm_roads(
    path: str | Path, clip: BaseGeometry | None = None, report: OsmReport | None = None
) -> list[dict[str, Any]]:
    """GeoJSON-like ``roads`` features (lon/lat) for the drivable ways of an OSM file.

    Parameters
    ----------
    path
        ``.osm.pbf`` or ``.osm`` file.
    clip
        Polygon (lon/lat): segments are cut to it and those outside dropped.
    report
        Filled with the counts of ways read, cut and dropped (:class:`OsmReport`).
    """
    import osmium

    report = report if report is not None else OsmReport()
    ways: list[tuple[int, dict[str, str], list[int], list[tuple[float, float]]]] = []
    reader = osmium.FileProcessor(str(path)).with_locations().with_filter(osmium.filter.KeyFilter("highway"))
    for w in progress.track(reader, "读取 OSM 道路（要素）"):
        if not isinstance(w, osmium.osm.Way):
            continue
        tags = {t.k: t.v for t in w.tags}
        if tags.get("highway") not in HIGHWAY_CLASS or tags.get("area") == "yes":
            continue
        if (tags.get("access") == "no" or tags.get("motor_vehicle") == "no") and tags.get("emergency") != "yes":
            continue
        report.ways += 1
        runs: list[list[tuple[int, tuple[float, float]]]] = [[]]
        missing = 0
        for n in w.nodes:
            if n.location.valid():
                runs[-1].append((n.ref, (n.location.lon, n.location.lat)))
            else:
                missing += 1
                if runs[-1]:
                    runs.append([])
        kept = [run for run in runs if len(run) >= 2]
        if missing:
            report.missing_nodes += missing
            if kept:
                report.cut += 1
            else:
                report.dropped += 1
        for run in kept:
            ways.append((w.id, tags, [ref for ref, _ in run], [xy for _, xy in run]))
    uses: dict[int, int] = {}
    for _, _, refs, _ in ways:
        for k, ref in enumerate(refs):
            # Ends count twice so a way ending on another splits it there.
            uses[ref] = uses.get(ref, 0) + (2 if k in (0, len(refs) - 1) else 1)
    features = []
    for wid, tags, refs, coords in ways:
        cuts = [0] + [k for k in range(1, len(refs) - 1) if uses[refs[k]] > 1] + [len(refs) - 1]
        for a, b in itertools.pairwise(cuts):
            part = coords[a : b + 1]
            if len(set(part)) < 2:
                continue
            features.extend(_features(wid, tags, part, clip))
    return features


def _features(
    wid: int, tags: dict[str, str], coords: list[tuple[float, float]], clip: BaseGeometry | None
) -> list[dict[str, Any]]:
    oneway_tag = tags.get("oneway", "")
    if oneway_tag == "-1":
        coords = coords[::-1]
    oneway = oneway_tag in ("yes", "1", "true", "-1") or (
        oneway_tag == "" and (tags.get("highway") == "motorway" or tags.get("junction") in ("roundabout", "circular"))
    )
    line: BaseGeometry = LineString(coords)
    if clip is not None:
        if not line.intersects(clip):
            return []
        if not clip.contains(line):
            line = line.intersection(clip)
    parts = [g for g in getattr(line, "geoms", [line]) if g.geom_type == "LineString" and len(g.coords) >= 2]
    name = tags.get("name:zh") or tags.get("name") or tags.get("ref") or f"OSM {tags.get('highway')} {wid}"
    props = {
        "name": name[:200],
        "road_class": HIGHWAY_CLASS[tags["highway"]],
        "ref": (tags.get("ref") or None) and tags["ref"][:20],
        "speed_kmh": _clamp(parse_speed(tags.get("maxspeed")), 1, 130),
        "oneway": oneway,
        "width_m": _clamp(parse_metres(tags.get("maxwidth") or tags.get("width")), 0, 100),
        "max_height_m": _clamp(parse_metres(tags.get("maxheight")), 0, 20),
        "max_weight_t": _clamp(parse_tonnes(tags.get("maxweight")), 0, 200),
        "status": "open",
        "source": f"OpenStreetMap way {wid} (ODbL)",
    }
    return [{"type": "Feature", "geometry": p.__geo_interface__, "properties": dict(props)} for p in parts]


def _clamp(value: float | None, lo: float, hi: float) -> float | None:
    if value is None or not (lo <= value <= hi):
        return None
    return value
