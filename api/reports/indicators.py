"""The yearly report of the plan's 专栏1 indicators: one plot per indicator, the HTML page, its PDF.

* :func:`indicator_plot` draws an indicator's yearly values (coloured by state) against its
  baseline and its target (the straight path from baseline to target for a ``change_pct``
  target) as PNG or SVG bytes, with matplotlib (Agg) and the Noto Sans CJK font when installed.
* :func:`report_html` renders ``templates/indicators_report.html.j2``: summary, table, plots,
  the year's accidents by severity and industry, the density map. Self-contained (images as
  data URIs, no script, nothing fetched) so it prints on an offline intranet PC.
* :func:`report_pdf` prints that page to A4 PDF in headless Chromium (Playwright), raising
  :class:`~safemap.api.services.printing.PrintUnavailable` (HTTP 503) without them.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import io
import logging
import re
import warnings
from pathlib import Path
from typing import Any, Literal

from safemap.api.reports._jinja import render
from safemap.api.reports.clock import stamp
from safemap.api.services.printing import BROWSER_HINT, INSTALL_HINT, PrintUnavailable
from safemap.layers.prevention_enums import INDICATOR_STATE

REPORT_TITLE = "裕民县安全生产“十四五”规划专栏1指标年度报告"
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC")
FONT_STACK = "font-family: 'Microsoft YaHei', 'PingFang SC', 'Noto Sans CJK SC', sans-serif"
_GREY = "#9e9e9e"


FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
)
"""Where Debian/Fedora put a CJK font; matplotlib's font cache often predates their install."""


@functools.cache
def cjk_family() -> str | None:
    """The first CJK font family matplotlib can draw Chinese with (registering the file if needed), or None."""
    from matplotlib import font_manager

    for family in CJK_FAMILIES:
        try:
            font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        except ValueError:
            continue
        return family
    for path in FONT_FILES:
        if Path(path).is_file():
            font_manager.fontManager.addfont(path)
            return str(font_manager.FontProperties(fname=path).get_name())
    return None


def _state_colour(state: str) -> str:
    """The state's colour from the catalogue (green on track, red off track, grey otherwise)."""
    return next((m.color for m in INDICATOR_STATE.members if m.code == state and m.color), _GREY)


