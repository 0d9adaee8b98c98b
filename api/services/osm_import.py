"""Import the drivable roads of an OpenStreetMap extract into the ``roads`` layer (all or nothing).

The write path of ``safemap import-osm`` (and of any future upload of an OSM extract): read
the ways with :func:`safemap.layers.osm_roads.read_osm_roads`, validate every segment against
the catalogue, insert them in one transaction, then let
:func:`safemap.api.services.editing.keep_derived` refresh whatever depends on the roads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safemap.layers import progress
from safemap.layers.errors import Problem, ValidationFailed
from safemap.layers.model import Actor
from safemap.layers.osm_roads import OsmReport, read_osm_roads
from safemap.layers.store import FeatureStore


def read_clip(clip: Path) -> Any:
    """The union of the polygons in the boundary file ``clip``, in lon/lat.

    Raises
    ------
    ValidationFailed
        The file cannot be read or holds no polygon.
    """
    import geopandas as gpd

    try:
        frame = gpd.read_file(clip)
    except Exception as exc:  # pyogrio/fiona raise their own error types for unreadable files
        raise ValidationFailed(f"无法读取边界文件 {clip.name}：{exc}", [Problem("clip", str(exc))]) from None
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs("EPSG:4326")
    boundary = frame.geometry.union_all()
    if boundary is None or boundary.is_empty or boundary.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValidationFailed(f"边界文件 {clip.name} 中没有多边形边界", [Problem("clip", "应为多边形")])
    return boundary


def import_osm(
    store: FeatureStore,
    path: Path,
    clip: Path | None,
    actor: Actor | str,
    *,
    dry_run: bool = False,
    report: OsmReport | None = None,
) -> tuple[int, list[Problem]]:
    """Validate and insert the drivable ways of an OSM file into ``roads`` (all or nothing).

    Parameters
    ----------
    store
        The store written to.
    path
        ``.osm.pbf`` or ``.osm`` file.
    clip
        Optional boundary file (GeoJSON, GeoPackage, Shapefile): roads are cut at its edge.
    actor
        Who imports (recorded in the audit log); a bare name acts as an admin.
    dry_run
        Read and validate only.
    report
        Filled with how many ways were read, cut at the extract's edge and dropped.

    Returns
    -------
    tuple[int, list[Problem]]
        The number of road segments written (or that would be) and the problems found;
        with problems nothing is written.

    Raises
    ------
    ValidationFailed
        The OSM file or the boundary file cannot be read.
    """
    from safemap.api.services.editing import keep_derived
    from safemap.layers.validation import validate_feature

    path = Path(path)
    who = actor if isinstance(actor, Actor) else Actor(actor, "admin")
    boundary = read_clip(Path(clip)) if clip is not None else None
    try:
        features = read_osm_roads(path, boundary, report)
    except (RuntimeError, OSError, ValueError) as exc:  # osmium: RuntimeError on a corrupt or foreign file
        raise ValidationFailed(
            f"无法读取 OSM 文件 {path.name}：{exc}", [Problem("file", "应为 .osm.pbf 或 .osm 文件")]
        ) from None
    layer = store.layer("roads")
    cleans, problems = [], []
    for row, feature in enumerate(progress.track(features, "校验道路"), start=1):
        try:
            cleans.append(validate_feature(layer, feature, partial=False, extent=store.extent))
        except ValidationFailed as exc:
            problems += [Problem(p.field, p.message, row) for p in exc.problems] or [
                Problem("feature", exc.message, row)
            ]
    if problems or dry_run:
        return len(cleans), problems
    store.insert_clean("roads", cleans, who, action="import", note=f"OSM {path.name}", audit_each=False)
    keep_derived(store, ["roads"])
    return len(cleans), []


__all__ = ["import_osm", "read_clip"]
