"""``safemap simulate`` (synthetic live data) and ``safemap live …`` (status, sweep, prune, alarms)."""

from __future__ import annotations

import datetime as dt
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import click
import orjson
from click.decorators import FC

from safemap.api.cli.common import cli_actor, configured_store, fail, settings
from safemap.layers.errors import LayerError
from safemap.layers.labels import duration_text

__all__ = ["COMMANDS"]


def _post(url: str, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url.rstrip("/") + path,
        data=orjson.dumps(body),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return dict(orjson.loads(answer.read()))
    except urllib.error.HTTPError as exc:
        raise click.ClickException(f"服务器拒绝（{exc.code}）：{exc.read()[:300].decode('utf-8', 'replace')}") from None
    except OSError as exc:
        raise click.ClickException(
            f"无法连接 {url}：{exc}（先运行 safemap serve，或不带 --url 直接写入数据库）"
        ) from None


def _range_option(
    name: str, low: float, high: float | None, default: float, help: str, *, show_default: bool | None = True
) -> Callable[[FC], FC]:
    """A ``--name`` option taking a float in ``[low, high]`` (no upper bound when ``high`` is ``None``).

    Parameters
    ----------
    name
        The option, e.g. ``--minutes``.
    low, high
        The closed range of accepted values (:class:`click.FloatRange`).
    default
        The value when the option is not given.
    help
        The help text.
    show_default
        Whether ``--help`` shows the default (``None``: click's own default, not shown).

    Returns
    -------
    Callable
        The :func:`click.option` decorator.
    """
    return click.option(name, type=click.FloatRange(low, high), default=default, show_default=show_default, help=help)


@click.command("simulate")
@_range_option("--minutes", 1, 7 * 24 * 60, 60.0, "Simulated time to produce.")
@_range_option("--speed", 0, 3600, 1.0, "Simulated seconds per real second (0: as fast as possible).")
@_range_option("--interval", 1, 3600, 10.0, "Seconds between two readings of a sensor.")
@_range_option(
    "--backfill-hours",
    0,
    24 * 7,
    0.0,
    "Start this many hours in the past (fills the 24 h trend charts quickly with --speed 0).",
    show_default=None,
)
@_range_option("--leak-after", 0, None, 120.0, "Seconds into the run when the slow leak starts.")
@click.option("--url", default=None, help="Post to a running server (http://127.0.0.1:8000) instead of the store.")
@click.option("--token", default=None, help="Device token for --url.")
@click.option("--mqtt", "mqtt_url", default=None, help="Publish to this broker (mqtt://host:port) instead.")
def simulate(
    minutes: float,
    speed: float,
    interval: float,
    backfill_hours: float,
    leak_after: float,
    url: str | None,
    token: str | None,
    mqtt_url: str | None,
) -> None:
    """模拟实时数据（合成）：传感器读数（含一次缓慢泄漏越过报警值）和危险货物运输车行驶轨迹."""
    from safemap.api.services import simulator
    from safemap.api.services.ingest import ingest_for
    from safemap.api.services.live_registry import registry

    if url and not token:
        raise click.BadParameter(
            "使用 --url 时须给出设备令牌 --token（safemap token create 名称 --role device 生成）", param_hint="--token"
        )
    config = settings()
    with configured_store(config) as store:
        reg = registry(store)
        if not reg.sensors and not reg.vehicles:
            raise click.ClickException("没有登记的传感器和车辆；先运行 safemap demo")
        # As fast as possible (--speed 0) the run covers the past, ending now: the ingest refuses the future.
        back = dt.timedelta(hours=backfill_hours) + (dt.timedelta(minutes=minutes) if speed == 0 else dt.timedelta())
        start = dt.datetime.now(dt.UTC).replace(microsecond=0) - back
        plan = simulator.Plan(start=start, duration_s=minutes * 60, interval_s=interval, leak_after_s=leak_after)
        ingest = ingest_for(store, max_age=dt.timedelta(days=max(config.ingest_max_age_days, backfill_hours / 24 + 1)))
        publisher = _mqtt_publisher(mqtt_url) if mqtt_url else None
        leak = simulator.leak_sensor(reg)
        if leak is not None:
            click.echo(f"缓慢泄漏：{reg.sensors[leak].get('name')}，{duration_text(leak_after)}后开始（合成数据）")
        began = time.monotonic()
        totals = {"readings": 0, "positions": 0, "alarms": 0, "rejected": 0}
        for when, readings, positions in simulator.frames(reg, plan):
            if speed > 0:
                due = (when - start).total_seconds() / speed
                pause = due - (time.monotonic() - began)
                if pause > 0:
                    time.sleep(pause)
            if publisher is not None:
                for item in readings:
                    publisher(f"safemap/readings/{item.pop('sensor')}", item)
                for item in positions:
                    publisher(f"safemap/positions/{item.pop('plate')}", item)
                totals["readings"] += len(readings)
                totals["positions"] += len(positions)
                continue
            for kind, items in (("readings", readings), ("positions", positions)):
                if not items:
                    continue
                if url:
                    answer = _post(url, token or "", f"/api/{kind}", {kind: items})
                else:
                    answer = getattr(ingest, kind)(items, channel="simulate").as_dict()
                totals[kind] += int(answer["accepted"])
                totals["alarms"] += len(answer["alarms"])
                totals["rejected"] += len(answer["rejected"])
        click.echo(
            f"已模拟 {duration_text(minutes * 60)}：读数 {totals['readings']} 条，位置 {totals['positions']} 条，"
            f"新报警 {totals['alarms']} 次，拒收 {totals['rejected']} 条"
        )


def _mqtt_publisher(url: str) -> Any:
    from urllib.parse import unquote, urlsplit

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    parts = urlsplit(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311)
    if parts.username:
        client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))
    try:
        client.connect(parts.hostname or "localhost", parts.port or 1883)
    except OSError as exc:
        raise click.ClickException(f"无法连接 MQTT 服务器：{exc}") from None
    client.loop_start()

    def publish(topic: str, payload: dict[str, Any]) -> None:
        client.publish(topic, orjson.dumps(payload), qos=1).wait_for_publish(timeout=10)

    return publish


