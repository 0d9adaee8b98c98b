"""The fire-access review as a printable HTML report and as a CSV table of findings."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from typing import Any

_COLUMNS = (
    ("rule", "规则代码"),
    ("label", "规则"),
    ("layer", "图层"),
    ("feature_id", "要素编号"),
    ("name", "名称"),
    ("measured", "实测值"),
    ("comparison", "要求"),
    ("required", "限值"),
    ("unit", "单位"),
    ("clause", "条款"),
    ("basis", "依据"),
    ("lon", "经度"),
    ("lat", "纬度"),
    ("message", "说明"),
)
_LAYER = {
    "fire_lanes": "消防车道",
    "hydrants": "消火栓",
    "roads": "道路",
    "enterprises": "企业",
    "protected_targets": "防护目标",
}


def findings_csv(review: dict[str, Any]) -> str:
    """One row per finding with Chinese headers (Excel opens it with the BOM the route adds)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([label for _, label in _COLUMNS])
    for f in review["findings"]["features"]:
        p = f["properties"]
        w.writerow(
            ["" if p.get(k) is None else (_LAYER.get(p[k], p[k]) if k == "layer" else p[k]) for k, _ in _COLUMNS]
        )
    return buf.getvalue()


def _e(value: Any) -> str:
    return "" if value is None else html.escape(str(value))


def render_html(review: dict[str, Any], title: str) -> str:
    """A self-contained page (no scripts, print CSS) a fire officer can print or save as PDF."""
    std = review["standard"]
    feats = [f["properties"] for f in review["findings"]["features"]]
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    parts = [
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>消防车通道与消火栓核查报告 — {_e(title)}</title>",
        "<style>body{font-family:'Microsoft YaHei','Noto Sans CJK SC',sans-serif;margin:24px;font-size:13px;color:#222}"
        "h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 6px;border-bottom:2px solid #b71c1c}"
        "table{border-collapse:collapse;width:100%;margin:4px 0 10px}th,td{border:1px solid #999;padding:3px 5px;"
        "text-align:left;vertical-align:top}th{background:#f3e5e5}td.n{text-align:right;white-space:nowrap}"
        ".meta{color:#555}.bad{color:#b71c1c;font-weight:bold}@media print{body{margin:10mm}h2{break-after:avoid}"
        "tr{break-inside:avoid}}</style></head><body>",
        f"<h1>消防车通道与消火栓核查报告</h1><div class='meta'>{_e(title)}　生成时间：{when}"
        + (f"　范围：{_e(review['township'])}" if review.get("township") else "　范围：全县")
        + f"　标准到场时间：{std['minutes']:g} min（{_e(std['clause'])}，含出动准备 {std['turnout_s']:g} s）</div>",
    ]
    dem = review.get("dem") or {}
    if dem.get("used"):
        parts.append(
            f"<div class='meta'>未填坡度的车道按 DEM 计算坡度（{_e(dem.get('path'))}"
            f"{'，合成演示数据，非实测' if dem.get('synthetic') else ''}）。</div>"
        )
    parts.append("<h2>一、问题汇总</h2><table><tr><th>规则</th><th>条款</th><th>问题数</th></tr>")
    for s in review["summary"]:
        parts.append(f"<tr><td>{_e(s['label'])}</td><td>{_e(s['clause'])}</td><td class='n'>{s['count']}</td></tr>")
    parts.append("</table>")
    groups: dict[str, list[dict[str, Any]]] = {}
    for p in feats:
        groups.setdefault(p["label"], []).append(p)
    parts.append("<h2>二、问题明细（规则、实测值、限值、条款、位置）</h2>")
    for label, rows in groups.items():
        parts.append(
            f"<h3>{_e(label)}（{len(rows)}）</h3><table><tr><th>图层</th><th>编号</th><th>名称</th>"
            "<th>实测值</th><th>限值</th><th>条款</th><th>位置（经度, 纬度）</th><th>说明</th></tr>"
        )
        for p in rows:
            measured = "—" if p.get("measured") is None else f"{p['measured']:g} {_e(p['unit'])}"
            parts.append(
                f"<tr><td>{_e(_LAYER.get(p['layer'], p['layer']))}</td><td class='n'>{_e(p['feature_id'])}</td>"
                f"<td>{_e(p['name'])}</td><td class='n bad'>{measured}</td>"
                f"<td class='n'>{_e(p['comparison'])} {p['required']:g} {_e(p['unit'])}</td><td>{_e(p['clause'])}</td>"
                f"<td class='n'>{p['lon']:.5f}, {p['lat']:.5f}</td><td>{_e(p['message'])}</td></tr>"
            )
        parts.append("</table>")
    late = [s for s in review["sites"] if not s["engine"]["ok"] or (s["high_rise"] and not s["ladder"]["ok"])]
    parts.append(
        f"<h2>三、标准时间内消防车不能到达的场所（{len(late)}）</h2>"
        "<table><tr><th>场所</th><th>乡镇</th><th>水罐消防车（min）</th><th>出动队站</th>"
        "<th>登高消防车（min）</th><th>途经消防车道</th><th>本场所车道问题</th><th>最近消火栓（m）</th></tr>"
    )
    for s in late:
        eng, lad = s["engine"], s["ladder"]
        parts.append(
            f"<tr><td>{_e(s['name'])}</td><td>{_e(s['township'])}</td>"
            f"<td class='n{' bad' if not eng['ok'] else ''}'>{_e(eng['minutes']) or '无法到达'}</td>"
            f"<td>{_e(eng['team'])}</td>"
            f"<td class='n{' bad' if s['high_rise'] and not lad['ok'] else ''}'>"
            f"{_e(lad['minutes']) or '无法到达'}</td>"
            f"<td>{_e('、'.join(map(str, eng['via_lanes'])))}</td><td>{_e('；'.join(s['lane_findings']))}</td>"
            f"<td class='n'>{_e(s['hydrant_m'])}</td></tr>"
        )
    parts.append("</table><h2>四、核查依据</h2><table><tr><th>规则</th><th>限值</th><th>条款</th></tr>")
    for r in review["rules"]:
        parts.append(
            f"<tr><td>{_e(r['label'])}</td><td class='n'>{r['value']:g} {_e(r['unit'])}</td>"
            f"<td>{_e(r['clause'])}</td></tr>"
        )
    parts.append("</table></body></html>")
    return "".join(parts)
