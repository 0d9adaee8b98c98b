"""``safemap export-qgis-project``: SafeMap's map as a QGIS project (``.qgz``).

The project reads the store's GeoPackage (relative to the ``.qgz`` when it can) or, with
``--ogc-url``, the server's OGC API – Features; groups, styles and Chinese labels come
from the catalogue (:mod:`safemap.layers.qgis_project`).
"""

from __future__ import annotations

from pathlib import Path

import click
from pyproj import CRS
from pyproj.exceptions import CRSError

from safemap.api.cli.common import BadInput, configured_store, settings
from safemap.layers.definitions import GROUPS
from safemap.layers.qgis_project import gpkg_reference, project_layers, project_xml, write_qgz

__all__ = ["COMMANDS"]


@click.command("export-qgis-project")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--ogc-url", default=None, help="Read the layers from this OGC API (e.g. http://host:8000/ogc).")
@click.option("--crs", "epsg", type=int, default=None, help="Project CRS EPSG code (default: UTM zone of the county).")
@click.option("--absolute", is_flag=True, help="Name the GeoPackage by its absolute path.")
def export_qgis_project(out: Path, ogc_url: str | None, epsg: int | None, absolute: bool) -> None:
    """Write a QGIS project of the map (groups, styles, Chinese labels) to OUT.qgz."""
    if out.suffix.lower() != ".qgz":
        raise BadInput(f"项目文件应以 .qgz 结尾：{out}", "OUT")
    if ogc_url is not None and not ogc_url.startswith(("http://", "https://")):
        raise BadInput(f"--ogc-url 应以 http:// 或 https:// 开头：{ogc_url}", "--ogc-url")
    if epsg is not None:
        try:
            CRS.from_epsg(epsg)
        except CRSError:
            raise BadInput(f"未知的坐标系 EPSG:{epsg}", "--crs") from None
    config = settings()
    if ogc_url is None and config.database_url:
        raise BadInput("PostGIS 数据库请用 --ogc-url 指向服务器的 OGC API（项目不保存数据库口令）", "--ogc-url")
    # Opening creates or upgrades the store and writes its default QGIS styles; closing checkpoints it.
    with configured_store(config) as store:
        layers = tuple(store.layers.values())
    gpkg = None
    if ogc_url is None:
        path = Path(config.gpkg_path)
        gpkg = str(path.resolve()) if absolute else gpkg_reference(path, out)
    qgs = project_xml(
        layers,
        title="SafeMap 安全生产风险与应急资源一张图",
        gpkg=gpkg,
        ogc_url=ogc_url,
        extent=config.extent,
        project_epsg=epsg,
        groups=GROUPS,
    )
    write_qgz(out, qgs)
    n = len(project_layers(layers, gpkg=gpkg, ogc_url=ogc_url))
    click.echo(f"QGIS 项目已写入 {out}：{n} 个图层，数据源 {gpkg or ogc_url}")


COMMANDS = (export_qgis_project,)
