"""``safemap incident …`` on the embedded store: a chlorine leak from 接警 to 结束 on the command line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.cli import run


def test_incident_from_call_to_close(env: Path, tmp_path: Path) -> None:
    assert run("demo", "--if-missing")[0] == 0
    code, out = run(
        "incident", "create", "--kind", "泄漏中毒", "--at", "82°58′47″E 46°12′01″N", "--substance", "氯",
        "--quantity-t", "1.5", "--reporter", "张三", "--phone", "13800000000", "--reported-at", "2026-12-01T03:00",
        "--by", "值班员",
    )  # fmt: skip
    assert code == 0, out
    assert "已接警：事件 4" in out and "状态 接警" in out
    code, out = run("incident", "list", "--status", "active")
    assert code == 0 and "接警" in out and "G219线油罐车侧翻柴油泄漏" in out  # the demo's 已控制 incident is active
    code, out = run(
        "incident", "zone", "4", "--model", "gaussian_plume", "--rate", "2", "--wind", "2.5", "--wind-from", "315",
        "--cloud", "晴", "--time", "2026-12-01T03:05",
    )  # fmt: skip
    assert code == 0, out
    assert "危险区第 1 版" in out and "稳定度 F" in out and "Turner" in out and "AEGL-3" in out
    code, out = run("incident", "evacuation", "4")
    assert code == 0 and "已安置" in out, out
    routes = [line for line in out.splitlines() if " 人 → " in line]
    assert routes and all(re.search(r"：(\d+ m|\d+\.\d km)，((\d+小时)?\d+分)?\d+秒$", r) for r in routes), out
    code, out = run("incident", "exposure", "4")
    assert code == 0 and "防护目标登记人数" in out
    csv_path = tmp_path / "inside.csv"
    assert run("incident", "exposure", "4", "--format", "csv", "-o", str(csv_path))[0] == 0
    assert csv_path.read_bytes().startswith("\ufeff影响分区".encode())
    xlsx = tmp_path / "inside.xlsx"
    assert run("incident", "exposure", "4", "--format", "xlsx", "-o", str(xlsx))[0] == 0 and xlsx.stat().st_size > 0
    assert run("incident", "status", "4", "核实", "--note", "现场确认")[0] == 0
    code, out = run("incident", "status", "4", "接警")
    assert code == 2 and "不能从“核实”退回“接警”" in out
    assert run("incident", "note", "4", "下风向群众就地避险")[0] == 0
    code, out = run("incident", "status", "4", "结束")
    assert code == 0 and "结束" in out
    code, out = run("incident", "timeline", "4", "--json")
    assert [e["kind"] for e in json.loads(out)] == ["created", "zone", "status", "note", "status"]
    report = tmp_path / "record.html"
    assert run("incident", "report", "4", "-o", str(report))[0] == 0
    assert "处置记录" in report.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("create", "--kind", "火灾", "--at", "116.39, 39.90"), "服务范围"),
        (("create", "--kind", "火灾"), "--at"),
        (("create", "--kind", "地震", "--at", "82.98, 46.20"), "kind"),
        (("zone", "1", "--model", "gaussian_plume", "--rate", "2", "--wind", "0", "--stability", "F"), "--wind"),
        (("zone", "1", "--model", "gaussian_plume", "--rate", "2", "--wind", "3"), "稳定度"),
        (("zone", "424242", "--model", "vce", "--fuel-kg", "100"), "424242"),
        (("status", "424242", "核实"), "424242"),
        (("exposure", "1", "--format", "xlsx"), "--output"),
    ],
)
def test_bad_input_exits_2_naming_it(env: Path, args: tuple[str, ...], says: str) -> None:
    code, out = run("incident", *args)
    assert code == 2 and says in out, out
