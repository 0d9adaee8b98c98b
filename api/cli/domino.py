"""``safemap domino``: domino escalation pairs, chains and the risk with escalation of a park, as Chinese tables."""

from __future__ import annotations

from pathlib import Path

import click

from safemap.api.cli.common import BadInput, configured_store, dumps, write_output
from safemap.layers.labels import rate_text


def _area(store: object, park: str | None, area_id: int | None) -> tuple[str, object]:
    from safemap.api.services import domino as domino_service

    if park and area_id is not None:
        raise BadInput("--park 与 --area-id 只能给出一个", "--park")
    if area_id is not None:
        return domino_service.area_of(store, area_id)  # type: ignore[arg-type]
    if park:
        found = [p for p in domino_service.parks(store) if park in p["name"]]  # type: ignore[arg-type]
        if not found:
            names = "、".join(p["name"] for p in domino_service.parks(store)) or "无"  # type: ignore[arg-type]
            raise BadInput(f"没有名称含“{park}”的工业园区（现有：{names}）", "--park")
        return domino_service.area_of(store, found[0]["id"])  # type: ignore[arg-type]
    return "全部危险源", None


@click.command("domino")
@click.option("--park", default=None, help="工业园区名称（或其一部分），如 裕民县工业园区")
@click.option("--area-id", type=int, default=None, help="admin_boundaries 边界编号")
@click.option("--level", type=click.IntRange(1, 3), default=3, show_default=True, help="多米诺层级 1–3")
@click.option("--risk/--no-risk", default=True, show_default=True, help="计算计入多米诺效应前后的个人风险与 F–N")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--geojson", "geojson_file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def domino_cmd(
    park: str | None,
    area_id: int | None,
    level: int,
    risk: bool,
    fmt: str,
    geojson_file: Path | None,
    output: Path | None,
) -> None:
    """Domino escalation of a park: pairs beyond the escalation thresholds, 2nd/3rd-level chains, risk increase."""
    from safemap.api.services import domino as domino_service
    from safemap.gis.domino import VECTOR_LABEL
    from safemap.layers.enums import VESSEL_TYPE

    with configured_store() as store:
        name, polygon = _area(store, park, area_id)
        result = domino_service.analyse(store, area=polygon, max_level=level)
        both = domino_service.risk(result, store) if risk and result.scenarios else None
        if geojson_file is not None:
            write_output(dumps(domino_service.geojson(result)), geojson_file)
        summary = domino_service.summary(result)
        if fmt == "json":
            body = {"area": name, "summary": summary, "pairs": result.pairs, "chains": result.chains}
            if both is not None:
                body["risk"] = both.increase
            write_output(dumps(body), output)
            return
        names = dict(zip(result.units["id"].astype(int), result.units["name"], strict=True))
        lines = [
            f"多米诺效应分析：{name}（{summary['units']} 个危险源，{summary['scenarios']} 个事故场景，层级 ≤ {level}）",
            "阈值：Cozzani 等（2006）；升级概率：Cozzani 等（2005）概率单位法。",
            f"超过升级阈值的危险源对 {len(result.pairs)} 对：",
        ]
        for p in result.pairs:
            vt = VESSEL_TYPE.label(p["secondary_vessel_type"])
            lines.append(
                f"  {p['primary_name']} → {p['secondary_name']}（{vt}）：{VECTOR_LABEL[p['vector']]} "
                f"{p['value']:.1f} {p['unit']} ≥ {p['threshold']:.1f} {p['unit']}，间距 {p['distance_m']:.1f} m，"
                f"失效概率 {p['probability']:.3g}；场景 {p['scenario']}"
            )
        order = sorted(range(len(result.chains)), key=lambda i: -result.chain_frequency[i])
        by_level = summary["chains_by_level"]
        lines.append(
            f"事故链 {len(result.chains)} 条（一级 {by_level['1']}，二级 {by_level['2']}，三级 {by_level['3']}）；"
            "频率最高的 20 条："
        )
        for i in order[:20]:
            path = " → ".join(names.get(u, str(u)) for u in result.chains[i])
            lines.append(f"  [{len(result.chains[i]) - 1}级] {path}：{rate_text(result.chain_frequency[i])}")
        for note in result.notes:
            lines.append(f"注意：{note}")
        if both is not None:
            inc = both.increase
            lines.append(
                f"个人风险最大值：未计入 {rate_text(inc['max_ir_without_per_year'])}，"
                f"计入多米诺 {rate_text(inc['max_ir_with_per_year'])}"
                f"（次生场景最大贡献 {rate_text(inc['max_ir_increase_per_year'])}）"
            )
            for lv, a in inc["area_above_m2"].items():
                ha0, ha1 = a["without_m2"] / 1e4, a["with_m2"] / 1e4
                lines.append(f"  个人风险 ≥ {rate_text(float(lv))} 的面积：{ha0:.2f} → {ha1:.2f} 公顷")
            n0, n1 = inc["targets_exceeding_without"], inc["targets_exceeding_with"]
            lines.append(f"超过 GB 36894 基准的防护目标：{n0} → {n1} 个")
            lines.append(f"F–N 最大死亡人数 N：{inc['fn_max_n_without']:.0f} → {inc['fn_max_n_with']:.0f}")
        write_output("\n".join(lines) + "\n", output)


COMMANDS: list[click.Command] = [domino_cmd]
