"""Coverage and fire-access tools on the CLI: ``safemap coverage-report``, ``access-review``, ``locate``."""

from __future__ import annotations

from pathlib import Path

import click

from safemap.api.cli.common import BadInput, configured_store, dumps, settings, write_output
from safemap.layers.enums import TEAM_KIND, VEHICLE_PROFILE
from safemap.layers.labels import duration_text


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def _minutes(x: float | None) -> str:
    """Minutes (as the services give them) in 分秒 for people: ``5`` → ``5分00秒``; ``—`` when unknown."""
    return duration_text(None if x is None else x * 60)


_KINDS = click.option(
    "--kinds",
    default="fire_station,professional_fire",
    show_default=True,
    help="Team kinds, comma separated: " + ", ".join(TEAM_KIND.codes),
)
_VEHICLE = click.option("--vehicle", type=click.Choice(VEHICLE_PROFILE.codes), default="fire_engine", show_default=True)
_OUTPUT = click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)


def _kinds(text: str) -> list[str]:
    items = [k.strip() for k in text.split(",") if k.strip()]
    for k in items:
        if k not in TEAM_KIND.codes:
            raise BadInput(f"没有队伍类型 {k!r}；可选：{', '.join(TEAM_KIND.codes)}", "--kinds")
    return items


@click.command("coverage-report")
@_VEHICLE
@_KINDS
@click.option(
    "--standard-min", type=click.FloatRange(0.1, 180), default=None, help="标准到场时间，分钟（默认按规则表：5 分钟）。"
)
@click.option(
    "--depot-min", type=click.FloatRange(0.1, 600), default=None, help="储备库可达时限，分钟（默认 30 分钟）。"
)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option(
    "--table",
    type=click.Choice(["summary", "by_grade", "by_township", "uncovered", "depots"]),
    default="uncovered",
    show_default=True,
    help="Table written with --format csv.",
)
@click.option(
    "--headers",
    type=click.Choice(["zh", "code"]),
    default="zh",
    show_default=True,
    help="CSV headers: zh (Chinese, for people) or code (field codes, for machine exports).",
)
@_OUTPUT
def coverage_report_cmd(
    vehicle: str,
    kinds: str,
    standard_min: float | None,
    depot_min: float | None,
    fmt: str,
    table: str,
    headers: str,
    output: Path | None,
) -> None:
    """Shares covered within the standard time, uncovered sites, townships, depot reach."""
    from safemap.api.services.coverage_report import coverage_report, report_csv

    teams = _kinds(kinds)
    with configured_store() as store:
        r = coverage_report(store, vehicle=vehicle, kinds=teams, standard_min=standard_min, depot_min=depot_min)
    if fmt == "json":
        write_output(dumps(r), output)
        return
    if fmt == "csv":
        write_output(report_csv(r, table, "code" if headers == "code" else "zh"), output)
        return
    std = r["standard"]
    lines = [
        f"标准到场时间 {_minutes(std['minutes'])}（{std['clause']}；出动准备 {duration_text(std['turnout_s'])}），"
        f"车辆 {vehicle}，"
        f"队站 {len(r['teams'])} 个"
    ]
    for s in r["summary"]:
        pop = f"，人口 {_pct(s['population_share'])}" if s["population"] else ""
        lines.append(f"  {s['label']:<6} {s['covered']:>4}/{s['count']:<4} {_pct(s['share'])}{pop}")
    for g in r["by_grade"]:
        lines.append(f"  危险源 {g['grade']:<4} {g['covered']:>4}/{g['count']:<4} {_pct(g['share'])}")
    lines.append(f"未覆盖 {len(r['uncovered'])} 处（按到场时间从长到短，前 20 处）：")
    for u in r["uncovered"][:20]:
        t = "无法到达" if u["response_min"] is None else _minutes(u["response_min"])
        lines.append(f"  {u['layer_label']} {u['name']}（{u['township']}）{t}，最近：{u['nearest_team'] or '—'}")
    d = r["depots"]
    lacking = "、".join(x["township"] for x in d["townships_without_depot"]) or "无"
    lines.append(f"{_minutes(d['limit_min'])}内无物资储备库可达的乡镇：{lacking}")
    write_output("\n".join(lines) + "\n", output)


