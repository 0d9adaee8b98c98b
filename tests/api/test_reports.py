"""The HTML reports rendered from their Jinja2 templates, on small hand-made inputs.

No store, no demo county: each report gets a dict shaped like its service's answer, with a
name that tries to inject markup, and is checked for escaping, its Chinese headings, its
numbers as printed, and that it is self-contained (nothing fetched, no script).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from pyproj import CRS

from safemap.api.reports import access, safety
from safemap.api.reports._jinja import environment
from safemap.api.services.access_review import late_sites

EVIL = "<script>alert('x')</script>加油站&"
UTM44 = CRS.from_epsg(32644)
WHEN = dt.datetime(2024, 5, 1, 9, 30)


def _point(x: float, y: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [x, y]}


def _line(a: tuple[float, float], b: tuple[float, float]) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [list(a), list(b)]}


def _square(x: float, y: float, d: float) -> dict[str, Any]:
    ring = [[x - d, y - d], [x + d, y - d], [x + d, y + d], [x - d, y + d], [x - d, y - d]]
    return {"type": "Polygon", "coordinates": [ring]}


def _check(passed: bool, actual: float, required: float, **extra: Any) -> dict[str, Any]:
    x, y = 83.0, 46.2
    return {
        "type": "Feature",
        "geometry": _line((x, y), (x + actual / 77_000, y)),
        "properties": {
            "passed": passed,
            "rule": "加油站与学校",
            "standard": "GB 50156-2021",
            "clause": "4.0.4",
            "hazard_name": EVIL,
            "target_name": "新学校",
            "target_layer": None,
            "required_m": required,
            "actual_m": actual,
            "shortfall_m": max(required - actual, 0.0),
            "measured_between": "罐区边界—学校",
            **extra,
        },
    }


def site_result(risk: dict[str, Any] | None = None, gb18218: dict[str, Any] | None = None) -> dict[str, Any]:
    x, y = 83.0, 46.2
    return {
        "site": {"type": "Feature", "geometry": _point(x, y), "properties": {"name": EVIL, "kind_label": "学校"}},
        "summary": {
            "vicinity_m": 50,
            "status": "fail",
            "verdict": "不符合",
            "reason": "1 项不符合",
            "checks": 2,
            "passed": 1,
            "failed": 1,
            "cannot_check": 1,
        },
        "checks": {
            "type": "FeatureCollection",
            "features": [_check(False, 31.25, 40), _check(True, 125.04, 50, measured_between=None)],
        },
        "zones": {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": _square(x, y, 0.002),
                    "properties": {"label": "重伤区 <b>", "population": 1234, "targets": [{"name": "甲小区"}]},
                },
                {
                    "type": "Feature",
                    "geometry": _square(x, y, 0.004),
                    "properties": {
                        "label": "轻伤区",
                        "population": 5678,
                        "targets": [{"name": f"目标{i}"} for i in range(40)],
                    },
                },
            ],
        },
        "unchecked_rules": [
            {
                "status": "cannot_check",
                "status_label": "无法核查",
                "standard": "GB 50016",
                "clause": "3.4.1",
                "rule": "与高压线",
                "required_m": None,
                "reason": "无图层",
            }
        ],
        "risk": risk or {},
        "gb18218": gb18218,
    }


def _text(html: str) -> str:
    """The visible text, roughly as a browser shows it (tags out, whitespace collapsed)."""
    html = re.sub(r"<(style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def _self_contained(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in html and 'charset="utf-8"' in html
    assert "<script" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    # the only URL is the SVG namespace, which is a name, not a fetch
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg"}
    assert "@media print" in html


# ---------------------------------------------------------------------------- site check


def test_site_report_escapes_names_and_prints_headings_and_numbers() -> None:
    html = safety.site_report_html(site_result(), UTM44, WHEN)
    _self_contained(html)
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;加油站&amp;" in html
    assert "重伤区 &lt;b&gt;" in html and "<b>" not in html
    text = _text(html)
    assert "<title>选址安全间距核查报告：&lt;script&gt;" in html
    for heading in (
        "位置示意图",
        "安全间距核查",
        "无法核查的规则（请现场核实）",
        "事故后果影响区及区内人员",
    ):
        assert f"<h2>{heading}</h2>" in html
    assert "依据与说明" in text
    assert "生成时间：2024-05-01 09:30" in text and "核查范围：所需间距外加 50 m" in text
    assert "结论：不符合（符合 1 项，不符合 1 项，无法核查 1 项）" in text
    assert 'class="verdict fail"' in html
    # a failing and a passing row: required as %g, actual and shortfall to 0.1 m
    assert '<td class="fail">不符合</td><td>GB 50156-2021 4.0.4</td>' in html
    assert '<td class="num">40</td><td class="num">31.2</td><td class="num">8.8</td><td>罐区边界—学校</td>' in html
    assert '<td class="num">50</td><td class="num">125.0</td><td class="num">0.0</td><td></td>' in html
    # the unchecked rule with no distance prints an empty cell, not "None"
    assert '<td>与高压线</td><td class="num"></td><td>无图层</td>' in html and "None" not in html
    assert '<td class="unknown">无法核查</td><td>GB 50016 3.4.1</td>' in html
    # zones: population, targets cut at 30 and joined with 、
    assert '<td class="num">1234</td><td>甲小区</td>' in html
    assert "目标29" in text and "目标30" not in text and "目标0、目标1、" in text
    # no risk and no GB 18218 section
    assert "个人风险" not in text and "GB 18218" not in text


def test_site_report_map_draws_distances_scale_and_north() -> None:
    html = safety.site_report_html(site_result(), UTM44, WHEN)
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert 'class="map"' in svg and 'viewBox="0 0 760 520"' in svg
    assert ">31/40 m</text>" in svg and ">125/50 m</text>" in svg
    assert svg.count('stroke="#d50000"') == 1 and svg.count('stroke="#2e7d32"') == 1
    assert "<title>重伤区 &lt;b&gt;</title>" in svg and "<title>轻伤区</title>" in svg
    # zones drawn last first; each keeps the colour of its place in the list
    assert svg.index("<title>轻伤区</title>") < svg.index("<title>重伤区")
    assert 'fill="#e65100" fill-opacity="0.12" stroke="#e65100" stroke-width="1.5"><title>轻伤区' in svg
    assert re.search(r'<text x="14" y="500">\d+ m</text>', svg)
    assert ">北 ↑</text>" in svg and 'r="7" fill="#1565c0"' in svg  # a point site gets its dot
    assert safety.map_svg(site_result(), UTM44).strip() == svg + "</svg>"


def test_site_report_with_no_checks_and_a_polygon_site() -> None:
    result = site_result()
    result["site"]["geometry"] = _square(83.0, 46.2, 0.001)
    result["checks"]["features"] = []
    result["zones"]["features"] = []
    result["unchecked_rules"] = []
    # Zero checks is never 符合 (issue 11): the service answers 无法核查 with the reason, and the
    # report prints it. (This test used to feed "符合" with 0 checks, the wrong verdict.)
    result["summary"] = {
        "vicinity_m": 12.5,
        "status": "cannot_check",
        "verdict": "无法核查",
        "reason": "未核查任何规则：各规则要求间距外 12.5 m 内没有适用安全间距规则的危险源",
        "checks": 0,
        "passed": 0,
        "failed": 0,
        "cannot_check": 0,
    }
    html = safety.site_report_html(result, UTM44, WHEN)
    text = _text(html)
    assert "核查范围内没有适用的规则对象" in text and 'colspan="10"' in html
    assert "所需间距外加 12.5 m" in text and 'class="verdict unknown"' in html
    assert "无法核查的原因：未核查任何规则：" in text
    assert "请现场核实" not in text and "事故后果影响区" not in text
    assert 'r="7"' not in html  # no dot for a polygon


def test_site_report_individual_risk_at_the_site() -> None:
    risk = {
        "ir_per_year": 3.456e-6,
        "gb36894_class": "high_sensitive",
        "exceeds_existing_limit": True,
        "limit_existing_per_year": 3e-7,
        "limit_new_per_year": 3e-8,
        "contributions": [{"scenario": f"池火 {EVIL}", "ir_per_year": 1.234e-6}],
    }
    html = safety.site_report_html(site_result(risk=risk), UTM44, WHEN)
    text = _text(html)
    assert "<h2>个人风险（GB 36894）</h2>" in html
    # The class in its catalogue words (GB36894_CLASS), not its code: people never see codes.
    assert "该位置个人风险 3.5×10⁻⁶/年；高敏感防护目标在役装置基准 3×10⁻⁷/年，新建装置基准 3×10⁻⁸/年：" in text
    assert '<span class="fail">超过在役装置基准</span>' in html
    scenario = "<td>池火 &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;加油站&amp;</td>"
    assert scenario + '<td class="num">1.2×10⁻⁶/年</td>' in html
    risk.update(exceeds_existing_limit=False, contributions=[])
    html = safety.site_report_html(site_result(risk=risk), UTM44, WHEN)
    assert '<span class="pass">未超过在役装置基准</span>' in html and "事故场景" not in html


def test_site_report_risk_to_targets_and_gb18218_grade() -> None:
    risk = {
        "scenarios": [{}, {}, {}],
        "targets_over_limit": [
            {"target_name": EVIL, "gb36894_class": "general", "ir_per_year": 2.5e-5, "limit_new_per_year": 1e-5}
        ],
    }
    g = {
        "S": 1.23456,
        "is_major": True,
        "alpha": 1.2,
        "exposed_population": 150,
        "R": 23.456,
        "grade_label": "三级",
    }
    html = safety.site_report_html(site_result(risk=risk, gb18218=g), UTM44, WHEN)
    text = _text(html)
    assert "<h2>个人风险（GB 36894，新建装置基准）</h2>" in html
    assert "计算场景 3 个；超过基准的防护目标 1 个。" in text
    assert '<td class="num">2.5×10⁻⁵/年</td><td class="num">1×10⁻⁵/年</td>' in html
    assert "<h2>重大危险源辨识与分级（GB 18218-2018）</h2>" in html
    assert "S = 1.235，构成重大危险源；α = 1.2（500 m 内 150 人），R = 23.46，等级：三级" in text
    g.update(is_major=False, grade_label=None)
    text = _text(safety.site_report_html(site_result(risk={"scenarios": []}, gb18218=g), UTM44, WHEN))
    assert "不构成重大危险源" in text and "等级：—" in text and "超过基准的防护目标 0 个" in text


# ---------------------------------------------------------------------------- fire access


def _finding(rule: str, label: str, fid: int, measured: float | None, required: float, unit: str) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": _point(83.0, 46.2),
        "properties": {
            "rule": rule,
            "label": label,
            "layer": "fire_lanes" if rule.startswith("lane") else "hydrants",
            "feature_id": fid,
            "name": EVIL if fid == 1 else f"要素{fid}",
            "measured": measured,
            "comparison": "≥" if rule.startswith("lane") else "≤",
            "required": required,
            "unit": unit,
            "clause": "GB 50016 7.1.8",
            "basis": None,
            "lon": 83.0123456,
            "lat": 46.2,
            "message": "说明",
        },
    }


def _site(name: str, engine_ok: bool, high_rise: bool, ladder_ok: bool, minutes: float | None) -> dict[str, Any]:
    return {
        "name": name,
        "township": "城镇",
        "high_rise": high_rise,
        "engine": {"ok": engine_ok, "minutes": minutes, "team": "城区站", "via_lanes": [3, 7]},
        "ladder": {"ok": ladder_ok, "minutes": None if not ladder_ok else 4.2},
        "lane_findings": ["净宽不足", "坡度过大"],
        "hydrant_m": 135.5,
    }


def review(township: str | None = None) -> dict[str, Any]:
    return {
        "standard": {"minutes": 5.0, "clause": "《城市消防站建设标准》第二条", "turnout_s": 60.0},
        "township": township,
        "dem": {"used": True, "path": "dem <1>.tif", "synthetic": True},
        "summary": [
            {"label": "消防车道净宽", "clause": "7.1.8", "count": 2},
            {"label": "消火栓间距", "clause": "7.2.5", "count": 1},
        ],
        "findings": {
            "type": "FeatureCollection",
            "features": [
                _finding("lane_width", "消防车道净宽", 1, 3.25, 4, "m"),
                _finding("hydrant_spacing", "消火栓间距", 9, 180.5, 120, "m"),
                _finding("lane_width", "消防车道净宽", 2, None, 4, "m"),
            ],
        },
        "sites": [
            _site("按时到达", True, False, False, 3.5),
            _site(EVIL, False, False, True, None),
            _site("高层", True, True, False, 0),
        ],
        "rules": [{"label": "消防车道净宽", "value": 4.0, "unit": "m", "clause": "7.1.8"}],
    }


def test_access_report_escapes_names_and_prints_headings_and_numbers() -> None:
    html = access.render_html(review(), "裕民县 <i>", late_sites(review()))
    _self_contained(html)
    assert "<script>alert" not in html and "<i>" not in html and "dem &lt;1&gt;.tif" in html
    assert "<title>消防车通道与消火栓核查报告 — 裕民县 &lt;i&gt;</title>" in html
    text = _text(html)
    assert "<h1>消防车通道与消火栓核查报告</h1>" in html
    for heading in ("一、问题汇总", "二、问题明细（规则、实测值、限值、条款、位置）", "四、核查依据"):
        assert f"<h2>{heading}</h2>" in html
    assert re.search(r"生成时间：\d{4}-\d\d-\d\d \d\d:\d\d　范围：全县　标准到场时间：5 分钟", html)
    assert "（《城市消防站建设标准》第二条，含出动准备 1分00秒）" in text  # durations as 分秒 (issue 14)
    assert "未填坡度的车道按 DEM 计算坡度（dem &lt;1&gt;.tif，合成演示数据，非实测）。" in text
    assert '<td>消防车道净宽</td><td>7.1.8</td><td class="num">2</td>' in html


def test_access_report_groups_findings_in_order_of_first_appearance() -> None:
    html = access.render_html(review(), "裕民县", late_sites(review()))
    assert html.index("<h3>消防车道净宽（2）</h3>") < html.index("<h3>消火栓间距（1）</h3>")
    assert (
        '<td>消防车道</td><td class="num">1</td><td>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;加油站&amp;</td>'
        '<td class="num fail">3.25 m</td><td class="num">≥ 4 m</td>'
    ) in html
    assert '<td class="num">83.01235, 46.20000</td>' in html
    assert '<td class="num fail">—</td>' in html  # no measurement
    assert '<td>消火栓</td><td class="num">9</td><td>要素9</td><td class="num fail">180.5 m</td>' in html
    assert '<td>消防车道净宽</td><td class="num">4 m</td><td>7.1.8</td>' in html


def test_access_report_lists_the_sites_not_reached_in_time() -> None:
    html = access.render_html(review(township="哈拉布拉镇"), "裕民县", late_sites(review(township="哈拉布拉镇")))
    text = _text(html)
    assert "范围：哈拉布拉镇" in text
    assert "<h2>三、标准时间内消防车不能到达的场所（2）</h2>" in html and "按时到达" not in text
    # the engine cannot get there: no time, in red; the ladder got there (not high-rise anyway)
    assert '<td class="num fail">无法到达</td><td>城区站</td><td class="num">4.2</td>' in html
    # a high-rise reached by an engine at 0 min but by no ladder
    assert '<td>高层</td><td>城镇</td><td class="num">0</td><td>城区站</td><td class="num fail">无法到达</td>' in html
    assert '<td>3、7</td><td>净宽不足；坡度过大</td><td class="num">135.5</td>' in html


def test_access_report_without_dem_or_findings() -> None:
    r = review()
    r.update(dem=None, summary=[], findings={"type": "FeatureCollection", "features": []}, sites=[], rules=[])
    text = _text(access.render_html(r, "裕民县", late_sites(r)))
    assert "DEM" not in text and "三、标准时间内消防车不能到达的场所（0）" in text and "None" not in text


# ---------------------------------------------------------------------------- the templates


def test_templates_load_from_the_package_and_autoescape() -> None:
    env = environment()
    names = set(env.list_templates())
    assert {"base.html.j2", "site_report.html.j2", "site_map.svg.j2", "access_review.html.j2"} <= names
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"


def test_a_missing_key_is_an_error_not_a_blank() -> None:
    result = site_result()
    del result["summary"]["verdict"]
    with pytest.raises(Exception, match="verdict"):
        safety.site_report_html(result, UTM44, WHEN)
