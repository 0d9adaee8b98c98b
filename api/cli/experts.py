"""``safemap experts``: the experts to call for an incident, by its kind (as dispatch offers them)."""

from __future__ import annotations

import unicodedata

import click

from safemap.api.cli.common import BadInput, configured_store, dumps, parse_lonlat
from safemap.layers.enums import INCIDENT_KIND

__all__ = ["COMMANDS"]


def _kind(text: str) -> str:
    """An incident kind typed as its code or its Chinese label (spaces and full-width letters allowed)."""
    typed = unicodedata.normalize("NFKC", text).strip()
    for m in INCIDENT_KIND.members:
        if typed in (m.code, m.label) or (len(typed) >= 2 and typed in m.label):
            return m.code
    raise BadInput(f"事件类型应为：{'、'.join(m.label for m in INCIDENT_KIND.members)}；收到 {text!r}", "--kind")


@click.command("experts")
@click.option("--kind", "kind_text", default=None, help="事件类型（如 泄漏中毒、火灾、矿山事故）。")
@click.option("--incident", "incident_id", type=int, default=None, help="或：事件编号（用其类型和位置）。")
@click.option("--at", "at", default=None, help="事发地 经度,纬度（给出时按距离排序）。")
@click.option("--per-field", type=click.IntRange(1, 50), default=3, show_default=True, help="每个专业列出人数。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
def experts_cmd(kind_text: str | None, incident_id: int | None, at: str | None, per_field: int, as_json: bool) -> None:
    """按事件类型推荐应急专家（可联系的在前，近的在前）."""
    from safemap.api.services import experts

    lonlat = parse_lonlat(at, "--at") if at else None
    with configured_store() as store:
        kind = _kind(kind_text) if kind_text else None
        if incident_id is not None:
            rows = store.query("incidents", ids=[incident_id], limit=1, count=False, children=False)
            if not rows.rows:
                raise BadInput(f"没有编号为 {incident_id} 的事件", "--incident")
            kind = kind or rows.rows[0]["kind"]
            g = rows.geometries[0]
            lonlat = lonlat or (float(g.x), float(g.y))
        if kind is None:
            raise BadInput("请给出事件类型（--kind）或事件编号（--incident）", "--kind")
        offer = experts.offered(store, kind, lonlat, per_field=per_field)
    if as_json:
        click.echo(dumps(offer))
        return
    click.echo(f"{offer['kind_label']}：建议联系的应急专家")
    for group in offer["groups"]:
        click.echo(f"【{group['field_label']}】")
        if not group["experts"]:
            click.echo("  （专家库中暂无此专业）")
        for e in group["experts"]:
            far = "" if e["distance_m"] is None else f"，距事发地 {e['distance_m'] / 1000:.1f} km"
            away = "" if e["available"] else "（暂不可联系）"
            click.echo(
                f"  {e['name']} {e['title'] or ''}，{e['employer'] or ''}，{e['phone']}{far}{away}"
                f"；专长：{e['specialties'] or '—'}"
            )


COMMANDS = [experts_cmd]
