"""``safemap park assess``: the park-wide safety risk assessment (园区整体性安全风险评估, issue 18 item 2).

Thin: reads the proposed unit's GeoJSON file, calls :mod:`safemap.api.services.park_assessment`,
prints the key figures and verdicts in Chinese and writes the HTML/PDF report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from safemap.api.cli.common import BadInput, configured_store, dumps, settings, write_output
from safemap.layers.labels import rate_text

__all__ = ["COMMANDS"]


@click.group("park")
def park() -> None:
    """园区与矿山：园区整体性安全风险评估."""


def _read_feature(path: Path) -> Any:
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"无法读取 GeoJSON：{exc}", "--proposed") from None
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        feats = doc.get("features") or []
        if len(feats) != 1:
            raise BadInput("FeatureCollection 应只含一个拟建项目要素", "--proposed")
        doc = feats[0]
    return doc


def _lines(s: dict[str, Any], result: dict[str, Any]) -> list[str]:
    lines = [
        f"园区整体性安全风险评估：{s['area']}（{s['area_km2']:.2f} km²）",
        f"  企业 {s['enterprises']} 家；危险源 {s['sources']} 个（重大危险源 {s['major_sources']} 个）；"
        f"范围外影响本区域的危险源 {s['outside_sources']} 个",
        f"  事故场景 {s['scenarios']} 个；最大个人风险 {rate_text(s['max_ir_per_year'])}；"
        f"超过 GB 36894 基准的防护目标 {s['targets_exceeding']} 个",
    ]
    for b in result["risk"]["bands"]:
        names = "、".join(t["target_name"] for t in b["targets"][:10])
        lines.append(f"    {b['label']}：{b['count']} 个，{b['population']} 人{('：' + names) if names else ''}")
    lines.append(f"  社会风险：{s['fn_verdict']}（{s['fn_reason']}）")
    dom = result["domino"]
    lines.append(
        f"  多米诺效应：{len(dom['pairs'])} 对" if dom["available"] else f"  多米诺效应：无法判断（{dom['reason']}）"
    )
    adm = result.get("admission")
    if adm:
        lines.append(f"  入园项目准入（{adm['name']}）：{adm['verdict']}")
        lines += [f"    理由：{x}" for x in adm["reasons"]]
        lines += [f"    条件：{x}" for x in adm["conditions"]]
    return lines


@park.command("assess")
@click.argument("name", required=False)
@click.option(
    "--proposed",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="拟入园项目 GeoJSON 文件（Feature：点或面，properties 含 kind、substances）。",
)
@click.option(
    "--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="另存 HTML 报告。"
)
@click.option(
    "--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="另存 PDF 报告。"
)
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="另存 JSON 结果。"
)
def assess_cmd(
    name: str | None, proposed: Path | None, html_path: Path | None, pdf_path: Path | None, json_path: Path | None
) -> None:
    """Assess the industrial park NAME (default: the only one) with an optional proposed unit."""
    from safemap.api.reports import park as report
    from safemap.api.services import park_assessment
    from safemap.api.services import safety as safety_service
    from safemap.api.services.printing import PrintUnavailable

    config = settings()
    feature = _read_feature(proposed) if proposed is not None else None
    with configured_store(config) as store:
        area = park_assessment.resolve_area(store, name=name)
        unit = None if feature is None else park_assessment.parse_proposed(feature, config.extent)
        result = park_assessment.assess(store, area, proposed=unit)
        html = None
        if html_path or pdf_path:
            html = report.park_report_html(result, safety_service.load(store).crs, None, store.tz)
    summary = park_assessment.summary(result)
    click.echo("\n".join(_lines(summary, result)))
    if json_path:
        write_output(dumps({"summary": summary, **result}), json_path)
    if html is not None and html_path:
        write_output(html, html_path)
    if html is not None and pdf_path:
        try:
            write_output(report.report_pdf(html, config.chromium_path), pdf_path)
        except PrintUnavailable as exc:
            raise BadInput(str(exc), "--pdf") from None


COMMANDS: list[click.Command] = [park]
