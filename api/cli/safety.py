"""The planner's tools on the CLI: ``safemap check-distances``, ``site-check``, ``grade-hazards``, ``risk-raster``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from safemap.api.cli.common import (
    BadInput,
    configured_store,
    dumps,
    features_of,
    grade_store,
    parse_bbox,
    settings,
    write_output,
)
from safemap.layers.labels import grade_label, rate_text
from safemap.layers.model import Actor

__all__ = ["COMMANDS", "grade_store"]  # grade_store: kept importable here for older callers


@click.command("check-distances")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "geojson"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def check_distances(fmt: str, output: Path | None) -> None:
    """Every hazard/target pair closer than a separation rule allows (不符合), and what cannot be checked (无法核查)."""
    from safemap.api.reports.safety import checks_csv
    from safemap.api.services.safety import separation_issues, violations
    from safemap.layers.enums import VERDICT_STATUS

    with configured_store() as store:
        # NaN (no shortfall for a pair that cannot be checked) is JSON null, not the invalid NaN.
        feats = [
            {
                **f,
                "properties": {
                    k: None if isinstance(v, float) and math.isnan(v) else v for k, v in f["properties"].items()
                },
            }
            for f in features_of(violations(store))
        ]
        issues = separation_issues(store)
        if fmt == "csv":
            write_output(checks_csv(feats), output)
        elif fmt == "geojson":
            write_output(dumps({"type": "FeatureCollection", "features": feats}), output)
        else:
            failed = [f["properties"] for f in feats if f["properties"]["status"] == "fail"]
            unsure = [f["properties"] for f in feats if f["properties"]["status"] == "cannot_check"]
            lines = [f"安全间距违规 {len(failed)} 处："]
            for p in failed:
                lines.append(
                    f"  {p['hazard_name']} → {p['target_name']}："
                    f"实际 {p['actual_m']:.1f} m < 要求 {p['required_m']:g} m"
                    f"（差 {p['shortfall_m']:.1f} m；{p['standard']} {p['clause']}）"
                )
            unsure_label = VERDICT_STATUS.label("cannot_check")
            lines.append(
                f"{unsure_label} {len(unsure) + len(issues)} 项"
                f"（{len(unsure)} 对危险源与防护目标，{len(issues)} 项规则或危险源）："
            )
            for p in unsure:
                lines.append(
                    f"  {p['hazard_name']} → {p['target_name']}：实际 {p['actual_m']:.1f} m；{p['reason']}"
                    f"（{p['standard']} {p['clause']}）"
                )
            for i in issues:
                lines.append(f"  {i['hazard_name']}：{i['reason']}")
            write_output("\n".join(lines) + "\n", output)


@click.command("grade-hazards")
@click.option("--quiet", is_flag=True, help="Only the summary line.")
def grade_hazards(quiet: bool) -> None:
    """Recompute GB 18218 S, R and grade of every unit and hazard source and store them."""
    with configured_store() as store:
        result = grade_store(store, Actor("cli:grade-hazards", "admin"))
        click.echo(f"已分级 {result['graded']} 个危险源：重大危险源 {result['major']} 个，更新 {result['changed']} 个")
        units = result.get("units", [])
        if units and not quiet:
            click.echo(
                f"其中 {sum(len(u['member_ids']) for u in units)} 个危险源分属 {len(units)} 个危险化学品单元，"
                "按单元整体分级（GB 18218-2018）；构成重大危险源的单元（含单独成单元的危险源）"
                f"{result['major_units']} 个"
            )
        if not quiet:
            for u in result.get("units", []):
                grade = grade_label(u["grade"]) if u["grade"] else "—"
                click.echo(
                    f"  单元{u['id']:>4} {u['name'][:26]:<26} S={u['s_value']:<9.4g} R={u['r_value']:<8.4g} "
                    f"等级 {grade}  500m内 {u['exposed_population']} 人  危险源 {u['member_ids']}"
                )
            for s in result["sources"]:
                grade = grade_label(s["grade"]) if s["grade"] else "—"
                unit = f"  （单元 {s['unit_id']}）" if s.get("unit_id") is not None else ""
                click.echo(
                    f"  {s['id']:>5} {s['name'][:28]:<28} S={s['s_value']:<9.4g} R={s['r_value']:<8.4g} "
                    f"等级 {grade}  500m内 {s['exposed_population']} 人{unit}"
                )
                for w in s.get("warnings", []):
                    click.echo(f"        注意：{w}")


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
    from shapely.geometry import Point

    from safemap.api.reports.safety import checks_csv, report_geojson, site_report_html
    from safemap.api.services.safety import load
    from safemap.api.services.site_check import site_check
    from safemap.api.services.wind import prevailing_wind
    from safemap.gis.site_check import SITE_KINDS

    if kind not in SITE_KINDS:
        raise BadInput(f"没有场所类型 {kind!r}；可选：{', '.join(SITE_KINDS)}", "--kind")
    config = settings()
    if geojson_file is not None:
        geom = _site_geometry(_read_geojson(geojson_file), config.extent, "--geojson")
    elif lon is not None and lat is not None:
        geom = _site_geometry(Point(lon, lat), config.extent, "--lon/--lat")
    else:
        raise BadInput("请给出 --lon 和 --lat，或 --geojson（场所轮廓）")
    overrides: dict[str, Any] = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BadInput(f"应为 属性=值（例如 population=1200），收到 {item!r}", "--set")
        try:
            overrides[key] = float(value)
        except ValueError:
            overrides[key] = value
    with configured_store(config) as store:
        data = load(store)
        wind = prevailing_wind(store) if kind == "fire_station" else None
        result = site_check(data, geom, kind, name=name, overrides=overrides, vicinity_m=vicinity, wind=wind)
        if fmt == "json":
            write_output(dumps(result), output)
        elif fmt == "html":
            write_output(site_report_html(result, data.crs, tz=config.timezone), output)
        elif fmt == "csv":
            write_output(checks_csv(result["checks"]["features"]), output)
        elif fmt == "geojson":
            write_output(dumps(report_geojson(result)), output)
        else:
            s = result["summary"]
            lines = [
                f"{result['site']['properties']['name']}：{s['verdict']}"
                f"（{s['labels']['pass']} {s['passed']} 项，{s['labels']['fail']} {s['failed']} 项，"
                f"{s['labels']['cannot_check']} {s['cannot_check']} 项）"
            ]
            if s["status"] == "cannot_check":
                lines.append(f"  原因：{s['reason']}")
            site = result["site"]["properties"]
            if site.get("gb50156_class_basis_label"):
                cls = site.get("gb50156_class_label")
                lines.append(f"  GB 50156 保护物类别：{cls}（{site['gb50156_class_basis_label']}）")
            elif site.get("gb50156_class_note"):
                lines.append("  GB 50156 保护物类别：未填写，且不能按类别推定（可用 --set gb50156_class=… 填写）")
            marks = {"pass": "✓", "fail": "✗", "cannot_check": "?"}
            for f in result["checks"]["features"]:
                p = f["properties"]
                line = (
                    f"  {marks[p['status']]} {p['status_label']} {p['standard']} {p['clause']} "
                    f"{p['hazard_name']} ↔ {p['target_name']}：实际 {p['actual_m']:.1f} m，要求 {p['required_m']:g} m"
                )
                lines.append(line + (f"；{p['reason']}" if p["status"] == "cannot_check" else ""))
            for u in result["unchecked_rules"]:
                cite = f"（{u['standard']} {u['clause']}）" if u.get("standard") else ""
                lines.append(f"  ? {u['status_label']}：{u['reason']}{cite}")
            risk = result.get("risk") or {}
            if "ir_per_year" in risk:
                ir, limit = rate_text(risk["ir_per_year"], digits=2), rate_text(risk["limit_existing_per_year"])
                lines.append(f"  个人风险 {ir}（在役基准 {limit}）")
            write_output("\n".join(lines) + "\n", output)


def _read_geojson(path: Path) -> Any:
    """The geometry of a GeoJSON geometry or Feature file."""
    from shapely.geometry import shape

    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
        return shape(obj.get("geometry", obj) if obj.get("type") == "Feature" else obj)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise BadInput(f"{path.name} 不是有效的 GeoJSON 几何或要素（{exc}）", "--geojson") from None


def _site_geometry(geom: Any, extent: tuple[float, float, float, float], param: str) -> Any:
    """``geom`` if it is a valid geometry inside the service area."""
    import shapely

    if geom is None or geom.is_empty or not geom.is_valid:
        reason = "空几何" if geom is None or geom.is_empty else shapely.is_valid_reason(geom)
        raise BadInput(f"几何无效：{reason}", param)
    x0, y0, x1, y1 = extent
    b = geom.bounds
    if b[0] < x0 or b[2] > x1 or b[1] < y0 or b[3] > y1:
        raise BadInput(f"超出服务范围（经度 {x0}–{x1}，纬度 {y0}–{y1}）", param)
    return geom


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

    if not cell > 0:
        raise BadInput(f"网格边长应大于 0 m，收到 {cell:g}", "--cell")
    box = parse_bbox(bbox)
    with configured_store() as store:
        try:
            result = risk(store, bbox=box, cell_m=cell)
        except ValueError as exc:  # the grid would be too large
            raise BadInput(f"网格过大：{exc}（请缩小 --bbox 或增大 --cell）", "--cell") from None
        except LookupError as exc:  # no scenario and no bbox
            raise BadInput(str(exc), "--bbox") from None
    write_output(geotiff_bytes(result), output)
    click.echo(
        f"{result.grid.nx}×{result.grid.ny} 个网格，{len(result.scenarios)} 个场景，"
        f"最大个人风险 {rate_text(result.ir.max(), digits=2)}"
    )
    if contours is not None:
        write_output(dumps(contours_geojson(result)), contours)


COMMANDS = (check_distances, grade_hazards, site_check_cmd, risk_raster)