def _draw(plt: Any, r: dict[str, Any]) -> Any:
    """The figure of one indicator (years on x, value in its unit on y)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    years = list(r["years"])
    unit = r.get("unit") or ""
    b_year, t_year = int(r["baseline_year"]), int(r["target_year"])
    last = max([t_year, *(int(y["year"]) for y in years)])
    base, target = r.get("baseline"), r.get("target")
    if base is not None:
        ax.axhline(base, color="#1565c0", lw=1, ls=":", label=f"基准值（{b_year}年）{base:.4g}")
    if r["target_kind"] == "change_pct" and base is not None and target is not None:
        ax.plot([b_year, t_year], [base, target], color="#1565c0", lw=1.5, ls="--", label="线性目标路径")
        ax.plot([t_year], [target], marker="*", ms=12, color="#1565c0", ls="none", label=f"{t_year}年目标 {target:.4g}")
        if last > t_year:
            ax.plot([t_year, last], [target, target], color="#1565c0", lw=1.5, ls="--")
    elif target is not None:
        label = "目标：零发生" if r["target_kind"] == "zero" else f"年均应低于 {target:.4g}"
        ax.axhline(target, color="#1565c0", lw=1.5, ls="--", label=label)
    # NaN breaks the line: a year without a value must not look like a straight change across it.
    values = [float("nan") if y.get("value") is None else y["value"] for y in years]
    ax.plot([y["year"] for y in years], values, color="#424242", lw=1, zorder=2)
    seen: set[str] = set()
    for y in years:
        state = y["state"]
        label = None if state in seen else (y.get("state_label") or state)
        seen.add(state)
        if y.get("value") is None:
            # No value (no denominator): a hollow mark on the axis says the year is there but unknown.
            ax.plot([y["year"]], [0], marker="x", ms=8, color=_state_colour(state), ls="none", label=label, zorder=3)
        else:
            ax.plot([y["year"]], [y["value"]], marker="o", ms=8, color=_state_colour(state), ls="none", label=label)
    ax.set_xlim(b_year - 0.5, last + 0.5)
    ax.set_xticks(range(b_year, last + 1))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("年份")
    ax.set_ylabel(unit)
    ax.set_title(r["label"])
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def indicator_plot(result: dict[str, Any], fmt: Literal["png", "svg"] = "png") -> bytes:
    """One indicator's years against its baseline and target path, as PNG or SVG bytes.

    Parameters
    ----------
    result
        One entry of ``indicator_table(...)["indicators"]`` (values in the indicator's unit).
    fmt
        ``png`` (110 dpi raster) or ``svg``.

    Returns
    -------
    bytes
        The image. With a CJK font installed the Chinese is drawn with it (in the SVG as paths,
        so it reads the same anywhere); without one the SVG keeps text as text for the reader's
        own fonts.
    """
    if fmt not in ("png", "svg"):
        raise ValueError(f"unknown plot format {fmt!r}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    family = cjk_family()
    rc: dict[str, Any] = {"axes.unicode_minus": False}
    if family:
        rc["font.family"] = [family, "DejaVu Sans"]
    else:
        rc.update({"svg.fonttype": "none", "font.family": "sans-serif"})
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    with warnings.catch_warnings(), plt.rc_context(rc):
        warnings.simplefilter("ignore", UserWarning)  # missing-glyph warnings without a CJK font
        fig = _draw(plt, result)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
        plt.close(fig)
    data = buf.getvalue()
    if fmt == "svg" and not family:
        data = re.sub(rb"font-family: ?'DejaVu Sans'[^;\"]*", FONT_STACK.encode(), data)
    return data


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def report_html(
    store_title: str,
    table: dict[str, Any],
    density_png_b64: str | None,
    generated_at: dt.datetime | str | None = None,
    tz: dt.tzinfo | str | None = None,
) -> str:
    """The yearly indicator report as one self-contained HTML page.

    Parameters
    ----------
    store_title
        The deployment's title, printed under the heading.
    table
        :func:`safemap.api.services.indicators.indicator_table`'s result.
    density_png_b64
        The accident density overlay (PNG, base64) or None when there is none to show.
    generated_at
        When the report is made (dated in ``tz``); now when None.
    tz
        The store's zone (``SAFEMAP_TIMEZONE``).

    Returns
    -------
    str
        The page (no script, no external URL; images as data URIs).
    """
    when = generated_at if isinstance(generated_at, str) else stamp(generated_at, tz=tz)
    indicators = table["indicators"]
    columns = sorted({int(y["year"]) for r in indicators for y in r["years"]})
    counts = {code: 0 for code in INDICATOR_STATE.codes}
    rows = []
    for r in indicators:
        counts[r["latest_state"]] = counts.get(r["latest_state"], 0) + 1
        by_year = {int(y["year"]): y for y in r["years"]}
        rows.append(
            {
                "r": r,
                "baseline": _fmt(r.get("baseline")),
                "target": _fmt(r.get("target")),
                "cells": [
                    (_fmt(by_year[c]["value"]) if c in by_year else "", by_year[c]["state"] if c in by_year else "")
                    for c in columns
                ],
                "plot": _data_uri(indicator_plot(r, "png")),
            }
        )
    return render(
        "indicators_report.html.j2",
        heading=f"{REPORT_TITLE}（截至{table['through']}年）",
        title=store_title,
        when=when,
        through=table["through"],
        counts=[(code, INDICATOR_STATE.label(code), counts[code]) for code in INDICATOR_STATE.codes],
        total=len(indicators),
        columns=columns,
        rows=rows,
        missing=table.get("missing_years", []),
        breakdown=table.get("breakdown"),
        density=None if density_png_b64 is None else "data:image/png;base64," + density_png_b64,
        period=f"{min(columns)}–{table['through']}年" if columns else f"{table['through']}年",
    )


def report_pdf(html: str, chromium_path: Path | str, timeout_s: float = 40.0) -> bytes:
    """The page printed to A4 PDF by headless Chromium (backgrounds kept for the state colours).

    Raises
    ------
    PrintUnavailable
        Chromium or Playwright is missing, or the browser failed (HTTP 503).
    """
    chromium = Path(chromium_path)
    if not chromium.exists():
        raise PrintUnavailable(
            f"无法生成 PDF：未找到 Chromium（{chromium}）。{INSTALL_HINT}。可下载 HTML 报告后由浏览器打印。"
        )
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise PrintUnavailable(f"无法生成 PDF：未安装 playwright（pip install playwright）。{BROWSER_HINT}") from None
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(chromium),
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
            )
            try:
                page = browser.new_page(locale="zh-CN")
                # Everything is inline, so "load" is enough; nothing is fetched.
                page.set_content(html, wait_until="load", timeout=timeout_s * 1000)
                return page.pdf(format="A4", print_background=True)
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise PrintUnavailable(f"无法生成 PDF：{str(exc).splitlines()[0]}。{INSTALL_HINT}") from None