@click.group("live")
def live() -> None:
    """实时监测：状态、离线巡检、保留期限、报警."""


@live.command("status")
def status() -> None:
    """传感器与车辆的当前状态（中文），以及未关闭的报警."""
    from safemap.api.services import live_view

    with configured_store(settings()) as store:
        snap = live_view.snapshot(store)
        alarms = live_view.list_alarms(store, ["active", "acknowledged"])
    for s in snap["sensors"]:
        value = "—" if s["value"] is None else f"{s['value']:g}{s['unit_label']}"
        click.echo(f"传感器 {s['code']:<24}{s['name'] or '':<20}{s['state_label']:<10}{value}  {s['ts'] or ''}")
    for v in snap["vehicles"]:
        where = "—" if v["lon"] is None else f"{v['lon']:.5f},{v['lat']:.5f}"
        click.echo(f"车辆 {v['plate']:<12}{v['kind_label']:<12}{v['state_label']:<6}{where}  {v['ts'] or ''}")
    for a in alarms:
        p = a["properties"]
        click.echo(
            f"报警 {a['id']:>5} {p['state_label']:<5}{p['kind_label']:<10}{p['raised_at']}  {p.get('message') or ''}"
        )


@live.command("sweep")
def sweep() -> None:
    """一次离线巡检：超时未上报的传感器和车辆标为离线并报警."""
    from safemap.api.services.live_monitor import monitor_for

    with configured_store(settings()) as store:
        raised = monitor_for(store).sweep()
    click.echo(f"新的离线报警 {len(raised)} 条")


@live.command("prune")
@click.option(
    "--days", type=click.FloatRange(1), default=None, help="Keep this many days (default SAFEMAP_RETENTION_DAYS)."
)
def prune(days: float | None) -> None:
    """按保留期限删除旧的读数和位置（PostGIS 整月分区删除）."""
    from safemap.api.services.live_worker import prune as prune_store

    config = settings()
    with configured_store(config) as store:
        removed = prune_store(store, days or config.retention_days)
    click.echo("已删除：" + "，".join(f"{k} {v} 行" for k, v in removed.items()))


@live.command("ack")
@click.argument("alarm_id", type=click.IntRange(1))
@click.option("--note", default=None, help="确认备注")
@click.option("--close", "closing", is_flag=True, help="Close the alarm instead of acknowledging it.")
def ack(alarm_id: int, note: str | None, closing: bool) -> None:
    """确认（或 --close 关闭）一条报警."""
    from safemap.api.services import live_alarms

    with configured_store(settings()) as store:
        actor = cli_actor()
        try:
            if closing:
                feature = live_alarms.close(store, actor, alarm_id, note)
            else:
                feature = live_alarms.acknowledge(store, actor, alarm_id, note)
        except LayerError as exc:
            fail(exc)
    click.echo(f"报警 {alarm_id}：{live_alarms.state_label(feature['properties']['state'])}")


COMMANDS = (simulate, live)
