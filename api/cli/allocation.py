"""``safemap allocation …``: material allocation plans (物资分配方案) from the command line.

``plan --demands FILE.csv`` computes a plan from a CSV with the Chinese headers
需求点,经度,纬度,物资,数量,单位,优先级 (full-width digits, spaces and kg for t accepted) and
stores it as a draft; ``show ID`` prints it (or ``--html`` the printable plan); ``confirm ID``
reserves the stock and writes the dispatches; ``cancel ID`` cancels a draft.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from safemap.api.cli.common import BadInput, cli_actor, configured_store, dumps, write_output

__all__ = ["COMMANDS"]


@click.group("allocation")
def allocation() -> None:
    """物资分配方案：多需求点物资调配（计算、查看、确认、取消）."""


def _print(result: dict[str, Any], as_json: bool, tz: Any) -> None:
    from safemap.api.services.labels import duration_text, number_text

    if as_json:
        click.echo(dumps(result))
        return
    p = result["plan"]
    click.echo(f"物资分配方案 {p['id']}（{p['name']}）：{p['status_label']}，版本 {p['version']}")
    demands = {f["id"]: f["properties"] for f in result["demands"]["features"]}
    # Quantities of different items (床, 箱, t) do not add up: count demand rows instead.
    short = sum(1 for d in demands.values() if (d.get("unmet") or 0) > 1e-6)
    click.echo(
        f"需求 {len(demands)} 项，全部安排 {len(demands) - short} 项，有缺口 {short} 项；"
        f"最晚送达 {duration_text(p.get('latest_eta_s'))}；求解 {number_text(p.get('solve_ms'))} 毫秒"
    )
    click.echo("调拨明细：")
    for f in result["flows"]["features"]:
        fp = f["properties"]
        to = demands.get(fp["demand_id"], {}).get("name", "—")
        click.echo(
            f"  {fp['name'].split(' → ')[0]} → {to}：{fp['item']} {number_text(fp['quantity'])}{fp.get('unit') or ''}，"
            f"预计 {duration_text(fp.get('eta_s'))} 送达"
        )
    if result["shortfalls"]:
        click.echo("缺口说明：")
        for s in result["shortfalls"]:
            point = demands.get(s.get("demand_id"), {}).get("name", "—")
            for r in s["reasons"]:
                click.echo(f"  {point}·{s['item']}：{r['label']}——{r['text']}")
    if p.get("dispatch_plan_id"):
        click.echo(f"调度单号：{p['dispatch_plan_id']}")


@allocation.command("plan")
@click.option("--demands", "demands_file", type=click.Path(path_type=Path), required=True, help="需求 CSV 文件")
@click.option("--name", default="物资分配方案", show_default=True)
@click.option("--trucks", type=click.IntRange(0, 1000), default=2, show_default=True, help="每库车辆数")
@click.option("--trips", type=click.IntRange(1, 100), default=1, show_default=True, help="每车趟数")
@click.option("--payload-t", type=click.FloatRange(0, 100), default=8.0, show_default=True, help="单车载重（吨）")
@click.option("--time-limit-min", type=click.FloatRange(0, 14400, min_open=True), default=None, help="送达时限（分钟）")
@click.option("--loading-min", type=click.FloatRange(0, 1440), default=0.0, show_default=True, help="装车时间（分钟）")
@click.option("--incident-id", type=click.IntRange(1), default=None)
@click.option("--by", "by", default=None, help="编制人（默认 cli:<用户名>）")
@click.option("--json", "as_json", is_flag=True)
def plan_command(
    demands_file: Path,
    name: str,
    trucks: int,
    trips: int,
    payload_t: float,
    time_limit_min: float | None,
    loading_min: float,
    incident_id: int | None,
    by: str | None,
    as_json: bool,
) -> None:
    """计算物资分配方案并保存为草稿."""
    from safemap.api.services import allocation as service
    from safemap.api.services.network import NetworkService
    from safemap.layers.allocation_tables import parse_demand_csv

    try:
        raw = demands_file.read_bytes()
    except OSError as exc:
        raise BadInput(f"无法读取 {demands_file}：{exc.strerror or exc}", "--demands") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030", errors="replace")  # Excel on Chinese Windows saves GBK
    with configured_store() as store:
        rows = parse_demand_csv(text)
        body = service.PlanInput(
            name=name,
            demands=tuple(service.DemandInput(**r) for r in rows),
            incident_id=incident_id,
            trucks=trucks,
            trips=trips,
            payload_t=payload_t,
            time_limit_s=None if time_limit_min is None else time_limit_min * 60.0,
            loading_s=loading_min * 60.0,
        )
        result = service.create(store, NetworkService(), cli_actor(by), body)
        _print(result, as_json, store.tz)


@allocation.command("show")
@click.argument("plan_id", type=click.IntRange(1))
@click.option("--html", "html", is_flag=True, help="输出可打印的方案（HTML）")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None)
@click.option("--json", "as_json", is_flag=True)
def show_command(plan_id: int, html: bool, output: Path | None, as_json: bool) -> None:
    """查看物资分配方案."""
    from safemap.api.reports import allocation as report
    from safemap.api.services import allocation as service

    with configured_store() as store:
        result = service.get(store, plan_id)
        if html:
            write_output(report.sheet_html(result, store.tz, tz_name=str(store.tz)), output)
            return
        _print(result, as_json, store.tz)


def _versioned(action: str, plan_id: int, by: str | None, as_json: bool) -> None:
    from safemap.api.services import allocation as service

    with configured_store() as store:
        version = int(service.get(store, plan_id)["plan"]["version"])
        fn = service.confirm if action == "confirm" else service.cancel
        _print(fn(store, cli_actor(by), plan_id, version), as_json, store.tz)


@allocation.command("confirm")
@click.argument("plan_id", type=click.IntRange(1))
@click.option("--by", "by", default=None, help="确认人（默认 cli:<用户名>）")
@click.option("--json", "as_json", is_flag=True)
def confirm_command(plan_id: int, by: str | None, as_json: bool) -> None:
    """确认方案：扣减库存并生成调度记录（一次事务）."""
    _versioned("confirm", plan_id, by, as_json)


@allocation.command("cancel")
@click.argument("plan_id", type=click.IntRange(1))
@click.option("--by", "by", default=None)
@click.option("--json", "as_json", is_flag=True)
def cancel_command(plan_id: int, by: str | None, as_json: bool) -> None:
    """取消草稿方案."""
    _versioned("cancel", plan_id, by, as_json)


COMMANDS: list[click.Command] = [allocation]
