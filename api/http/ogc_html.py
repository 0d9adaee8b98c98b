"""Plain HTML views of the OGC API pages (conformance class "html"), in Chinese, no scripts."""

from __future__ import annotations

from html import escape
from typing import Any

from starlette.responses import HTMLResponse

from safemap.layers.catalogue import Layer
from safemap.layers.model import Page

_STYLE = (
    "body{font-family:'Microsoft YaHei','PingFang SC','Noto Sans CJK SC',sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
    "th{background:#f3f3f3}a{color:#0068b7}"
)


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def _links(links: list[dict[str, Any]]) -> str:
    items = "".join(
        f"<li><a href='{escape(link['href'])}'>{escape(link.get('title') or link['rel'])}</a>"
        f" <small>({escape(link['rel'])}, {escape(link.get('type', ''))})</small></li>"
        for link in links
    )
    return f"<ul>{items}</ul>"


def landing(body: dict[str, Any]) -> HTMLResponse:
    """The landing page."""
    return _page(body["title"], f"<p>{escape(body['description'])}</p>{_links(body['links'])}")


def conformance(body: dict[str, Any]) -> HTMLResponse:
    """The conformance classes."""
    items = "".join(f"<li>{escape(uri)}</li>" for uri in body["conformsTo"])
    return _page("符合的一致性类", f"<ul>{items}</ul>")


def collections(body: dict[str, Any]) -> HTMLResponse:
    """All collections as a table."""
    rows = "".join(
        f"<tr><td><a href='{escape(c['links'][1]['href'])}'>{escape(c['title'])}</a></td>"
        f"<td>{escape(c['id'])}</td><td>{escape(c['description'])}</td></tr>"
        for c in body["collections"]
    )
    return _page("要素集合", f"<table><tr><th>名称</th><th>id</th><th>说明</th></tr>{rows}</table>")


def collection(info: dict[str, Any]) -> HTMLResponse:
    """One collection's metadata."""
    bbox = ", ".join(f"{v:.5f}" for v in info["extent"]["spatial"]["bbox"][0])
    return _page(info["title"], f"<p>{escape(info['description'])}</p><p>范围：{bbox}</p>{_links(info['links'])}")


def items(layer: Layer, page: Page, links: list[dict[str, Any]]) -> HTMLResponse:
    """A page of features as a table of their main attributes."""
    fields = [f for f in layer.fields if f.name not in ("updated_at", "version")][:10]
    head = "".join(f"<th>{escape(f.label)}</th>" for f in fields)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(f, row.get(f.name), link=True)}</td>" for f in fields) + "</tr>"
        for row in page.rows
    )
    summary = f"<p>共 {page.number_matched} 个，本页 {len(page)} 个</p>"
    return _page(layer.label, f"{summary}<table><tr>{head}</tr>{rows}</table>{_links(links)}")


def item(layer: Layer, feature: dict[str, Any], links: list[dict[str, Any]]) -> HTMLResponse:
    """One feature's attributes."""
    props = feature["properties"]
    rows = "".join(
        f"<tr><th>{escape(f.display_label)}</th><td>{_cell(f, props.get(f.name))}</td></tr>"
        for f in layer.fields
        if props.get(f.name) is not None
    )
    return _page(f"{layer.label}：{props.get('name', '')}", f"<table>{rows}</table>{_links(links)}")


def _cell(field: Any, value: Any, *, link: bool = False) -> str:
    if value is None:
        return ""
    if field.name == "id" and link:
        return f"<a href='./items/{value}?f=html'>{value}</a>"
    if field.enum is not None:
        return escape(str(field.enum.label(value)))
    if isinstance(value, bool):
        return "是" if value else "否"
    return escape(str(value))
