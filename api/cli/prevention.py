"""``safemap dangers …`` (findings and their closed loop) and ``safemap risk …`` (risk points' levels).

Thin: parse, call :mod:`api.services.dangers` / :mod:`api.services.prevention` /
:mod:`api.services.risk_points`, print in Chinese. Steps taken here are recorded under
``--as NAME`` (default ``cli:<user>``) like any other writer.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import click

from safemap.api.cli.common import cli_actor, configured_store
from safemap.api.services import danger_overdue, danger_photos, dangers, prevention, risk_points
from safemap.layers.enums import RISK_LEVEL

__all__ = ["COMMANDS"]


def _pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns (a Chinese character takes two)."""
    used = sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
    return text + " " * max(width - used, 0)


@click.group("dangers")
def dangers_group() -> None:
    """Hidden dangers (隐患): list, record, move through 整改 → 复查 → 销号, overdue alarms, statistics."""


@dangers_group.command("list")
@click.option("--status", help="发现、整改中、待复查、销号（代码或中文，逗号分隔）")
@click.option("--grade", help="一般隐患 或 重大隐患")
@click.option("--township", help="乡镇")
@click.option("--overdue", is_flag=True, help="只列逾期的")
def list_cmd(status: str | None, grade: str | None, township: str | None, overdue: bool) -> None:
    """List findings, newest first."""
    with configured_store() as store:
        found = prevention.list_findings(
            store, None, status=status, grade=grade, township=township, overdue=True if overdue else None
        )
    for f in found["features"]:
        p = f["properties"]
        click.echo(
            f"{f['id']:>5} {_pad(p['grade_label'], 9)} {_pad(p['status_label'], 14)} 期限 {p['deadline']} "
            f"{_pad(p.get('township') or '', 14)} {_pad(p.get('enterprise_name') or '', 28)} {p['name']}"
        )
    click.echo(f"共 {found['numberReturned']} 条")


@dangers_group.command("add")
@click.option("--grade", required=True, help="一般隐患 或 重大隐患")
@click.option("--description", required=True, help="隐患描述")
@click.option("--deadline", required=True, help="整改期限，如 2026-12-31")
@click.option("--enterprise", "enterprise_id", type=int, help="所属企业编号（不给位置时取企业位置）")
@click.option("--lon", type=float, help="经度")
@click.option("--lat", type=float, help="纬度")
@click.option("--clause", help="违反条款")
@click.option("--responsible", help="整改责任人")
@click.option("--as", "who", help="记录人（审计日志中的名字）")
def add_cmd(
    grade: str,
    description: str,
    deadline: str,
    enterprise_id: int | None,
    lon: float | None,
    lat: float | None,
    clause: str | None,
    responsible: str | None,
    who: str | None,
) -> None:
    """Record a finding (status 发现)."""
    location = (lon, lat) if lon is not None and lat is not None else None
    data = dangers.FindingInput(
        grade=grade,
        description=description,
        deadline=deadline,
        location=location,
        enterprise_id=enterprise_id,
        clause=clause,
        responsible=responsible,
    )
    with configured_store() as store:
        feature, _ = dangers.create_finding(store, data, cli_actor(who))
    click.echo(f"已登记隐患 {feature['id']}（{feature['properties']['name']}），整改期限 {deadline}")


