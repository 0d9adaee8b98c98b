"""The planner's tools on the CLI: ``safemap check-distances``, ``site-check``, ``grade-hazards``, ``risk-raster``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from safemap.layers.errors import LayerError
from safemap.layers.store import Actor, FeatureStore


def _open() -> FeatureStore:
    from safemap.api.http.app import open_configured_store
    from safemap.api.settings import Settings

    return open_configured_store(Settings())


def _write(text: str | bytes, output: Path | None) -> None:
    if output is None:
        if isinstance(text, bytes):
            raise click.UsageError("binary output needs -o FILE")
        click.echo(text, nl=not text.endswith("\n"))
        return
    if isinstance(text, bytes):
        output.write_bytes(text)
    else:
        output.write_text(text, encoding="utf-8")
    click.echo(f"已写入 {output}", err=True)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=1, default=lambda v: v.item() if hasattr(v, "item") else str(v))


def grade_store(store: FeatureStore, actor: Actor | None = None) -> dict[str, Any]:
    """Recompute and store GB 18218 S, R, grade and exposed population of every hazard source."""
    from safemap.api.services.safety import recompute_grades
    from safemap.layers.store import SYSTEM

    return recompute_grades(store, actor or SYSTEM)


@click.command("check-distances")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "geojson"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def check_distances(fmt: str, output: Path | None) -> None:
    """Every hazard/target pair closer than a separation rule allows."""
    from safemap.api.http.routers.safety import _features
    from safemap.api.reports.safety import checks_csv
    from safemap.api.services.safety import violations

    store = _open()
    try:
        frame = violations(store)
        feats = _features(frame)
        if fmt == "csv":
            _write(checks_csv(feats), output)
        elif fmt == "geojson":
            _write(_dumps({"type": "FeatureCollection", "features": feats}), output)
        else:
            lines = [f"安全间距违规 {len(feats)} 处："]
            for f in feats:
                p = f["properties"]
                lines.append(
                    f"  {p['hazard_name']} → {p['target_name']}："
                    f"实际 {p['actual_m']:.1f} m < 要求 {p['required_m']:g} m"
                    f"（差 {p['shortfall_m']:.1f} m；{p['standard']} {p['clause']}）"
                )
            _write("\n".join(lines) + "\n", output)
    finally:
        store.close()


@click.command("grade-hazards")
@click.option("--quiet", is_flag=True, help="Only the summary line.")
def grade_hazards(quiet: bool) -> None:
    """Recompute GB 18218 S, R and grade of every hazard source and store them."""
    store = _open()
    try:
        result = grade_store(store, Actor("cli:grade-hazards", "admin"))
        click.echo(f"已分级 {result['graded']} 个危险源：重大危险源 {result['major']} 个，更新 {result['changed']} 个")
        if not quiet:
            for s in result["sources"]:
                grade = f"{s['grade']}级" if s["grade"] else "—"
                click.echo(
                    f"  {s['id']:>5} {s['name'][:28]:<28} S={s['s_value']:<9.4g} R={s['r_value']:<8.4g} "
                    f"等级 {grade}  500m内 {s['exposed_population']} 人"
                )
    except LayerError as exc:
        click.secho(f"错误：{exc.message}", fg="red", err=True)
        sys.exit(2)
    finally:
        store.close()


@click.command("site-check")
@click.option("--kind", required=True, help="school, hospital, residential, fuel_station, lpg_depot, …")
@click.option("--lon", type=float, default=None, help="Longitude of a point site.")
@click.option("--lat", type=float, default=None, help="Latitude of a point site.")
@click.option(
    "--geojson",
    "geojson_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A GeoJSON geometry or Feature (e.g. the site outline).",
)
@click.option("--name", default=None)
@click.option("--set", "sets", multiple=True, help="property=value, e.g. --set population=1200 --set volume_m3=300")
@click.option(
    "--vicinity",
    type=float,
    default=1000.0,
    show_default=True,
    help="Report passing checks this far beyond the rule (m).",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "html", "csv", "geojson"]), default="table")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def site_check_cmd(
    kind: str,
    lon: float | None,
    lat: float | None,
    geojson_file: Path | None,
    name: str | None,
    sets: tuple[str, ...],
    vicinity: float,
    fmt: str,
    output: Path | None,
) -> None:
    """Check a proposed site of KIND against every separation rule; print or save the report."""
    from shapely.geometry import Point, shape

    from safemap.api.reports.safety import checks_csv, report_geojson, site_report_html
    from safemap.api.services.safety import load
    from safemap.api.services.site_check import site_check
    from safemap.gis.site_check import SITE_KINDS

    if kind not in SITE_KINDS:
        raise click.UsageError(f"--kind: one of {', '.join(SITE_KINDS)}")
    if geojson_file is not None:
        obj = json.loads(geojson_file.read_text(encoding="utf-8"))
        geom = shape(obj.get("geometry", obj) if obj.get("type") == "Feature" else obj)
    elif lon is not None and lat is not None:
        geom = Point(lon, lat)
    else:
        raise click.UsageError("give --lon and --lat, or --geojson")
    overrides: dict[str, Any] = {}
    for item in sets:
        key, _, value = item.partition("=")
        try:
            overrides[key] = float(value)
        except ValueError:
            overrides[key] = value
    store = _open()
    try:
        data = load(store)
        result = site_check(data, geom, kind, name=name, overrides=overrides, vicinity_m=vicinity)
        if fmt == "json":
            _write(_dumps(result), output)
        elif fmt == "html":
            _write(site_report_html(result, data.crs), output)
        elif fmt == "csv":
            _write(checks_csv(result["checks"]["features"]), output)
        elif fmt == "geojson":
            _write(_dumps(report_geojson(result)), output)
        else:
            s = result["summary"]
            lines = [
                f"{result['site']['properties']['name']}：{s['verdict']}"
                f"（核查 {s['checks']} 项，不符合 {s['failed']} 项）"
            ]
            for f in result["checks"]["features"]:
                p = f["properties"]
                mark = "✓" if p["passed"] else "✗"
                lines.append(
                    f"  {mark} {p['standard']} {p['clause']} {p['hazard_name']} ↔ {p['target_name']}："
                    f"实际 {p['actual_m']:.1f} m，要求 {p['required_m']:g} m"
                )
            for u in result["unchecked_rules"]:
                lines.append(f"  ? 未自动核查：{u['rule']}（{u['standard']} {u['clause']}）")
            risk = result.get("risk") or {}
            if "ir_per_year" in risk:
                lines.append(
                    f"  个人风险 {risk['ir_per_year']:.2e}/a（在役基准 {risk['limit_existing_per_year']:.0e}/a）"
                )
            _write("\n".join(lines) + "\n", output)
    finally:
        store.close()


@click.command("risk-raster")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="GeoTIFF file.")
@click.option("--cell", type=float, default=10.0, show_default=True, help="Cell size, m.")
@click.option("--bbox", default=None, help="minlon,minlat,maxlon,maxlat (default: reach of every scenario)")
@click.option(
    "--contours", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also write contours (GeoJSON)."
)
def risk_raster(output: Path, cell: float, bbox: str | None, contours: Path | None) -> None:
    """Write the individual-risk grid (GeoTIFF, UTM, per year) and optionally its GB 36894 contours."""
    from safemap.api.services.risk_raster import contours_geojson, geotiff_bytes
    from safemap.api.services.safety import risk

    store = _open()
    try:
        box = tuple(float(v) for v in bbox.split(",")) if bbox else None
        result = risk(store, bbox=box, cell_m=cell)  # type: ignore[arg-type]
        _write(geotiff_bytes(result), output)
        click.echo(
            f"{result.grid.nx}×{result.grid.ny} 个网格，{len(result.scenarios)} 个场景，"
            f"最大个人风险 {result.ir.max():.2e}/a"
        )
        if contours is not None:
            _write(_dumps(contours_geojson(result)), contours)
    finally:
        store.close()


COMMANDS = (check_distances, grade_hazards, site_check_cmd, risk_raster)
