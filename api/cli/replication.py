"""``safemap replication …``: report a county's data upward and watch how far behind each county is.

On a county's server ``publish`` publishes its rows (PostgreSQL logical replication); on the
prefecture's (or region's) server ``hub`` prepares the database and ``subscribe CODE DSN``
subscribes to a county; ``status`` prints each county's state and 数据延迟 on either side;
``beat`` writes one heartbeat (``safemap serve`` writes one every few seconds).
"""

from __future__ import annotations

import click

from safemap.api.cli.common import configured_store, dumps

__all__ = ["COMMANDS"]


@click.group("replication")
def replication() -> None:
    """数据上报：区县 → 地区 → 自治区（PostgreSQL 逻辑复制）."""


@replication.command("publish")
def publish() -> None:
    """Publish this county's rows to its hub (run again after an upgrade)."""
    from safemap.api.services import replication as service

    with configured_store() as store:
        out = service.publish(store)
    click.echo(
        f"已发布 {out['county_name']}（{out['county_code']}）的 {out['tables']} 张表：发布名 {out['publication']}"
    )


@replication.command("hub")
@click.option("--publish-prefix", default=None, help="Leading digits of the counties passed on upward (e.g. 6542).")
def hub(publish_prefix: str | None) -> None:
    """Make this database a hub (prefecture or region) that receives counties and publishes on."""
    from safemap.api.services import replication as service

    with configured_store() as store:
        out = service.make_hub(store, publish_prefix)
    click.echo(
        f"已设为上级汇聚库 {out['hub_name']}（{out['hub_code']}）：{out['tables']} 张表，"
        f"向上发布名 {out['publication']}"
    )


@replication.command("subscribe")
@click.argument("county_code")
@click.argument("dsn")
def subscribe(county_code: str, dsn: str) -> None:
    """Subscribe this hub to COUNTY_CODE's database at DSN (libpq: "host=… port=… dbname=… user=…")."""
    from safemap.api.services import replication as service

    with configured_store() as store:
        out = service.subscribe(store, county_code, dsn)
    click.echo(f"已订阅 {out['county_name']}（{out['county_code']}）：订阅名 {out['subscription']}")


@replication.command("resync")
@click.argument("county_code")
@click.argument("dsn")
def resync(county_code: str, dsn: str) -> None:
    """Copy COUNTY_CODE afresh (its primary failed over, or it was restored): its rows here are re-copied."""
    from safemap.api.services import replication as service

    with configured_store() as store:
        out = service.resync(store, county_code, dsn)
    click.echo(f"已重新复制 {out['county_name']}（{out['county_code']}）：订阅名 {out['subscription']}")


@replication.command("beat")
def beat() -> None:
    """Write this county's heartbeat once."""
    from safemap.api.services import replication as service

    with configured_store() as store:
        service.beat(store)
    click.echo("已写入上报心跳")


@replication.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(as_json: bool) -> None:
    """Each county's state and 数据延迟 (on a hub), or the hubs connected (on a county)."""
    from safemap.api.services import replication as service

    with configured_store() as store:
        out = service.status(store)
    if as_json:
        click.echo(dumps(out))
        return
    click.echo(f"本库：{out.get('name', '')}（{out.get('code', '')}），{out['role_label']}")
    if out["counties"]:
        click.echo(f"{'区县':<12}{'代码':<8}{'状态':<10}{'数据延迟':<10}最近心跳")
        for c in out["counties"]:
            click.echo(
                f"{c['county_name']:<12}{c['county_code']:<8}{c['state_label']:<10}{c['lag_label']:<10}{c['last_beat']}"
            )
    for s in out["subscribers"]:
        lag = "—" if s["replay_lag_s"] is None else f"{s['replay_lag_s']:.3f}秒"
        click.echo(
            f"上级订阅 {s['slot']}：{s['connected_label']}，回放延迟 {lag}，未确认 {s['behind_bytes']} 字节，"
            f"保留 WAL {s['retained_bytes']} 字节"
        )


COMMANDS = [replication]
