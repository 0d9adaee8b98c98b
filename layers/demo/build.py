"""Build the 裕民县 demo county into a feature store, deterministically.

Drafting happens in metres (UTM 44N) in a fixed order driven by one
``numpy.random.default_rng(seed)``; nothing depends on set or dict iteration of
unordered data, so the same seed gives byte-identical features. Every feature is
then validated against the catalogue exactly as user data is, and inserted layer
by layer so that references (hazard source -> enterprise, fire lane -> site) point
at ids the store has already returned.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from shapely.geometry import LineString

from safemap.layers import progress
from safemap.layers.demo.admin import add_admin
from safemap.layers.demo.county import DATA_DIR, County, load_county
from safemap.layers.demo.experts import add_experts
from safemap.layers.demo.forces import Forces
from safemap.layers.demo.identities import TradeNames
from safemap.layers.demo.lanes import Lanes, resolve_lane_ends
from safemap.layers.demo.live import LIVE_LAYER_ORDER, add_live
from safemap.layers.demo.mines import add_mines
from safemap.layers.demo.network import build_segments
from safemap.layers.demo.park import add_park_sites, build_park_layout
from safemap.layers.demo.plan import LAYER_ORDER, Plan
from safemap.layers.demo.prevention import add_prevention, write_demo_photos
from safemap.layers.demo.records import Sites, Spots
from safemap.layers.demo.roads import build_rural_roads, connect_islands
from safemap.layers.demo.rural_targets import RuralTargets
from safemap.layers.demo.shapes import to_wgs84
from safemap.layers.demo.shelters import add_shelters, add_warning_contacts
from safemap.layers.demo.sites import SiteBuilder, town_road_geoms
from safemap.layers.demo.town import build_town
from safemap.layers.demo.town_targets import TownTargets
from safemap.layers.errors import ValidationFailed
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from safemap.layers.validation import CleanFeature, validate_feature

DEMO_ACTOR = Actor("safemap-demo", "admin")


def draft_demo(seed: int = 2021, data_dir: Path = DATA_DIR) -> Plan:
    """Draft every feature of the demo county (nothing is written).

    Parameters
    ----------
    seed
        Seed of the one random generator all synthetic parts draw from.
    data_dir
        Folder with the real WGS 84 files (``data/yumin``).
    """
    rng = np.random.default_rng(seed)
    county = load_county(rng, data_dir)
    town = build_town(county, rng)
    park = build_park_layout(town)
    rural = build_rural_roads(county, town, park, rng)
    plan = Plan()
    add_admin(plan, county)
    names = TradeNames(rng)
    sites = Sites(plan, county, rng)
    lanes = Lanes(plan, county, rng)
    spots = Spots(town_road_geoms(town, park, rural), rng)
    add_park_sites(plan, park, sites, lanes, names)
    SiteBuilder(plan, county, town, park, rural, sites, spots, names).build()
    add_mines(plan, sites, names)
    TownTargets(plan, county, town, park, lanes, rng).build()
    RuralTargets(plan, county, rural, spots, rng).build()
    Forces(plan, county, town, park, rural, spots, rng).build()
    add_shelters(plan, county)  # own generator: the shared one's draws stay as they were
    add_warning_contacts(plan, county)
    lines = town.streets + park.streets + rural.lines
    connect_islands(lines)
    segments, node_coords = build_segments(lines, plan.road_nodes, rng)
    resolve_lane_ends(plan, node_coords)
    _add_roads(plan, county, segments)
    add_live(plan, county, town)  # own generator, after the roads its routes follow
    add_prevention(plan, county)  # own generator, after the roads its accidents lie on
    add_experts(plan, county)  # own generator
    return plan


def _add_roads(plan: Plan, county: County, segments: list) -> None:
    for k, (coords, props) in enumerate(segments):
        line = LineString(coords)
        mid = line.interpolate(0.5, normalized=True)
        public = {key: v for key, v in props.items() if not key.startswith("_")}
        public["township"] = county.township_at((mid.x, mid.y))
        plan.new("roads", f"road:{k:05d}", line, **public)


def build_demo(store: FeatureStore, *, seed: int = 2021) -> dict[str, int]:
    """Build the demo county into ``store``.

    Every feature is validated with :func:`layers.validation.validate_feature`
    (``partial=False``, the store's extent) and inserted with
    :meth:`FeatureStore.insert_clean` (action ``seed``), one transaction per layer.

    Parameters
    ----------
    store
        An empty (or at least demo-free) feature store.
    seed
        Seed of the random generator: the same seed gives identical features.

    Returns
    -------
    dict[str, int]
        Number of features written per layer, in insert order.
    """
    plan = draft_demo(seed)
    counts = write_plan(store, plan, note=f"裕民县演示数据（seed={seed}）")
    # Evidence photos of the demo's findings: image bytes go into the store's photo table, not a draft.
    photos = write_demo_photos(store)
    counts["danger_photos"] = photos
    counts["hidden_danger_events"] += photos
    return counts


def write_plan(store: FeatureStore, plan: Plan, *, note: str) -> dict[str, int]:
    """Validate and insert every draft of ``plan``; return the features written per layer."""
    ids: dict[str, int] = {}
    counts: dict[str, int] = {}
    names = [n for n in (*LAYER_ORDER, *LIVE_LAYER_ORDER) if n in plan.layers]
    for name in progress.track(names, "生成演示数据（图层）"):
        layer = store.layer(name)
        drafts = plan.of(name)
        clean: list[CleanFeature] = []
        for d in drafts:
            props = {k: v for k, v in d.props.items() if not k.startswith("_")}
            for field, key in d.refs.items():
                props[field] = ids[key]
            props.update(d.children)
            geometry = d.geom if d.lonlat else to_wgs84(d.geom)
            feature = {"type": "Feature", "properties": props, "geometry": geometry}
            try:
                clean.append(validate_feature(layer, feature, partial=False, extent=store.extent))
            except ValidationFailed as exc:
                raise ValidationFailed(f"demo feature {d.key}: {exc.message}", exc.problems) from None
        new_ids = store.insert_clean(name, clean, DEMO_ACTOR, action="seed", note=note, audit_each=False)
        ids.update(zip((d.key for d in drafts), new_ids, strict=True))
        counts[name] = len(new_ids)
    return counts
