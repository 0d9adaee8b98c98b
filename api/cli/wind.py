"""``safemap wind``: the county's wind rose and prevailing wind; ``--lon/--lat`` checks a fire station (建标152)."""

from __future__ import annotations

import click

from safemap.api.cli.common import BadInput, configured_store, dumps, settings
from safemap.layers.labels import distance_text

__all__ = ["COMMANDS"]

BAR_WIDTH = 30


def _rose_text(summary: dict) -> list[str]:
    lines = ["县域风向玫瑰（风向为来向，正北为 0°，顺时针）："]
    top = max([r["frequency_pct"] for r in summary["rose"]] + [1e-9])
    for r in summary["rose"]:
        bar = "█" * round(BAR_WIDTH * r["frequency_pct"] / top) if top > 0 else ""
        speed = "" if r["mean_speed_m_s"] is None else f"  平均 {r['mean_speed_m_s']:.1f} m/s"
        pad = " " * (10 - 2 * len(r["name"]))  # CJK characters are two columns wide
        head = f"  {r['name']}{pad}{r['sector']:<4}{r['from_deg']:>6.1f}° {r['frequency_pct']:>5.1f}%"
        lines.append(f"{head}  {bar}{speed}")
    lines.append(f"  静风      C   {'':>7} {summary['calm_pct']:>5.1f}%")
    lines.append(f"  合计          {'':>7} {summary['total_pct']:>5.1f}%")
    prev = summary["prevailing"]
    if prev is None:
        lines.append("常年主导风向：无（风向玫瑰为空或全为静风）")
    else:
        lines.append(f"常年主导风向：{prev['label']}，频率 {prev['frequency_pct']:g}%（吹向 {prev['towards_deg']:g}°）")
    lines.append(f"数据来源：{summary['source'] or '—'}")
    lines.extend(f"注意：{w}" for w in summary["warnings"])
    return lines


@click.command("wind")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option("--lon", type=float, default=None, help="Longitude of a fire station to check (建标152 上风/侧风).")
@click.option("--lat", type=float, default=None, help="Latitude of that station.")
@click.option("--vicinity", type=float, default=1000.0, show_default=True, help="Hazardous sites within this many m.")
def wind(as_json: bool, lon: float | None, lat: float | None, vicinity: float) -> None:
    """The county's wind rose and prevailing wind (常年主导风向); optionally check a fire station."""
    import shapely

    from safemap.api.services.wind import fire_station_wind_checks, prevailing_wind

    if (lon is None) != (lat is None):
        raise BadInput("请同时给出 --lon 和 --lat", "--lon" if lon is None else "--lat")
    if vicinity < 0 or vicinity > 20_000:
        raise BadInput(f"核查范围应在 0–20000 m 之间，收到 {vicinity:g}", "--vicinity")
    if lon is not None and lat is not None:
        x0, y0, x1, y1 = settings().extent
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):
            raise BadInput(f"({lon}, {lat}) 超出服务范围（经度 {x0}–{x1}，纬度 {y0}–{y1}）", "--lon")
    with configured_store() as store:
        summary = prevailing_wind(store)
        checks = None
        if lon is not None and lat is not None:
            checks = fire_station_wind_checks(store, shapely.Point(lon, lat), vicinity, wind=summary)
    if as_json:
        click.echo(dumps(summary if checks is None else {**summary, "checks": checks}))
        return
    lines = _rose_text(summary)
    if checks is not None:
        status = {"pass": "符合", "fail": "不符合", "cannot_check": "无法核查"}
        where = f"消防站 ({lon}, {lat}) 周边 {distance_text(vicinity)} 内"
        lines.append(f"{where}危险化学品场所 {len(checks)} 处（建标152 上风或侧风）：")
        for c in checks:
            dist = distance_text(c["distance_m"])
            lines.append(f"  [{status[c['status']]}] {c['target_name'] or '—'}（{dist}）：{c['reason']}")
    click.echo("\n".join(lines))


COMMANDS = (wind,)
