"""``safemap import-osm`` and ``safemap route``: road network commands of the CLI."""

from __future__ import annotations

from pathlib import Path

import click

from safemap.api.cli.common import BadInput, cli_actor, configured_store, dumps, fail, parse_lonlat
from safemap.layers.errors import ValidationFailed

#: Exit code when no passable route joins the two points.
EXIT_NO_ROUTE = 3


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
    from safemap.api.services.osm_import import import_osm
    from safemap.layers.osm_roads import OsmReport

    report = OsmReport()
    with configured_store() as store:
        count, problems = import_osm(store, file, clip, cli_actor(actor), dry_run=dry_run, report=report)
    if problems:
        fail(ValidationFailed(f"{len(problems)} 处问题，未导入任何道路", problems))
    click.echo(f"{'可导入' if dry_run else '已导入'} {count} 条道路（按交叉口切分）")
    if report.text():
        click.echo(report.text())


@click.command("route")
@click.option("--from", "origin", required=True, help="Start as lon,lat.")
@click.option("--to", "destination", required=True, help="End as lon,lat.")
@click.option("--vehicle", default="fire_engine", show_default=True, help="Vehicle profile code.")
def route_command(origin: str, destination: str, vehicle: str) -> None:
    """Print the fastest route between two points for a vehicle, as JSON."""
    from safemap.api.services.network import NetworkService
    from safemap.gis import routes
    from safemap.gis.routing import NoRoute

    a, b = parse_lonlat(origin, "--from"), parse_lonlat(destination, "--to")
    with configured_store() as store:
        svc = NetworkService()
        vehicles = svc.vehicles(store)
        if vehicle not in vehicles:
            raise BadInput(f"没有车辆类型 {vehicle!r}；可选：{', '.join(sorted(vehicles))}", "--vehicle")
        router = svc.router(store)
        try:
            found = routes.route(router, a, b, vehicles[vehicle])
        except NoRoute as exc:
            click.secho("无可通行路线：" + "；".join(exc.reasons), fg="red", err=True)
            raise SystemExit(EXIT_NO_ROUTE) from None
        summary = routes.route_summary(found, router.net.to_lonlat(found.xy))
    click.echo(dumps(summary, indent=None))


COMMANDS = (import_osm_command, route_command)
