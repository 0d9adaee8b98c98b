"""``safemap dangers …`` and ``safemap risk …``: the closed loop and the four colours from the command line.

Also the rule of ``indicator_years`` (one row per year with at least one denominator), which holds on
the layer API as on every other write path.
"""

from __future__ import annotations

import io
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image

from safemap.api.http.app import create_app
from safemap.api.settings import Settings
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore, open_store
from safemap.layers.tokens import create_token
from tests.support.cli import run

ADMIN = Actor("admin", "admin")


def _enterprise(path: Path) -> int:
    store = open_store(path)
    try:
        e = store.create(
            "enterprises",
            {
                "geometry": {"type": "Point", "coordinates": [82.98, 46.2]},
                "properties": {
                    "name": "裕民县某油库",
                    "industry": "hazchem_storage",
                    "risk_level": "blue",
                    "township": "吉也克镇",
                },
            },
            ADMIN,
        )
        store.create(
            "risk_points",
            {
                "geometry": {"type": "Point", "coordinates": [82.98, 46.2]},
                "properties": {
                    "name": "汽油储罐",
                    "enterprise_id": e["id"],
                    "kind": "equipment",
                    "method": "ls",
                    "ls_l": 3,
                    "ls_s": 5,
                },
            },
            ADMIN,
        )
        return int(e["id"])
    finally:
        store.close()


def test_a_finding_from_the_command_line_to_closed(env: Path, tmp_path: Path) -> None:
    eid = _enterprise(env)
    code, out = run("risk", "grade")
    assert code == 0 and "风险点 1 个" in out  # 3 × 5 = 15 → 较大 (12 < R ≤ 16), written by the recompute
    code, out = run("risk", "enterprise", str(eid))
    assert code == 0 and "橙（较大风险）（15.0）" in out and "未销号隐患 0 条" in out
    code, out = run(
        "dangers",
        "add",
        "--grade",
        "重大隐患",
        "--description",
        "罐区防火堤破损",
        "--deadline",
        "2099-01-01",
        "--enterprise",
        str(eid),
        "--as",
        "张检查",
    )
    assert code == 0 and "已登记隐患 1" in out
    code, out = run(
        "dangers",
        "add",
        "--grade",
        "一般",
        "--description",
        "x",
        "--deadline",
        "2001-01-01",
        "--lon",
        "82.98",
        "--lat",
        "46.2",
    )
    assert code == 2 and "整改期限" in out
    photo = tmp_path / "after.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 90, 0)).save(buf, "JPEG")
    photo.write_bytes(buf.getvalue())
    assert run("dangers", "step", "1", "rectify", "--as", "张检查")[0] == 0
    code, out = run("dangers", "step", "1", "submit", "--text", "已修复防火堤", "--photo", str(photo), "--as", "企业")
    assert code == 0 and "待复查" in out
    code, out = run("dangers", "step", "1", "pass", "--as", "张检查")
    assert code == 2 and "发现人以外" in out
    code, out = run("dangers", "step", "1", "pass", "--as", "李复查")
    assert code == 0 and "销号" in out
    code, out = run("dangers", "show", "1")
    assert code == 0 and out.count("\n") >= 6 and "李复查" in out
    code, out = run("dangers", "stats", "--by", "township")
    assert code == 0 and "吉也克镇" in out
    assert run("dangers", "sweep")[0] == 0


def test_indicator_years_need_a_denominator_and_one_row_per_year(store: FeatureStore) -> None:
    with TestClient(create_app(Settings(basemap="none"), store=store)) as c:
        auth = {"Authorization": f"Bearer {create_token(store, '统计员', 'planner')}"}

        def year(**props: object):  # type: ignore[no-untyped-def]
            return c.post(
                "/api/layers/indicator_years",
                json={"type": "Feature", "geometry": None, "properties": {"name": "年度", **props}},
                headers=auth,
            )

        r = year(year=2024)
        assert r.status_code == 422 and "至少填写一项" in r.json()["message"]
        assert year(year=2024, gdp_100m_yuan=52.3).status_code == 201
        r = year(year=2024, operating_vehicles=2400)
        assert r.status_code == 422 and "2024 年已有一行" in r.json()["message"]
        assert len(store.query("indicator_years", limit=None).rows) == 1
