"""``safemap incident …``: register and follow incidents from the command line.

``create`` (接警), ``list``, ``status`` (forward only), ``note``, ``zone`` (model the hazard
zone; a plume's stability from ``--cloud``), ``exposure`` (who is inside; table, CSV, XLSX or
JSON), ``timeline`` and ``report`` (the printable 处置记录). Each parses its options, calls
:mod:`safemap.api.services.incidents` and prints in Chinese; bad input exits with code 2
naming the option.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from safemap.api.cli.common import BadInput, cli_actor, configured_store, dumps, write_output

__all__ = ["COMMANDS"]


@click.group("incident")
def incident() -> None:
    """应急事件：接警登记、状态、危险区、影响范围、时间线、处置记录."""


def _when(text: str | None, param: str) -> dt.datetime | None:
    if text is None:
        return None
    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"时间应为 ISO 格式，如 2026-12-01T03:00，收到“{text}”", param) from None


@incident.command("create")
@click.option("--kind", required=True, help="事件类型：代码或中文（火灾、爆炸、泄漏中毒、交通事故、矿山事故、其他）")
@click.option("--at", "coords", default=None, help="坐标：'82.98, 46.20' 或 '82°59′06″E 46°12′18″N'")
@click.option("--crs", type=click.Choice(["WGS84", "CGCS2000"]), default="WGS84", show_default=True)
@click.option(
    "--place-layer",
    default=None,
    help="按要素定位：enterprises、hazard_sources、townships、protected_targets、roads、settlements",
)
@click.option("--place", default=None, help="要素名称（或 --place-id 编号）")
@click.option("--place-id", type=int, default=None)
@click.option("--substance", default=None)
@click.option("--quantity-t", type=float, default=None, help="估计泄漏/涉及量（吨）")
@click.option("--reporter", default=None)
@click.option("--phone", default=None)
@click.option("--reported-at", default=None, help="接报时间（ISO；不带时区按 SAFEMAP_TIMEZONE）")
@click.option("--description", default=None)
@click.option("--by", "by", default=None, help="记录人（默认 cli:<用户名>）")
@click.option("--json", "as_json", is_flag=True)
def create(
    kind: str,
    coords: str | None,
    crs: str,
    place_layer: str | None,
    place: str | None,
    place_id: int | None,
    substance: str | None,
    quantity_t: float | None,
    reporter: str | None,
    phone: str | None,
    reported_at: str | None,
    description: str | None,
    by: str | None,
    as_json: bool,
) -> None:
    """接警：登记一起事件（状态为“接警”）."""
    from safemap.api.services.incidents import IncidentInput
    from safemap.api.services.incidents import create as create_incident

    if (coords is None) == (place_layer is None):
        raise BadInput("请给出 --at 坐标，或 --place-layer 与 --place/--place-id（二者取一）", "--at")
    if quantity_t is not None and not 0 <= quantity_t <= 1_000_000:
        raise BadInput(f"应在 0–1000000 t 之间，收到 {quantity_t:g}", "--quantity-t")
    body = IncidentInput(
        kind=kind,
        location_text=coords,
        crs=crs,
        place=None if place_layer is None else {"layer": place_layer, "id": place_id, "name": place},
        substance=substance,
        quantity_t=quantity_t,
        reporter=reporter,
        phone=phone,
        reported_at=_when(reported_at, "--reported-at"),
        description=description,
    )
    with configured_store() as store:
        feature = create_incident(store, cli_actor(by), body)
    if as_json:
        click.echo(dumps(feature))
        return
    p = feature["properties"]
    lon, lat = feature["geometry"]["coordinates"]
    click.echo(f"已接警：事件 {feature['id']}  {p['name']}  {p['kind_label']}  状态 {p['status_label']}")
    click.echo(f"  位置 {lon:.5f}, {lat:.5f}  {p.get('location_text') or ''}")
    for note in feature.get("notes", []):
        click.echo(f"  {note}")


@incident.command("list")
@click.option("--status", default=None, help="状态代码或中文，逗号分隔；active 为未结束")
@click.option("--json", "as_json", is_flag=True)
def list_(status: str | None, as_json: bool) -> None:
    """事件列表（最新接报在前）."""
    from safemap.api.services.incidents import list_incidents, parse_statuses

    with configured_store() as store:
        feats = list_incidents(store, parse_statuses(status))
    if as_json:
        click.echo(dumps({"type": "FeatureCollection", "features": feats}))
        return
    click.echo(f"事件 {len(feats)} 起：")
    for f in feats:
        p = f["properties"]
        click.echo(f"  {f['id']:>4}  {p['status_label']:<4}  {p['kind_label']:<5}  {p['reported_at']}  {p['name']}")


@incident.command("status")
@click.argument("incident_id", type=int)
@click.argument("status")
@click.option("--note", default=None)
@click.option("--version", type=int, default=None, help="所见版本（已被他人修改时拒绝）")
@click.option("--by", "by", default=None)
def status_(incident_id: int, status: str, note: str | None, version: int | None, by: str | None) -> None:
    """变更状态（只能向前：接警 → 核实 → 处置中 → 结束）."""
    from safemap.api.services.incidents import set_status

    with configured_store() as store:
        f = set_status(store, cli_actor(by), incident_id, status, note=note, version=version)
    click.echo(f"事件 {incident_id} 状态：{f['properties']['status_label']}（版本 {f['properties']['version']}）")


@incident.command("note")
@click.argument("incident_id", type=int)
@click.argument("text")
@click.option("--by", "by", default=None)
def note(incident_id: int, text: str, by: str | None) -> None:
    """添加处置记录."""
    from safemap.api.services.incidents import add_note

    with configured_store() as store:
        entry = add_note(store, cli_actor(by), incident_id, text)
    click.echo(f"已记录（{entry['at']}）：{entry['text']}")


@incident.command("zone")
@click.argument("incident_id", type=int)
@click.option("--model", type=click.Choice(["gaussian_plume", "vce", "bleve", "pool_fire"]), required=True)
@click.option("--substance", default=None, help="物质（默认取事件登记的物质）")
@click.option("--rate", "rate_kg_s", type=float, default=None, help="烟羽：泄漏速率 kg/s")
@click.option("--wind", "wind_m_s", type=float, default=None, help="烟羽：风速 m/s")
@click.option("--wind-from", "wind_from_deg", type=float, default=None, help="风向（来向，度）；默认县域主导风向")
@click.option("--stability", type=click.Choice(list("ABCDEF")), default=None, help="稳定度；省略时按 --cloud 推定")
@click.option("--cloud", default=None, help="云量：0–8 或 晴/少云/多云/阴")
@click.option("--time", "at", default=None, help="推定稳定度所用时间（ISO，默认现在）")
@click.option("--fuel-kg", "fuel_mass_kg", type=float, default=None, help="VCE：可燃物质量 kg")
@click.option("--capacity-kg", "capacity_kg", type=float, default=None, help="BLEVE：储罐内物质质量 kg")
@click.option("--pool-area", "area_m2", type=float, default=None, help="池火：液池面积 m²")
@click.option("--by", "by", default=None)
@click.option("--json", "as_json", is_flag=True)
def zone(
    incident_id: int, model: str, cloud: str | None, at: str | None, by: str | None, as_json: bool, **opts: Any
) -> None:
    """危险区建模（使用事件位置；结果保存为新版本危险区）."""
    from safemap.api.services.incident_zones import model_zone

    needed = {
        "gaussian_plume": ("rate_kg_s", "wind_m_s"),
        "vce": ("fuel_mass_kg",),
        "bleve": ("capacity_kg",),
        "pool_fire": ("area_m2",),
    }[model]
    flags = {
        "rate_kg_s": "--rate",
        "wind_m_s": "--wind",
        "fuel_mass_kg": "--fuel-kg",
        "capacity_kg": "--capacity-kg",
        "area_m2": "--pool-area",
    }
    for key in needed:
        if opts.get(key) is None:
            raise BadInput(f"模型 {model} 需要此参数", flags[key])
    if model == "gaussian_plume":
        if not 0.5 <= opts["wind_m_s"] <= 30:
            raise BadInput(f"风速应在 0.5–30 m/s（静风不适用高斯模型），收到 {opts['wind_m_s']:g}", "--wind")
        if opts.get("wind_from_deg") is not None and not 0 <= opts["wind_from_deg"] < 360:
            raise BadInput("风向应在 0–360° 之间", "--wind-from")
        if opts.get("stability") is None and cloud is None:
            raise BadInput("请给出大气稳定度 --stability（A–F），或给出云量 --cloud 由系统推定", "--cloud")
    cloud_value: Any = cloud
    if cloud is not None and cloud.strip().isdigit():
        cloud_value = int(cloud)
    plume_only = ("rate_kg_s", "wind_m_s", "wind_from_deg", "stability")
    values = {"model": model, "substance": opts.get("substance")}
    for key in (*needed, "wind_from_deg", "stability"):
        if model == "gaussian_plume" or key not in plume_only:
            values[key] = opts.get(key)
    with configured_store() as store:
        record = model_zone(store, cli_actor(by), incident_id, values, cloud_cover=cloud_value, at=_when(at, "--time"))
    if as_json:
        click.echo(dumps(record))
        return
    click.echo(f"事件 {incident_id} 危险区第 {record['seq']} 版：{record['model_label']}")
    if record.get("stability"):
        derived = record["inputs"].get("stability_derived")
        click.echo(f"  稳定度 {record['stability']}" + (f"：{derived['explanation']}" if derived else ""))
    if record.get("wind"):
        click.echo(f"  风向：{record['wind'].get('description')}")
    for b in record["bands"]:
        click.echo(f"  {b['label']}")


@incident.command("exposure")
@click.argument("incident_id", type=int)
@click.option("--zone-id", type=int, default=None)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "xlsx", "json"]), default="table", show_default=True
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def exposure(incident_id: int, zone_id: int | None, fmt: str, output: Path | None) -> None:
    """危险区内的人员、防护目标、居民点、企业联系人和救援力量（按分区）."""
    from safemap.api.reports.incident import exposure_csv, exposure_xlsx
    from safemap.api.services.exposure import exposure as find
    from safemap.api.services.exposure import exposure_rows

    if fmt == "xlsx" and output is None:
        raise BadInput("xlsx 需要 -o 文件名", "--output")
    with configured_store() as store:
        result = find(store, incident_id, zone_id)
    if fmt == "json":
        write_output(dumps(result), output)
    elif fmt == "csv":
        write_output(exposure_csv(exposure_rows(result)), output)
    elif fmt == "xlsx":
        write_output(exposure_xlsx(exposure_rows(result)), output)
    else:
        t = result["totals"]
        lines = [
            f"事件 {incident_id} 危险区第 {result['zone']['seq']} 版：防护目标登记人数 {t['population']} 人，"
            f"学校/医院等 {t['schools_hospitals']} 处，企业 {t['counts']['enterprises']} 家，"
            f"区内救援队伍 {t['counts']['rescue_teams']} 支、储备库 {t['counts']['material_depots']} 个"
        ]
        for band in result["bands"]:
            lines.append(f"【{band['label']}】{band['population']} 人")
            for item in band["protected_targets"]:
                lines.append(f"  防护目标 {item['name']}（{item['category_label']}）{item['population'] or ''}人")
            for item in band["enterprises"]:
                lines.append(f"  企业 {item['name']} 联系人 {item['contact'] or '—'} {item['phone'] or ''}")
            for key, label in (("settlements", "居民点"), ("rescue_teams", "救援队伍"), ("material_depots", "储备库")):
                for item in band[key]:
                    lines.append(f"  {label} {item['name']}")
        write_output("\n".join(lines) + "\n", output)


@incident.command("timeline")
@click.argument("incident_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def timeline(incident_id: int, as_json: bool) -> None:
    """事件时间线."""
    from safemap.api.services.incidents import timeline as read

    with configured_store() as store:
        entries = read(store, incident_id)
    if as_json:
        click.echo(dumps(entries))
        return
    for e in entries:
        click.echo(f"{e['at']}  {e['kind_label']:<5}  {e['actor']}  {e['text']}")


@incident.command("report")
@click.argument("incident_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def report(incident_id: int, output: Path | None) -> None:
    """打印处置记录（HTML）."""
    from safemap.api.services.incident_report import report_html
    from safemap.api.services.network import NetworkService

    with configured_store() as store:
        html = report_html(store, incident_id, NetworkService())
    write_output(html, output)


COMMANDS = (incident,)