@dangers_group.command("step")
@click.argument("danger_id", type=int)
@click.argument("action", type=click.Choice(tuple(dangers.ACTIONS)))
@click.option("--text", default="", help="整改措施、复查意见、延期原因或备注")
@click.option("--deadline", help="延期后的期限")
@click.option("--photo", "photos", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "who", help="操作人（审计日志中的名字；重大隐患的复查人须不同于发现人）")
def step_cmd(
    danger_id: int, action: str, text: str, deadline: str | None, photos: tuple[Path, ...], who: str | None
) -> None:
    """One step: rectify 开始整改, submit 提交复查, pass 复查通过并销号, fail 退回, extend 延期, note 备注."""
    actor = cli_actor(who)
    with configured_store() as store:
        stage = "evidence" if action in ("submit", "pass", "fail") else "found"
        ids = [
            int(danger_photos.add_photo(store, danger_id, p.read_bytes(), stage, actor, p.name)[0]["id"])
            for p in photos
        ]
        version = int(dangers.get(store, danger_id)["properties"]["version"])
        after = dangers.transition(
            store, danger_id, action, actor, version=version, text=text, deadline=deadline, photo_ids=ids
        )
        shown = dangers.present(store, after)["properties"]
    click.echo(f"隐患 {danger_id}：{dangers.ACTION_LABELS[action]}，现为“{shown['status_label']}”")


@dangers_group.command("show")
@click.argument("danger_id", type=int)
def show_cmd(danger_id: int) -> None:
    """A finding and its timeline."""
    with configured_store() as store:
        p = dangers.present(store, dangers.get(store, danger_id))["properties"]
        steps = dangers.events(store, danger_id)
    click.echo(
        f"{p['name']}｜{p['grade_label']}｜{p['status_label']}｜期限 {p['deadline']}｜发现人 {p.get('found_by')}"
    )
    for e in steps:
        click.echo(f"  {e['at']}  {e['kind_label']:<8} {e['actor']}：{e['text']}")


@dangers_group.command("sweep")
def sweep_cmd() -> None:
    """Raise a 隐患整改逾期 alarm for each open finding past its deadline (the server does this every minute)."""
    with configured_store() as store:
        raised = danger_overdue.sweep_overdue(store)
    click.echo(f"新报警 {len(raised)} 条")


@dangers_group.command("stats")
@click.option("--by", type=click.Choice(("township", "industry")), default="township", help="按乡镇或行业")
def stats_cmd(by: str) -> None:
    """Counts of findings per township or industry."""
    with configured_store() as store:
        table = prevention.statistics(store, None, by)
    click.echo(f"{_pad(table['by_label'], 22)} 合计 发现 整改中 待复查 销号 逾期 重大未销号")
    for r in table["rows"]:
        click.echo(
            f"{_pad(r['label'], 22)} {r['total']:>4} {r['found']:>4} {r['rectifying']:>6} {r['review']:>6} "
            f"{r['closed']:>4} {r['overdue']:>4} {r['major_open']:>10}"
        )


@click.group("risk")
def risk_group() -> None:
    """Risk points (风险点): levels by LEC / LS and the four-colour map of enterprises and zones."""


@risk_group.command("grade")
def grade_cmd() -> None:
    """Recompute every risk point's score and level, each zone's and each enterprise's level."""
    with configured_store() as store:
        changed = risk_points.recompute_risk(store)
    click.echo(
        f"已更新：风险点 {changed['risk_points']} 个，风险分区 {changed['risk_zones']} 个，"
        f"企业 {changed['enterprises']} 家"
    )


@risk_group.command("enterprise")
@click.argument("enterprise_id", type=int)
def enterprise_cmd(enterprise_id: int) -> None:
    """企业一张图 in text: risk points by level, open findings, accidents."""
    with configured_store() as store:
        page = prevention.enterprise_page(store, enterprise_id, None)
    e = page["enterprise"]["properties"]
    click.echo(f"{e['name']}（{e.get('industry_label')}，{RISK_LEVEL.label(e.get('risk_level'))}）")
    for f in page["risk_points"]["features"]:
        p = f["properties"]
        click.echo(
            f"  风险点 {p['name']}：{p.get('risk_level_label') or '未评价'}（{p.get('score')}）"
            f"{p.get('measures') or ''}"
        )
    c = page["counts"]
    click.echo(
        f"  未销号隐患 {c['dangers_open']} 条（逾期 {c['dangers_overdue']}），"
        f"事故 {c['accidents']} 起、死亡 {c['deaths']} 人"
    )


COMMANDS = (dangers_group, risk_group)
