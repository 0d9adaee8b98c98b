"""``safemap region audit|risk|coverage``: region-wide analyses, in this process or on a Dask cluster.

``--scheduler tcp://host:8786`` (or ``SAFEMAP_DASK_SCHEDULER``) runs the partitions on that
Dask cluster; without it they run here. Both give the same answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from safemap.api.cli.common import BadInput, configured_store, dumps, parse_bbox, settings, write_output
from safemap.api.settings import Settings
from safemap.layers.labels import rate_text

__all__ = ["COMMANDS"]

_SCHEDULER = click.option(
    "--scheduler",
    default=None,
    help="Dask 调度器地址（tcp://主机:8786）；默认取 SAFEMAP_DASK_SCHEDULER，空则在本进程计算",
)
_COUNTIES = click.option("--counties", default=None, help="只算这些县（行政区划代码，逗号分隔）；默认全部")
_JSON = click.option("--json", "as_json", is_flag=True, help="输出 JSON")


def _settings(scheduler: str | None) -> Settings:
    config = settings()
    if scheduler is not None:
        if scheduler and not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            raise BadInput(f"应为 tcp://主机:端口，收到 {scheduler!r}", "--scheduler")
        config = config.model_copy(update={"dask_scheduler": scheduler or None})
    return config


def _run_line(run: dict[str, Any]) -> str:
    return (
        f"计算方式：{run['engine_label']}，{run['workers']} 个进程，{run['partitions']} 个分区，用时 {run['duration']}"
    )


@click.group("region")
def region() -> None:
    """Region-wide analyses (全区分析) over every county: audit, risk raster, coverage."""


@region.command("audit")
@_SCHEDULER
@_COUNTIES
@_JSON
def audit_cmd(scheduler: str | None, counties: str | None, as_json: bool) -> None:
    """Separation audit of every county (全区安全间距核查): pairs 不符合 / 无法核查 per county."""
    from safemap.api.services.region_analysis import audit

    config = _settings(scheduler)
    with configured_store(config) as store:
        result = audit(store, config, counties)
    body = {"summary": result.summary(), "counties": result.counties, "run": result.run.as_dict()}
    if as_json:
        write_output(dumps(body), None)
        return
    s = body["summary"]
    lines = [
        f"全区安全间距核查：不符合 {s['fail']} 对，无法核查 {s['cannot_check']} 对，危险源层面无法核查 {s['issues']} 项"
    ]
    for r in result.counties:
        lines.append(
            f"  {r['county_name']}：防护目标 {r['targets']} 个，危险源 {r['hazard_sources']} 个"
            f"（邻县 {r['halo_sources']} 个），不符合 {r['fail']}，无法核查 {r['cannot_check']}"
        )
    lines.append(_run_line(body["run"]))
    write_output("\n".join(lines) + "\n", None)


@region.command("risk")
@_SCHEDULER
@_JSON
@click.option("--cell", type=float, default=10.0, show_default=True, help="网格边长，m")
@click.option("--bbox", default=None, help="最小经度,最小纬度,最大经度,最大纬度（默认：全部场景影响范围）")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="另存 GeoTIFF")
def risk_cmd(scheduler: str | None, as_json: bool, cell: float, bbox: str | None, output: Path | None) -> None:
    """Individual-risk raster of the region in strips (全区个人风险栅格); the largest risk per county."""
    from safemap.api.services.region_analysis import risk_raster
    from safemap.api.services.risk_raster import geotiff_bytes

    if not cell > 0:
        raise BadInput(f"网格边长应大于 0 m，收到 {cell:g}", "--cell")
    box = parse_bbox(bbox)
    config = _settings(scheduler)
    with configured_store(config) as store:
        try:
            result = risk_raster(store, config, bbox=box, cell_m=cell)
        except ValueError as exc:
            raise BadInput(f"网格过大：{exc}（请缩小 --bbox 或增大 --cell）", "--cell") from None
        except LookupError as exc:
            raise BadInput(str(exc), "--bbox") from None
    if output is not None:
        write_output(geotiff_bytes(result.result), output)
    g = result.result.grid
    body = {
        "grid": {"nx": g.nx, "ny": g.ny, "cell_m": g.cell_m},
        "scenarios": len(result.result.scenarios),
        "max_ir_per_year": float(result.result.ir.max()) if result.result.ir.size else 0.0,
        "counties": result.counties,
        "run": result.run.as_dict(),
    }
    if as_json:
        write_output(dumps(body), None)
        return
    lines = [
        f"{g.nx}×{g.ny} 个网格，{body['scenarios']} 个场景，最大个人风险 {rate_text(body['max_ir_per_year'], digits=2)}"
    ]
    for r in result.counties:
        lines.append(
            f"  {r['county_name']}：防护目标 {r['protected_targets']} 个，"
            f"最大 {rate_text(r['max_ir_per_year'], digits=2)}"
        )
    lines.append(_run_line(body["run"]))
    write_output("\n".join(lines) + "\n", None)


@region.command("coverage")
@_SCHEDULER
@_COUNTIES
@_JSON
@click.option("--vehicle", default="fire_engine", show_default=True, help="车辆类型")
def coverage_cmd(scheduler: str | None, counties: str | None, as_json: bool, vehicle: str) -> None:
    """Coverage of the fire teams per county (全区救援覆盖) within the standard response time."""
    from safemap.api.services.region_analysis import coverage

    config = _settings(scheduler)
    with configured_store(config) as store:
        result = coverage(store, config, vehicle=vehicle, counties=counties)
    body = {
        "standard_min": round(result.standard_s / 60.0, 2),
        "counties": result.counties,
        "run": result.run.as_dict(),
    }
    if as_json:
        write_output(dumps(body), None)
        return
    lines = [f"全区救援覆盖（标准 {body['standard_min']:g} 分钟）："]
    for r in result.counties:
        share = "—" if r["share"] is None else f"{r['share'] * 100:.1f}%"
        lines.append(
            f"  {r['county_name']}：对象 {r['sites']} 个，覆盖 {r['covered']} 个（{share}），"
            f"不可达 {r['unreachable']} 个"
        )
    lines.append(_run_line(body["run"]))
    write_output("\n".join(lines) + "\n", None)


COMMANDS = [region]
