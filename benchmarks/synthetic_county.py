"""A synthetic county of the demo's size inside Yumin's extent, for the map benchmark.

Used when ``layers.demo.build_demo`` is unavailable: the real county outline from
``data/yumin`` (when present), seven sector "townships", the county seat's street grid
plus rural roads cut into ~400 m segments (~2,900 road segments), and ~800 points and
polygons (enterprises, hazard sources, protected targets, hydrants, teams, depots …).
Every record says ``source = synthetic``.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon, mapping, shape

from safemap.layers.model import SYSTEM
from safemap.layers.store import FeatureStore
from safemap.layers.validation import validate_feature

ROOT = Path(__file__).resolve().parents[1]
EXTENT = (82.1, 45.25, 83.65, 46.65)
SEAT = (82.9889, 46.2045)  # 哈拉布拉镇 (county seat), WGS 84


def _insert(store: FeatureStore, layer: str, feats: list[dict[str, Any]]) -> list[int]:
    lay = store.layer(layer)
    clean = [validate_feature(lay, f, partial=False, extent=store.extent) for f in feats]
    return store.insert_clean(layer, clean, SYSTEM, action="import", audit_each=False)


def _feat(geom: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": mapping(geom), "properties": props}


def _m(dx: float, dy: float) -> tuple[float, float]:
    """Metres east/north of the county seat -> lon/lat."""
    return SEAT[0] + dx / (111_320 * math.cos(math.radians(SEAT[1]))), SEAT[1] + dy / 110_540


def build_synthetic(store: FeatureStore, seed: int = 7) -> dict[str, int]:
    """Fill ``store`` with a synthetic county of demo size; return features per layer."""
    rng = np.random.default_rng(seed)
    src = "synthetic"
    boundary_file = ROOT / "data" / "yumin" / "yumin_boundary_wgs84.geojson"
    if boundary_file.is_file():
        county = shape(json.loads(boundary_file.read_text())["features"][0]["geometry"])
    else:
        county = shapely.box(82.27, 45.40, 83.46, 46.51)
    county = county.buffer(0)
    _insert(
        store,
        "admin_boundaries",
        [_feat(county, name="裕民县", level="county", code="654225", source=src)],
    )

    # Townships: sectors of the county around the seat.
    names = [
        "哈拉布拉镇",
        "吉也克镇",
        "新地乡",
        "阿勒腾也木勒乡",
        "江格斯乡",
        "察汗托海牧场",
        "一六一团",
    ]
    cx, cy = county.centroid.x, county.centroid.y
    sectors = []
    for i, name in enumerate(names):
        a0, a1 = 2 * math.pi * i / len(names), 2 * math.pi * (i + 1) / len(names)
        fan = Polygon([(cx, cy)] + [(cx + 3 * math.cos(a), cy + 3 * math.sin(a)) for a in np.linspace(a0, a1, 12)])
        part = county.intersection(fan)
        kind = (
            "town" if name.endswith("镇") else "farm" if "牧场" in name else "regiment" if "团" in name else "township"
        )
        sectors.append(
            _feat(
                part,
                name=name,
                code=f"654225{100 + i:03d}",
                kind=kind,
                population=int(rng.integers(3000, 30000)),
                source=src,
            )
        )
    _insert(store, "townships", sectors)

    # Roads: the seat's street grid plus rural roads split into ~400 m segments.
    roads = []
    classes = ["urban_arterial", "urban_secondary", "urban_branch", "urban_branch"]
    step, n = 200, 31
    for i in range(n):
        for j in range(n - 1):
            for horizontal in (True, False):
                a = (j * step - n * step / 2, i * step - n * step / 2)
                b = ((j + 1) * step - n * step / 2, i * step - n * step / 2)
                if not horizontal:
                    a, b = (a[1], a[0]), (b[1], b[0])
                cls = classes[i % 4]
                status = "closed" if rng.random() < 0.02 else "open"
                name = f"{'东西' if horizontal else '南北'}{i + 1}路"
                roads.append(
                    _feat(
                        LineString([_m(*a), _m(*b)]),
                        name=name,
                        road_class=cls,
                        status=status,
                        speed_kmh=40.0,
                        width_m=float(rng.choice([7, 12, 16, 24])),
                        oneway=False,
                        source=src,
                    )
                )
    for k in range(12):
        ang = 2 * math.pi * k / 12 + rng.normal(0, 0.1)
        length = rng.uniform(30_000, 60_000)
        pts = [_m(2_900 * math.cos(ang), 2_900 * math.sin(ang))]
        for s in np.arange(400, length, 400):
            wob = rng.normal(0, 60)
            pts.append(_m((2_900 + s) * math.cos(ang) + wob, (2_900 + s) * math.sin(ang) + wob))
        pts = [p for p in pts if county.buffer(0.05).contains(Point(p))]
        cls = ["national", "provincial", "county", "township"][k % 4]
        ref = {"national": "G219", "provincial": "S221", "county": f"X{k:03d}"}.get(cls)
        for a, b in itertools.pairwise(pts):
            roads.append(
                _feat(
                    LineString([a, b]),
                    name=f"{ref or '乡道'}裕民段",
                    road_class=cls,
                    ref=ref,
                    status="open",
                    speed_kmh=80.0,
                    width_m=9.0,
                    oneway=False,
                    source=src,
                )
            )
    _insert(store, "roads", roads)

    def pt_near(spread: float, base: tuple[float, float] = (0, 0)) -> Point:
        return Point(_m(base[0] + rng.normal(0, spread), base[1] + rng.normal(0, spread)))

    park = (4_500, -3_000)
    ents = []
    industries = [
        "hazchem_production",
        "hazchem_storage",
        "hazchem_use",
        "fuel_station",
        "lpg_station",
        "industry_trade",
        "fireworks",
        "non_coal_mine",
    ]
    for i in range(160):
        base = park if i < 60 else (0, 0)
        ents.append(
            _feat(
                pt_near(900 if i < 60 else 9_000, base),
                name=f"裕民县示例企业{i + 1:03d}有限公司",
                industry=industries[i % len(industries)],
                risk_level=str(rng.choice(["red", "orange", "yellow", "blue"], p=[0.08, 0.2, 0.35, 0.37])),
                employees=int(rng.integers(5, 400)),
                contact="张工",
                phone="0901-6521234",
                source=src,
            )
        )
    ent_ids = _insert(store, "enterprises", ents)

    hz = []
    for i in range(120):
        geom: Any = pt_near(900, park)
        if i % 6 == 0:
            geom = geom.buffer(0.0006, quad_segs=4)
        hz.append(
            _feat(
                geom,
                name=f"{i + 1}号储罐区",
                enterprise_id=int(ent_ids[i % 60]),
                kind=str(rng.choice(["storage_tank", "tank_farm", "warehouse", "process_unit"])),
                substances=[
                    {"name": "汽油", "quantity_t": 120.0},
                    {"name": "柴油", "quantity_t": 300.0},
                ],
                source=src,
            )
        )
    _insert(store, "hazard_sources", hz)

    cats = [
        "school",
        "kindergarten",
        "hospital",
        "nursing_home",
        "residential",
        "market",
        "government",
        "village",
    ]
    targets = []
    for i in range(220):
        geom = pt_near(2_500)
        if i % 10 == 0:
            geom = geom.buffer(0.0015, quad_segs=4)
        targets.append(
            _feat(
                geom,
                name=f"示例防护目标{i + 1:03d}",
                category=cats[i % len(cats)],
                population=int(rng.integers(20, 3000)),
                source=src,
            )
        )
    _insert(store, "protected_targets", targets)

    lanes = []
    for i in range(80):
        a = pt_near(700, park)
        b = Point(a.x + rng.normal(0, 0.002), a.y + rng.normal(0, 0.0015))
        lanes.append(
            _feat(
                LineString([a, b]),
                name=f"园区消防车道{i + 1}",
                width_m=float(rng.choice([3.5, 4.0, 6.0])),
                obstructed=bool(rng.random() < 0.1),
                dead_end=bool(rng.random() < 0.2),
                source=src,
            )
        )
    _insert(store, "fire_lanes", lanes)

    _insert(
        store,
        "hydrants",
        [
            _feat(
                pt_near(2_000),
                name=f"消火栓{i + 1:03d}",
                status=str(rng.choice(["ok", "damaged", "no_water"], p=[0.85, 0.08, 0.07])),
                kind="above_ground",
                source=src,
            )
            for i in range(150)
        ],
    )
    _insert(
        store,
        "material_depots",
        [
            _feat(
                pt_near(8_000),
                name=f"{'县级' if i == 0 else '乡镇'}应急物资储备库{i + 1}",
                level="county" if i == 0 else "township",
                area_m2=8350.0 if i == 0 else 300.0,
                inventory=[
                    {"item": "帐篷", "unit": "顶", "quantity": 200.0},
                    {"item": "发电机", "unit": "台", "quantity": 5.0},
                ],
                source=src,
            )
            for i in range(8)
        ],
    )
    kinds = [
        "fire_station",
        "professional_fire",
        "hazmat",
        "mine_rescue",
        "medical",
        "enterprise_brigade",
        "volunteer",
    ]
    _insert(
        store,
        "rescue_teams",
        [
            _feat(
                pt_near(6_000),
                name=f"救援队{i + 1}",
                kind=kinds[i % len(kinds)],
                headcount=int(rng.integers(10, 40)),
                status="available",
                vehicles=[{"profile": "fire_engine", "count": 2}],
                source=src,
            )
            for i in range(12)
        ],
    )
    villages = []
    while len(villages) < 60:
        spot = pt_near(25_000)
        if county.contains(spot):
            villages.append(_feat(spot, name=f"示例村{len(villages) + 1}", kind="village", source=src))
    _insert(store, "settlements", villages)
    _insert(
        store,
        "incidents",
        [
            _feat(
                pt_near(3_000),
                name=f"示例事件{i + 1}",
                kind="fire",
                status="responding",
                reported_at="2026-11-29T10:30:00+08:00",
                source=src,
            )
            for i in range(4)
        ],
    )
    return store.counts()
