"""``safemap warnings …`` (templates, send, deliver, list) and ``safemap incident evacuation INCIDENT_ID``."""

from __future__ import annotations

import time

import click

from safemap.api.cli.common import BadInput, cli_actor, configured_store, dumps, settings
from safemap.api.cli.incidents import incident
from safemap.layers.labels import distance_text, duration_text

__all__ = ["COMMANDS"]


@click.group("warnings")
def warnings_group() -> None:
    """预警信息发布：模板、送达（发送队列）与记录."""


@warnings_group.command("templates")
def templates() -> None:
    """预警模板及其占位符；本机已配置的发布渠道."""
    from safemap.api.services.warnings import templates as list_templates
    from safemap.api.settings import channel_config

    config = settings()
    with configured_store(config) as store:
        found = list_templates(store)
    for t in found:
        marks = "、".join("{" + p + "}" for p in t["placeholders"])
        click.echo(f"{t['code']:<18}{t['name']}  占位符：{marks}")
    for code, status in channel_config(config).status().items():
        click.echo(f"渠道 {code}：{'已配置' if status['configured'] else '未配置（' + str(status['reason']) + '）'}")


@warnings_group.command("deliver")
@click.option("--forever", is_flag=True, help="Keep running (a standalone worker) instead of one round.")
@click.option("--interval", type=click.FloatRange(0.1, 3600), default=None, help="Seconds between rounds.")
def deliver(forever: bool, interval: float | None) -> None:
    """发送已到时间的待发预警（电子邮件、Webhook 网关）；失败按退避间隔重试."""
    from safemap.api.settings import delivery_worker

    config = settings()
    with configured_store(config) as store:
        worker = delivery_worker(config, store)
        while True:
            counts = worker.run_until_idle()
            click.echo(
                f"本轮：领取 {counts['claimed']}，已发送 {counts['sent']}，待重试 {counts['retrying']}，"
                f"失败 {counts['failed']}；仍待发送（已到时间）{worker.due_count()}"
            )
            if not forever:
                break
            time.sleep(interval or config.warning_worker_interval_s)


@warnings_group.command("send")
@click.argument("incident_id", type=click.IntRange(1))
@click.option("--template", "template", required=True, help="Template code (safemap warnings templates).")
@click.option("--band", "bands", multiple=True, help="Band label of the current zone (repeat; default: all).")
@click.option(
    "--channel",
    "channels",
    multiple=True,
    type=click.Choice(["email", "webhook", "call_list"]),
    help="Channel (repeat; default: call_list).",
)
@click.option("--value", "values", multiple=True, help="Placeholder value 名=值, e.g. --value 物质=氯气 (repeat).")
@click.option("--preview", is_flag=True, help="Show the text and the recipients; store nothing.")
@click.option("--key", default=None, help="Idempotency key (a repeat with the same key sends nothing new).")
@click.option("--by", default=None, help="Name recorded as the sender (default cli:<user>).")
def send(
    incident_id: int,
    template: str,
    bands: tuple[str, ...],
    channels: tuple[str, ...],
    values: tuple[str, ...],
    preview: bool,
    key: str | None,
    by: str | None,
) -> None:
    """按模板生成预警，向当前危险区所选分区内的对象发布（--preview 只预览）."""
    from safemap.api.services import warnings as service
    from safemap.api.settings import channel_config

    pairs = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise BadInput(f"应为 名=值（如 物质=氯气），收到 {item!r}", "--value")
        pairs[name.strip()] = value.strip()
    config = settings()
    with configured_store(config) as store:
        zone = service.incident_zone(store, incident_id)
        req = service.WarningRequest(
            template=template,
            bands=tuple(bands) or tuple(b.label for b in zone.bands),
            channels=tuple(channels) or ("call_list",),
            values=pairs,
            preview=preview,
            idempotency_key=None if key is None else f"client:{key}",
        )
        created, result = service.send_warning(store, cli_actor(by), incident_id, zone, req, channel_config(config))
    click.echo(f"{result['title']}\n{result['message']}")
    if preview:
        for r in result["recipient_list"]:
            click.echo(
                f"  [{r['band']}] {r['organisation'] or ''} {r['name']}（{r['role_label']}）{r['phone'] or '无电话'}"
            )
        click.echo(f"接收对象 {result['recipients']} 个（仅预览，未发送）")
        return
    w = result["warning"]
    state = "已登记" if created else "与已发布的预警相同，未重复发送"
    click.echo(f"预警 {w['id']} {state}：接收对象 {result['recipients']} 个，送达记录 {len(result['deliveries'])} 条")


@warnings_group.command("list")
@click.argument("incident_id", type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def list_warnings(incident_id: int, as_json: bool) -> None:
    """事件的预警记录及送达情况."""
    from safemap.api.services.warnings import list_warnings as listing

    with configured_store() as store:
        found = listing(store, incident_id)
        tz = store.tz
    if as_json:
        click.echo(dumps(found))
        return
    for w in found:
        p = w["warning"]
        counts = "，".join(f"{k} {v}" for k, v in w["counts"].items() if v)
        when = p["created_at"].astimezone(tz).strftime("%m-%d %H:%M:%S")
        click.echo(f"[{p['id']}] {when} {p['title']}（{'、'.join(p['bands'])}）：{counts}")


@click.command("evacuation")
@click.argument("incident_id", type=click.IntRange(1))
@click.option("--vehicle", default=None, help="Vehicle profile of the evacuation transport (default: any road).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def evacuation(incident_id: int, vehicle: str | None, as_json: bool) -> None:
    """疏散安置：危险区内人员按道路就近安置到区外避难场所（不超过容量）."""
    from safemap.api.services import evacuation as service
    from safemap.api.services.network import NetworkService

    with configured_store() as store:
        result = service.incident_evacuation(store, NetworkService(), incident_id, vehicle=vehicle)
    if as_json:
        click.echo(dumps(result))
        return
    click.echo(f"危险区内 {result['origins']} 处、{result['people']} 人；已安置 {result['assigned']} 人。")
    for a in result["assignments"]:
        o, s = a["origin"], a["shelter"]
        route = f"{distance_text(a['distance_m'])}，{duration_text(a['duration_s'])}"
        click.echo(f"  {o['name']} {a['people']} 人 → {s['name']}：{route}")
    for u in result["unassigned"]:
        click.echo(f"  未安置：{u['origin']['name']} {u['people']} 人（{u['reason']}）")


# `safemap incident evacuation ID`, beside the other incident commands (their group, our command).
incident.add_command(evacuation)

COMMANDS = (warnings_group,)
