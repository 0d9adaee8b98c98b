"""``safemap indicators …``: the plan's 专栏1 indicators, their yearly report and plots, the accident density."""

from __future__ import annotations

import io
from pathlib import Path

import click

from safemap.api.cli.common import BadInput, configured_store, settings, write_output
from safemap.layers.csvsafe import csv_writer

__all__ = ["COMMANDS"]

_CSV_COLUMNS = (
    ("label", "指标"),
    ("code", "指标代码"),
    ("year", "年份"),
    ("value", "值"),
    ("unit", "单位"),
    ("numerator", "事故起数或死亡人数"),
    ("denominator", "分母"),
    ("state_label", "状态"),
    ("reason", "说明"),
)


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _out(path: Path, allowed: tuple[str, ...]) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in allowed:
        raise BadInput(f"文件类型应为 {'、'.join('.' + a for a in allowed)}：{path.name}", "--out")
    return suffix


@click.group("indicators")
def indicators() -> None:
    """规划专栏1指标：逐年进度、年度报告、趋势图、事故密度."""


@indicators.command("table")
@click.option("--through", type=int, default=None, help="截至年份（默认：有数据的最近一年）。")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="另存为 CSV。")
def table_cmd(through: int | None, csv_path: Path | None) -> None:
    """Print every indicator year by year with its state (按进度/滞后/无法判断) and reason."""
    from safemap.api.services.indicators import indicator_table

    with configured_store() as store:
        table = indicator_table(store, through)
    lines = [f"规划专栏1指标（截至 {table['through']} 年）"]
    for r in table["indicators"]:
        lines.append("")
        lines.append(f"{r['label']}（{r['unit']}）：{r['latest_state_label']} — {r['latest_reason']}")
        lines.append(
            f"  基准 {r['baseline_year']}年 {_num(r['baseline'])}；目标 {r['target_year']}年 {_num(r['target'])}"
            f"（{r['target_kind_label']}）"
        )
        for y in r["years"]:
            lines.append(f"  {y['year']}年  {_num(y['value']):>8}  {y['state_label']}  {y['reason']}")
    for m in table["missing_years"]:
        lines.append(f"缺少基础数据：{m['year']}年（{'、'.join(m['labels'])}）")
    click.echo("\n".join(lines))
    if csv_path is not None:
        buf = io.StringIO()
        w = csv_writer(buf)
        w.writerow([label for _, label in _CSV_COLUMNS])
        for r in table["indicators"]:
            for y in r["years"]:
                row = {**y, "label": r["label"], "code": r["code"], "unit": r["unit"]}
                w.writerow(["" if row.get(k) is None else row[k] for k, _ in _CSV_COLUMNS])
        write_output(buf.getvalue(), csv_path)


@indicators.command("report")
@click.option("--through", type=int, default=None, help="截至年份（默认：有数据的最近一年）。")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="FILE.html 或 .pdf")
def report_cmd(through: int | None, out: Path) -> None:
    """Write the yearly report as HTML, or as PDF printed by headless Chromium."""
    from safemap.api.reports.indicators import report_html, report_pdf
    from safemap.api.services.indicators import report_inputs
    from safemap.api.services.printing import PrintUnavailable

    kind = _out(out, ("html", "pdf"))
    config = settings()
    with configured_store(config) as store:
        table, png = report_inputs(store, through)
        html = report_html(config.title, table, png, None, tz=store.tz)
    if kind == "html":
        write_output(html, out)
    else:
        try:
            write_output(report_pdf(html, config.chromium_path), out)
        except PrintUnavailable as exc:
            raise BadInput(str(exc), "--out") from None
    click.echo(f"规划指标年度报告：截至 {table['through']} 年")


@indicators.command("plot")
@click.argument("code")
@click.option("--through", type=int, default=None, help="截至年份。")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="FILE.png 或 .svg")
def plot_cmd(code: str, through: int | None, out: Path) -> None:
    """Draw one indicator (CODE, e.g. deaths_per_gdp) against its baseline and target path."""
    from safemap.api.reports.indicators import indicator_plot
    from safemap.api.services.indicators import indicator

    kind = _out(out, ("png", "svg"))
    with configured_store() as store:
        item = indicator(store, code, through)
    write_output(indicator_plot(item, "png" if kind == "png" else "svg"), out)


@indicators.command("density")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="FILE.tif")
@click.option("--cell-m", type=float, default=250.0, show_default=True, help="栅格边长，米（10–5000）。")
@click.option("--radius-m", type=float, default=None, help="搜索半径，米（默认按 ArcGIS Pro 规则）。")
@click.option("--weight", type=click.Choice(["count", "deaths"]), default="count", show_default=True)
@click.option("--since", default=None, help="起始日期（含），如 2021-01-01。")
@click.option("--until", default=None, help="截止日期（含），如 2023-12-31。")
def density_cmd(
    out: Path, cell_m: float, radius_m: float | None, weight: str, since: str | None, until: str | None
) -> None:
    """Write the accidents' kernel density (per km², local UTM) as a GeoTIFF."""
    from safemap.api.services.indicators import density

    _out(out, ("tif", "tiff"))
    with configured_store() as store:
        grid = density(store, cell_m=cell_m, radius_m=radius_m, weight=weight, since=since, until=until)
    write_output(grid["geotiff"], out)
    click.echo(
        f"事故密度：{grid['count']} 起事故，栅格 {grid['cell_m']:g} m，搜索半径 {grid['radius_m']:g} m，"
        f"最大 {grid['max_per_km2']:g} {grid['weight_label']}/km²（EPSG:{grid['epsg']}）"
    )


COMMANDS = (indicators,)
