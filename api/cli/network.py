"""``safemap import-osm`` and ``safemap route``: road network commands of the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import click

from safemap.layers.errors import LayerError, Problem, ValidationFailed
from safemap.layers.store import FeatureStore


def import_osm(
    store: FeatureStore, path: Path, clip: Path | None, actor_name: str, *, dry_run: bool = False
) -> tuple[int, list[Problem]]:
    """Validate and insert the drivable ways of an OSM file into ``roads`` (all or nothing).

    Returns the number of roads written (or that would be) and the problems found; with
    problems nothing is written.
    """
    from safemap.layers.osm_roads import read_osm_roads
    from safemap.layers.store import Actor
    from safemap.layers.validation import validate_feature

    boundary = None
    if clip is not None:
        import geopandas as gpd

        frame = gpd.read_file(clip)
        if frame.crs is not None and frame.crs.to_epsg() != 4326:
            frame = frame.to_crs("EPSG:4326")
        boundary = frame.geometry.union_all()
        if boundary.is_empty or boundary.geom_type not in ("Polygon", "MultiPolygon"):
            raise ValidationFailed(f"--clip: {clip} 中没有多边形边界")
    features = read_osm_roads(path, boundary)
    layer = store.layer("roads")
    cleans, problems = [], []
    for row, feature in enumerate(features, start=1):
        try:
            cleans.append(validate_feature(layer, feature, partial=False, extent=store.extent))
        except ValidationFailed as exc:
            problems += [Problem(p.field, p.message, row) for p in exc.problems] or [
                Problem("feature", exc.message, row)
            ]
    if problems or dry_run:
        return len(cleans), problems
    store.insert_clean(
        "roads", cleans, Actor(actor_name, "admin"), action="import", note=f"OSM {path.name}", audit_each=False
    )
    return len(cleans), []


@click.command("import-osm")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--clip",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Boundary polygon file (GeoJSON, GeoPackage, Shapefile): keep roads inside it, cut at its edge.",
)
@click.option("--dry-run", is_flag=True, help="Read and validate only; write nothing.")
@click.option("--actor", default=None, help="Name recorded in the audit log.")
def import_osm_command(file: Path, clip: Path | None, dry_run: bool, actor: str | None) -> None:
    """Import the drivable roads of an OpenStreetMap extract (.osm.pbf) into the roads layer."""
    from safemap.api.cli.main import _cli_actor, _fail, _open

    store = _open()
    try:
        count, problems = import_osm(store, file, clip, _cli_actor(actor).name, dry_run=dry_run)
        if problems:
            _fail(ValidationFailed(f"{len(problems)} 处问题，未导入任何道路", problems))
        click.echo(f"{'可导入' if dry_run else '已导入'} {count} 条道路（按交叉口切分）")
    except LayerError as exc:
        _fail(exc)
    finally:
        store.close()


@click.command("route")
@click.option("--from", "origin", required=True, help="Start as lon,lat.")
@click.option("--to", "destination", required=True, help="End as lon,lat.")
@click.option("--vehicle", default="fire_engine", show_default=True, help="Vehicle profile code.")
def route_command(origin: str, destination: str, vehicle: str) -> None:
    """Print the fastest route between two points for a vehicle, as JSON."""
    from safemap.api.cli.main import _fail, _open
    from safemap.api.services.network import NetworkService
    from safemap.gis import routes
    from safemap.gis.routing import NoRoute

    def point(text: str, name: str) -> tuple[float, float]:
        try:
            lon, lat = (float(v) for v in text.split(","))
        except ValueError:
            raise click.BadParameter("应为 经度,纬度", param_hint=name) from None
        return lon, lat

    a, b = point(origin, "--from"), point(destination, "--to")
    store = _open()
    try:
        svc = NetworkService()
        vehicles = svc.vehicles(store)
        if vehicle not in vehicles:
            raise click.BadParameter(f"可选：{', '.join(sorted(vehicles))}", param_hint="--vehicle")
        router = svc.router(store)
        try:
            found = routes.route(router, a, b, vehicles[vehicle])
        except NoRoute as exc:
            click.secho("无可通行路线：" + "；".join(exc.reasons), fg="red", err=True)
            raise SystemExit(3) from None
        summary = routes.route_summary(found, router.net.to_lonlat(found.xy))
        click.echo(json.dumps(summary, ensure_ascii=False))
    except LayerError as exc:
        _fail(exc)
    finally:
        store.close()


COMMANDS = (import_osm_command, route_command)
