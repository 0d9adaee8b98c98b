"""Reports of the safety analyses: printable HTML (with an SVG map), CSV and GeoJSON; the F–N plot.

The HTML is self-contained (inline SVG and CSS, no script, nothing fetched), so it opens
and prints on an offline intranet PC and can be archived with a planning file. Text in
the SVGs stays text, drawn with the reader's own Chinese fonts.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from pyproj import CRS, Transformer
from shapely.geometry import shape

from safemap.gis.individual_risk import F_LOWER_AT_1, F_UPPER_AT_1

CSV_COLUMNS = (
    ("passed", "结论"),
    ("rule", "规则"),
    ("standard", "标准"),
    ("clause", "条款"),
    ("hazard_name", "危险源"),
    ("target_name", "防护目标"),
    ("target_class", "目标类别"),
    ("required_m", "要求间距(m)"),
    ("actual_m", "实际间距(m)"),
    ("shortfall_m", "不足(m)"),
    ("measured_between", "间距起止点"),
    ("note", "备注"),
)
ZONE_COLOURS = ("#b71c1c", "#e65100", "#f9a825", "#1565c0", "#6a1b9a", "#00838f")


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def checks_csv(features: Iterable[dict[str, Any]]) -> str:
    """Checks (or violations) as CSV with Chinese headers, UTF-8 with BOM so Excel reads it."""
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf)
    w.writerow([label for _, label in CSV_COLUMNS])
    for f in features:
        p = f["properties"]
        row = []
        for key, _ in CSV_COLUMNS:
            v = p.get(key)
            if key == "passed":
                v = "符合" if v else "不符合"
            row.append("" if v is None else v)
        w.writerow(row)
    return buf.getvalue()


def report_geojson(result: dict[str, Any]) -> dict[str, Any]:
    """The site, its zones and its check lines in one FeatureCollection (``part`` says which)."""
    feats = [{**result["site"], "properties": {**result["site"]["properties"], "part": "site"}}]
    feats += [{**f, "properties": {**f["properties"], "part": "zone"}} for f in result["zones"]["features"]]
    feats += [{**f, "properties": {**f["properties"], "part": "check"}} for f in result["checks"]["features"]]
    return {"type": "FeatureCollection", "features": feats}


class _Canvas:
    """Projects lon/lat shapes to an SVG box in a metric CRS (true shapes and distances)."""

    def __init__(self, geoms: Sequence[Any], crs: CRS, width: int = 760, height: int = 520) -> None:
        self.t = Transformer.from_crs(4326, crs, always_xy=True)
        pts = np.vstack([self._xy(g) for g in geoms if g is not None and not g.is_empty] or [np.zeros((1, 2))])
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        pad = max(x1 - x0, y1 - y0, 100.0) * 0.08
        self.x0, self.y0, self.x1, self.y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
        self.scale = min(width / (self.x1 - self.x0), height / (self.y1 - self.y0))
        self.width, self.height = width, height

    def _xy(self, g: Any) -> np.ndarray:
        import shapely

        c = shapely.get_coordinates(g)
        x, y = self.t.transform(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    def pt(self, x: float, y: float) -> tuple[float, float]:
        return (x - self.x0) * self.scale, self.height - (y - self.y0) * self.scale

    def path(self, g: Any) -> str:
        import shapely

        parts = []
        geoms = getattr(g, "geoms", [g])
        for part in geoms:
            rings = [part.exterior, *part.interiors] if part.geom_type == "Polygon" else [part]
            for ring in rings:
                xy = self._xy(shapely.LineString(ring.coords) if part.geom_type == "Polygon" else ring)
                if not len(xy):
                    continue
                pts = [self.pt(x, y) for x, y in xy]
                d = "M" + " L".join(f"{px:.1f},{py:.1f}" for px, py in pts)
                parts.append(d + (" Z" if part.geom_type == "Polygon" else ""))
        return " ".join(parts)

    def scale_bar(self) -> str:
        target = (self.x1 - self.x0) / 5
        nice = 10 ** np.floor(np.log10(target))
        for m in (1, 2, 5, 10):
            if nice * m >= target:
                nice *= m
                break
        px = nice * self.scale
        y = self.height - 14
        return (
            f'<g class="bar"><line x1="14" y1="{y}" x2="{14 + px:.1f}" y2="{y}" stroke="#000" stroke-width="3"/>'
            f'<text x="14" y="{y - 6}">{nice:g} m</text></g>'
        )


def map_svg(result: dict[str, Any], crs: CRS) -> str:
    """An SVG map of the site, its zones, and each check drawn with its distance."""
    site = shape(result["site"]["geometry"])
    zones = [(f["properties"], shape(f["geometry"])) for f in result["zones"]["features"]]
    checks = [(f["properties"], shape(f["geometry"])) for f in result["checks"]["features"]]
    canvas = _Canvas([site, *[g for _, g in zones], *[g for _, g in checks]], crs)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{canvas.width}" height="{canvas.height}" '
        f'viewBox="0 0 {canvas.width} {canvas.height}" class="map">',
        f'<rect width="{canvas.width}" height="{canvas.height}" fill="#fafafa" stroke="#999"/>',
    ]
    for i, (props, g) in enumerate(reversed(zones)):
        colour = ZONE_COLOURS[(len(zones) - 1 - i) % len(ZONE_COLOURS)]
        out.append(
            f'<path d="{canvas.path(g)}" fill="{colour}" fill-opacity="0.12" stroke="{colour}" stroke-width="1.5">'
            f"<title>{_e(props.get('label'))}</title></path>"
        )
    for props, g in checks:
        colour = "#2e7d32" if props.get("passed") else "#d50000"
        out.append(
            f'<path d="{canvas.path(g)}" stroke="{colour}" stroke-width="2" fill="none" stroke-dasharray="6 3"/>'
        )
        end = g.coords[-1] if props.get("target_layer") else g.coords[0]
        x, y = canvas.pt(*canvas.t.transform(*end))
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>')
        mx, my = canvas.pt(*canvas.t.transform(*g.interpolate(0.5, normalized=True).coords[0]))
        out.append(
            f'<text x="{mx + 4:.1f}" y="{my - 4:.1f}" fill="{colour}">{props.get("actual_m", 0):.0f}/'
            f"{props.get('required_m', 0):g} m</text>"
        )
    out.append(f'<path d="{canvas.path(site)}" fill="#1565c0" fill-opacity="0.35" stroke="#0d47a1" stroke-width="3"/>')
    if site.geom_type == "Point":
        x, y = canvas.pt(*canvas.t.transform(site.x, site.y))
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="#1565c0" stroke="#fff" stroke-width="2"/>')
    out.append(canvas.scale_bar())
    out.append('<text x="740" y="24" text-anchor="end" font-size="18">北 ↑</text></svg>')
    return "\n".join(out)


STYLE = """
body{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif;margin:24px;color:#222}
h1{font-size:22px}h2{font-size:17px;border-bottom:2px solid #0d47a1;padding-bottom:2px;margin-top:24px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #bbb;padding:3px 6px;text-align:left}
th{background:#e3f2fd}.fail{color:#c62828;font-weight:bold}.pass{color:#2e7d32}.num{text-align:right}
.verdict{font-size:18px;padding:8px;border:2px solid}.map text{font-size:12px}.note{color:#555;font-size:12px}
@media print{body{margin:8mm}}
"""


def site_report_html(result: dict[str, Any], crs: CRS, generated: dt.datetime | None = None) -> str:
    """A printable HTML report of a site check."""
    site = result["site"]["properties"]
    summ = result["summary"]
    when = (generated or dt.datetime.now()).strftime("%Y-%m-%d %H:%M")
    failed = summ["failed"] > 0
    rows = []
    for f in result["checks"]["features"]:
        p = f["properties"]
        cls = "pass" if p["passed"] else "fail"
        rows.append(
            f'<tr><td class="{cls}">{"符合" if p["passed"] else "不符合"}</td>'
            f'<td>{_e(p["standard"])} {_e(p["clause"])}</td>'
            f"<td>{_e(p['rule'])}</td><td>{_e(p['hazard_name'])}</td><td>{_e(p['target_name'])}</td>"
            f'<td class="num">{p["required_m"]:g}</td><td class="num">{p["actual_m"]:.1f}</td>'
            f'<td class="num">{p["shortfall_m"]:.1f}</td><td>{_e(p.get("measured_between"))}</td></tr>'
        )
    zone_rows = [
        f"<tr><td>{_e(z['properties']['label'])}</td><td class='num'>{z['properties']['population']}</td>"
        f"<td>{_e('、'.join(t['name'] for t in z['properties']['targets'][:30]))}</td></tr>"
        for z in result["zones"]["features"]
    ]
    unchecked = [
        f"<tr><td>{_e(u['standard'])} {_e(u['clause'])}</td><td>{_e(u['rule'])}</td><td class='num'>"
        f"{'' if u['required_m'] is None else u['required_m']}</td><td>{_e(u['note'])}</td></tr>"
        for u in result.get("unchecked_rules", [])
    ]
    parts = [
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>选址安全间距核查报告：{_e(site['name'])}</title><style>{STYLE}</style></head><body>",
        f"<h1>选址安全间距核查报告：{_e(site['name'])}</h1>",
        f"<p>类型：{_e(site['kind_label'])}　生成时间：{when}　核查范围：所需间距外加 {summ['vicinity_m']:g} m</p>",
        f"<p class='verdict {'fail' if failed else 'pass'}'>结论：{_e(summ['verdict'])}"
        f"（核查 {summ['checks']} 项，不符合 {summ['failed']} 项）</p>",
        "<h2>位置示意图</h2>",
        map_svg(result, crs),
        "<p class='note'>蓝色为拟建场所；红色虚线为不符合的间距，绿色为符合；标注为 实际/要求 间距（m）。</p>",
        "<h2>安全间距核查</h2>",
        "<table><tr><th>结论</th><th>标准条款</th><th>规则</th><th>危险源</th><th>防护目标</th><th>要求(m)</th>"
        "<th>实际(m)</th><th>不足(m)</th><th>间距起止点</th></tr>",
        *(rows or ["<tr><td colspan='9'>核查范围内没有适用的规则对象</td></tr>"]),
        "</table>",
    ]
    if unchecked:
        parts += [
            "<h2>未能自动核查的规则（地图上无对应图层，请现场核实）</h2>",
            "<table><tr><th>标准条款</th><th>规则</th><th>要求(m)</th><th>说明</th></tr>",
            *unchecked,
            "</table>",
        ]
    if zone_rows:
        parts += [
            "<h2>事故后果影响区及区内人员</h2>",
            "<table><tr><th>影响区</th><th>人数</th><th>区内防护目标</th></tr>",
            *zone_rows,
            "</table>",
        ]
    parts += _risk_section(result)
    parts += [
        "<h2>依据与说明</h2><p class='note'>间距数值取自系统“安全间距规则”表（管理员可维护），"
        "每条规则注明标准、条款和来源；"
        "标注【未核实】的数值来自二手资料，正式审批前应与标准原文核对。距离为拟建场所与对象实际几何图形（边界）之间的最短距离。</p>",
        "</body></html>",
    ]
    return "\n".join(parts)


def _risk_section(result: dict[str, Any]) -> list[str]:
    out: list[str] = []
    risk = result.get("risk") or {}
    if "ir_per_year" in risk:
        over = risk["exceeds_existing_limit"]
        out += [
            "<h2>个人风险（GB 36894）</h2>",
            f"<p>该位置个人风险 {risk['ir_per_year']:.2e} /a；{_e(risk['gb36894_class'])} 在役装置基准 "
            f"{risk['limit_existing_per_year']:.0e} /a，新建装置基准 {risk['limit_new_per_year']:.0e} /a："
            f"<span class='{'fail' if over else 'pass'}'>"
            f"{'超过在役装置基准' if over else '未超过在役装置基准'}</span></p>",
        ]
        if risk.get("contributions"):
            out += ["<table><tr><th>事故场景</th><th>贡献 (/a)</th></tr>"]
            out += [
                f"<tr><td>{_e(c['scenario'])}</td><td class='num'>{c['ir_per_year']:.2e}</td></tr>"
                for c in risk["contributions"]
            ]
            out += ["</table>"]
    elif risk:
        over = risk.get("targets_over_limit") or []
        out += [
            "<h2>个人风险（GB 36894，新建装置基准）</h2>",
            f"<p>计算场景 {len(risk.get('scenarios', []))} 个；超过基准的防护目标 {len(over)} 个。</p>",
        ]
        if over:
            out += ["<table><tr><th>防护目标</th><th>类别</th><th>个人风险 (/a)</th><th>基准 (/a)</th></tr>"]
            out += [
                f"<tr><td>{_e(t['target_name'])}</td><td>{_e(t['gb36894_class'])}</td>"
                f"<td class='num'>{t['ir_per_year']:.2e}</td><td class='num'>{t['limit_new_per_year']:.0e}</td></tr>"
                for t in over
            ]
            out += ["</table>"]
    g = result.get("gb18218")
    if g:
        grade = g["grade_label"] or "—"
        out += [
            "<h2>重大危险源辨识与分级（GB 18218-2018）</h2>",
            f"<p>S = {g['S']:.3f}，{'构成' if g['is_major'] else '不构成'}重大危险源；α = {g['alpha']}（500 m 内 "
            f"{g['exposed_population']} 人），R = {g['R']:.2f}，等级：{grade}</p>",
        ]
    return out


def fn_svg(curve: Sequence[tuple[float, float]], title: str = "社会风险 F–N 曲线") -> str:
    """The F–N curve against 10⁻³/N and 10⁻⁵/N as SVG (matplotlib; text kept as text)."""
    import logging
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Text stays text in the SVG and is drawn by the reader's Chinese fonts; matplotlib's own
    # fonts (used only to lay it out) lack CJK glyphs, which is harmless here.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    with warnings.catch_warnings(), plt.rc_context({"svg.fonttype": "none", "font.family": "sans-serif"}):
        warnings.simplefilter("ignore", UserWarning)
        svg = _fn_plot(plt, curve, title)
    return re.sub(r"font-family: ?'DejaVu Sans'[^;\"]*", FONT_STACK, svg)


FONT_STACK = "font-family: 'Microsoft YaHei', 'PingFang SC', 'Noto Sans CJK SC', sans-serif"


def _fn_plot(plt: Any, curve: Sequence[tuple[float, float]], title: str) -> str:
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    n = np.logspace(0, 4, 50)
    ax.loglog(n, F_UPPER_AT_1 / n, color="#c62828", lw=1.5, label="不可接受线 F = 10⁻³/N")
    ax.loglog(n, F_LOWER_AT_1 / n, color="#2e7d32", lw=1.5, label="可接受线 F = 10⁻⁵/N")
    ax.fill_between(n, F_LOWER_AT_1 / n, F_UPPER_AT_1 / n, color="#fff59d", alpha=0.5, label="尽可能降低区")
    if curve:
        ns = np.array([c[0] for c in curve])
        fs = np.array([c[1] for c in curve])
        ax.step(ns, fs, where="post", color="#0d47a1", lw=2, label="本区域 F–N 曲线")
    ax.set_xlim(1, 1e4)
    ax.set_ylim(1e-10, 1e-2)
    ax.set_xlabel("死亡人数 N")
    ax.set_ylabel("累计频率 F（/a）")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
