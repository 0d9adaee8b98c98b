"""The ``safemap`` command group: ``serve``, and the commands of every CLI module registered in one loop.

Each module of this package (:mod:`~safemap.api.cli.data`, :mod:`~safemap.api.cli.safety`,
:mod:`~safemap.api.cli.coverage`, :mod:`~safemap.api.cli.network`) lists its commands in
``COMMANDS``; none of them imports this module, so there is no import circle.
"""

from __future__ import annotations

import click

from safemap.api.cli import (
    allocation,
    coverage,
    data,
    domino,
    experts,
    incidents,
    indicators,
    live,
    network,
    park,
    prevention,
    qgis,
    region,
    replication,
    safety,
    tailings,
    users,
    warnings,
    wind,
)
from safemap.api.cli.common import settings
from safemap.api.cli.progress import TerminalBars
from safemap.layers.progress import reporting

#: The modules whose ``COMMANDS`` the group offers, in the order ``safemap --help`` lists them.
MODULES = (
    data,
    safety,
    coverage,
    network,
    wind,
    warnings,
    incidents,
    live,
    prevention,
    indicators,
    domino,
    park,
    tailings,
    allocation,
    region,
    replication,
    experts,
    users,
    qgis,
)
#: The application factory ``serve`` hands to uvicorn.
APP_FACTORY = "safemap.api.http.app:create_app"


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """SafeMap 安全生产风险与应急资源一张图."""
    # Long work (import, demo, import-osm, reviews) shows bars on a terminal, nothing otherwise.
    ctx.with_resource(reporting(TerminalBars()))


@main.command()
@click.option("--host", default=None, help="Listen address (default SAFEMAP_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default SAFEMAP_PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the map and the API."""
    import uvicorn

    config = settings()
    click.echo(f"SafeMap: http://{host or config.host}:{port or config.port}/  (API: /docs)")
    # By name, as a factory: the CLI never imports the HTTP room (create_app() reads the same settings).
    uvicorn.run(APP_FACTORY, factory=True, host=host or config.host, port=port or config.port, log_level="info")


for _module in MODULES:
    for _command in _module.COMMANDS:
        main.add_command(_command)

if __name__ == "__main__":
    main()
