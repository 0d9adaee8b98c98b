"""Commands of issue 18 (tailings): ``safemap tailings breach`` and ``safemap dem load|info``.

``tailings breach`` prints the Chinese summary of a dam breach analysis
(:mod:`safemap.api.services.tailings`) and can save the path, corridor and affected places as
GeoJSON. ``dem load`` reprojects a real elevation model (GeoTIFF in any CRS) to the county's UTM
zone and makes it the DEM in use (:func:`safemap.layers.dem.load_dem`); ``dem info`` says which
DEM is in use and whether it is synthetic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from safemap.api.cli.common import BadInput, configured_store, dumps, settings, write_output

SYNTHETIC_TEXT = {True: "是（合成演示数据，不是实测地形）", False: "否"}


def _choose(ponds: list[dict[str, Any]], pond: str | None) -> dict[str, Any]:
    if not ponds:
        raise BadInput("库中没有尾矿库（危险源类型为尾矿库的记录）", "POND")
    if pond is None:
        if len(ponds) == 1:
            return ponds[0]
        names = "；".join(f"{p['id']} {p['name']}" for p in ponds)
        raise BadInput(f"有 {len(ponds)} 个尾矿库，请给出编号或名称：{names}", "POND")
    text = pond.strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    by_id = text.isdigit()
    hit = [p for p in ponds if (p["id"] == int(text) if by_id else text in p["name"])]
    if len(hit) != 1:
        names = "；".join(f"{p['id']} {p['name']}" for p in ponds)
        found = "没有" if not hit else f"有 {len(hit)} 个"
        raise BadInput(f"{found}与“{pond}”相符的尾矿库；尾矿库有：{names}", "POND")
    return hit[0]


def _features(result: dict[str, Any]) -> dict[str, Any]:
    feats = [
        {**result["path"], "properties": {**result["path"]["properties"], "kind": "path", "名称": "溃坝流路"}},
        {
            **result["corridor"],
            "properties": {**result["corridor"]["properties"], "kind": "corridor", "名称": "淹没范围"},
        },
    ]
    for key, word in (("settlements", "居民点"), ("targets", "防护目标"), ("roads", "道路")):
        for item in result[key]:
            props = {k: v for k, v in item.items() if k not in ("lon", "lat")}
            feats.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [item["lon"], item["lat"]]},
                    "properties": {**props, "kind": key, "类别": word},
                }
            )
    return {
        "type": "FeatureCollection",
        "features": feats,
        "runout": result["runout"],
        "dem": result["dem"],
        "synthetic": result["synthetic"],
    }


@click.group("tailings")
def tailings() -> None:
    """尾矿库溃坝分析."""


@tailings.command("breach")
@click.argument("pond", required=False)
@click.option("--lon", type=float, default=None, help="溃口经度（默认库区边界最低点）")
@click.option("--lat", type=float, default=None, help="溃口纬度")
@click.option("--released-m3", type=float, default=None, help="下泄量 m³（默认按经验公式估算）")
@click.option(
    "--geojson",
    "geojson_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="把流路、淹没范围和受影响对象写入此 GeoJSON 文件",
)
def breach(
    pond: str | None, lon: float | None, lat: float | None, released_m3: float | None, geojson_file: Path | None
) -> None:
    """溃坝流路、淹没范围与到达时间（POND：尾矿库编号或名称；只有一个时可省略）."""
    from safemap.api.services import tailings as service

    if (lon is None) != (lat is None):
        raise BadInput("溃口经度和纬度须同时给出", "--lon/--lat")
    if released_m3 is not None and released_m3 <= 0:
        raise BadInput("下泄量应大于 0", "--released-m3")
    with configured_store() as store:
        chosen = _choose(service.ponds(store), pond)
        where = (lon, lat) if lon is not None and lat is not None else None
        result = service.breach(store, chosen["id"], breach_lonlat=where, released_m3=released_m3)
    click.echo(result["summary"])
    if geojson_file is not None:
        write_output(dumps(_features(result)), geojson_file)
        click.echo(f"已写入 {geojson_file}")


@click.group("dem")
def dem() -> None:
    """高程数据（DEM）：导入与查看."""


@dem.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def dem_load(file: Path) -> None:
    """导入 GeoTIFF 高程数据（任意坐标系），投影到本县 UTM 带后作为在用 DEM."""
    from safemap.layers.dem import load_dem, loaded_dem_dir, utm_crs

    x0, y0, x1, y1 = settings().extent
    crs = utm_crs((x0 + x1) / 2.0, (y0 + y1) / 2.0)
    try:
        record = load_dem(file, crs)
    except ValueError as exc:
        raise BadInput(str(exc), "FILE") from None
    cell = record["cell_m"]
    click.echo(
        f"已导入高程数据 {record['source']}：{record['source_crs']} → {record['crs']}，"
        f"格网 {record['size'][0]}×{record['size'][1]}，像元 {cell[0]:.1f}×{cell[1]:.1f} m；"
        f"合成数据：{SYNTHETIC_TEXT[bool(record['synthetic'])]}"
    )
    click.echo(f"保存于 {loaded_dem_dir()}（来源记录 dem.json）")


@dem.command("info")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
def dem_info(as_json: bool) -> None:
    """显示在用的高程数据及其是否为合成数据."""
    from safemap.layers.dem import provenance

    info = provenance()
    if as_json:
        click.echo(dumps(info))
        return
    origins = {"env": "环境变量 SAFEMAP_DEM_PATH", "loaded": "safemap dem load 导入", "demo": "演示县合成 DEM"}
    if not info["exists"]:
        click.echo(f"在用高程数据：{info['path']}（文件不存在）")
        return
    cell = info["cell_m"]
    lines = [
        f"在用高程数据：{info['path']}",
        f"来源：{origins[info['origin']]}（{info['source']}）",
        f"合成数据：{SYNTHETIC_TEXT[bool(info['synthetic'])]}",
        f"坐标系 {info['crs']}，格网 {info['size'][0]}×{info['size'][1]}，像元 {cell[0]:.1f}×{cell[1]:.1f} m",
    ]
    loaded = info.get("loaded")
    if loaded:
        lines.append(
            f"导入时间 {loaded['loaded_at']}，原坐标系 {loaded['source_crs']}，SHA-256 {loaded['sha256'][:16]}…"
        )
    click.echo("\n".join(lines))


COMMANDS: list[click.Command] = [tailings, dem]