@click.command("access-review")
@click.option("--township", default=None, help="Only this township.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv", "html"]), default="table", show_default=True
)
@_OUTPUT
def access_review_cmd(township: str | None, fmt: str, output: Path | None) -> None:
    """Fire lanes, turnarounds, hydrants and engine/ladder reach, with the clause of each finding."""
    from safemap.api.reports.access import findings_csv, render_html
    from safemap.api.services.access_review import access_review, late_sites

    config = settings()
    with configured_store(config) as store:
        if township is not None:
            known = sorted(store.to_geodataframe("townships")["name"].dropna())
            if township not in known:
                raise BadInput(f"没有乡镇 {township!r}；可选：{'、'.join(known)}", "--township")
        review = access_review(store, township=township)
    if fmt == "json":
        write_output(dumps(review), output)
    elif fmt == "csv":
        write_output(findings_csv(review), output)
    elif fmt == "html":
        write_output(render_html(review, config.title, late_sites(review), config.timezone), output)
    else:
        lines = [f"{s['label']}（{s['clause']}）：{s['count']}" for s in review["summary"]]
        v = review["verdicts"]
        lines.insert(
            0,
            "场所结论：" + "，".join(f"{v['labels'][k]} {v['counts'][k]} 处" for k in ("pass", "fail", "cannot_check")),
        )
        for site in review["sites"]:
            if site["verdict"]["status"] == "cannot_check":
                lines.append(
                    f"  {site['verdict']['status_label']}：{site['name']}：{'；'.join(site['verdict']['reasons'])}"
                )
        for f in review["findings"]["features"]:
            p = f["properties"]
            if p["layer"] == "fire_lanes":
                lines.append(f"  [{p['clause']}] {p['message']}")
        write_output("\n".join(lines) + "\n", output)


@click.command("locate")
@click.option("--problem", type=click.Choice(["mclp", "pcenter"]), default="mclp", show_default=True)
@click.option("-k", "--count", "k", type=click.IntRange(1, 10), default=1, show_default=True, help="New sites.")
@click.option(
    "--layer", type=click.Choice(["rescue_teams", "material_depots"]), default="rescue_teams", show_default=True
)
@_VEHICLE
@_KINDS
@click.option(
    "--demand",
    type=click.Choice(["population", "hazard_sources", "enterprises"]),
    default="population",
    show_default=True,
)
@click.option("--candidates", type=click.Choice(["nodes", "grid"]), default="nodes", show_default=True)
@click.option("--spacing-m", type=click.FloatRange(100, 20000), default=1000.0, show_default=True)
@click.option("--standard-min", type=click.FloatRange(0.1, 180), default=None)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@_OUTPUT
def locate_cmd(
    problem: str,
    k: int,
    layer: str,
    vehicle: str,
    kinds: str,
    demand: str,
    candidates: str,
    spacing_m: float,
    standard_min: float | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Propose k new stations or depots (MCLP or p-center) and compare coverage before/after."""
    from safemap.api.services.locate import locate

    teams = _kinds(kinds)
    with configured_store() as store:
        r = locate(
            store,
            problem=problem,
            k=k,
            layer=layer,
            vehicle=vehicle,
            kinds=teams,
            demand=demand,
            candidates=candidates,
            spacing_m=spacing_m,
            standard_min=standard_min,
        )
    if fmt == "json":
        r = {key: v for key, v in r.items() if key != "areas"}
        write_output(dumps(r), output)
        return
    b, a = r["before"], r["after"]
    gap = "已证明最优" if r["optimal"] else f"与最优的差距 ≤ {(r['gap'] or 0) * 100:.2f}%"
    lines = [
        f"{problem.upper()}：新增 {r['k']} 处，候选点 {r['candidates']['count']} 个，{gap}"
        f"（{r['solver']}，用时 {duration_text(r['seconds'])}）"
    ]
    for s in r["sites"]:
        lines.append(f"  {s['rank']}. 经度 {s['lon']:.5f} 纬度 {s['lat']:.5f}（{s['road']}）")
    lines.append(
        f"覆盖（行车 {_minutes(r['radius_min'])}内，{r['demand_label']}）："
        f"{_pct(b['covered_share'])} → {_pct(a['covered_share'])}"
    )
    lines.append(f"最长行车时间：{_minutes(b['worst_travel_min'])} → {_minutes(a['worst_travel_min'])}")
    write_output("\n".join(lines) + "\n", output)


COMMANDS = (coverage_report_cmd, access_review_cmd, locate_cmd)
